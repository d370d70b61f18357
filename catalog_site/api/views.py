"""ViewSet base classes: brief mode, all-or-nothing bulk creation, one transaction per write."""

from django.db import IntegrityError, transaction
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

TRUE_VALUES = {"1", "true", "yes", "on"}


class CatalogModelViewSet(viewsets.ModelViewSet):
    """CRUD for one model with NetBox's conventions.

    - ``?brief=1`` answers only the brief fields;
    - POST of a list creates every object or none;
    - each write is one transaction.
    """

    @property
    def brief(self) -> bool:
        request = getattr(self, "request", None)
        return bool(request) and request.query_params.get("brief", "").lower() in TRUE_VALUES

    def get_serializer(self, *args, **kwargs):
        if self.brief:
            kwargs.setdefault("brief", True)
        return super().get_serializer(*args, **kwargs)

    def create(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        serializer = self.get_serializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                self.perform_create(serializer)
        except IntegrityError as exc:
            if not many:
                raise  # a race with another writer: the exception handler answers 409
            # Each item was checked against the database, not against its neighbours in the list.
            raise ValidationError(
                {"non_field_errors": [f"Objects of this list clash with each other: {str(exc).splitlines()[0]}"]}
            ) from exc
        return Response(serializer.data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)
