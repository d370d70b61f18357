"""ViewSet base classes: tenant scoping, brief mode, all-or-nothing bulk creation, one transaction per write."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog_site import access

from .exceptions import PayloadTooLarge, validation_error_detail

TRUE_VALUES = {"1", "true", "yes", "on"}
# The actions answering one object: a view with a richer detail serializer uses it for all three, so
# that a body read by GET can be sent back by PUT or PATCH.
DETAIL_ACTIONS = frozenset({"retrieve", "update", "partial_update"})


def check_bulk_size(data) -> None:
    """A list longer than ``MAX_BULK_OBJECTS`` is a 413, before any of it is validated.

    Every item of a list is validated and written in one transaction: an unbounded list would hold
    the worker (and the locks it takes) past any timeout.
    """
    if isinstance(data, list) and len(data) > settings.MAX_BULK_OBJECTS:
        raise PayloadTooLarge(f"A list may hold at most {settings.MAX_BULK_OBJECTS} objects (MAX_BULK_OBJECTS); "
                              f"this one holds {len(data)}. Send it in several requests.")


class CatalogModelViewSet(viewsets.ModelViewSet):
    """CRUD for one model with NetBox's conventions.

    - every read is limited to what the caller may see (``catalog_site.access``): a hidden object
      is a 404 and is never counted; every write is checked against the caller's role on the
      object's tenant, before and after the change;
    - ``?brief=1`` answers only the brief fields;
    - POST of a list creates every object or none, and holds at most ``MAX_BULK_OBJECTS`` objects;
    - each write is one transaction.
    """

    @property
    def access(self) -> access.Access:
        return access.for_request(self.request)

    def get_queryset(self):
        return self.access.restrict(super().get_queryset())

    def check_writes(self, serializer, action: str) -> None:
        """Check each object a validated serializer is about to write (unsaved, with the new values).

        In a list, a refused item is reported at its position, as DRF reports invalid items.
        """
        if not isinstance(serializer, serializers.ListSerializer):
            self.access.check_write(serializer.model_instance(serializer.validated_data), action,
                                    before=serializer.instance)
            return
        errors, failed = [], False
        for attrs in serializer.validated_data:
            try:
                self.access.check_write(serializer.child.model_instance(attrs), action)
                errors.append({})
            except DjangoValidationError as exc:
                errors.append(validation_error_detail(exc))
                failed = True
        if failed:
            raise ValidationError(errors)

    def perform_create(self, serializer):
        self.check_writes(serializer, "add")
        serializer.save()

    def perform_update(self, serializer):
        self.check_writes(serializer, "change")
        serializer.save()

    def perform_destroy(self, instance):
        self.access.check_write(instance, "delete")
        instance.delete()

    @property
    def brief(self) -> bool:
        request = getattr(self, "request", None)
        return bool(request) and request.query_params.get("brief", "").lower() in TRUE_VALUES

    def get_serializer(self, *args, **kwargs):
        if self.brief:
            kwargs.setdefault("brief", True)
        return super().get_serializer(*args, **kwargs)

    def create(self, request, *args, **kwargs):
        check_bulk_size(request.data)
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
