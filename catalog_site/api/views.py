"""ViewSet base classes: tenant scoping, brief mode, all-or-nothing bulk creation, one transaction per write."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog_site import access, finalizers

from .exceptions import PayloadTooLarge, read_after_commit, validation_error_detail

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
    - each write is one transaction;
    - finalizers (``catalog_site.finalizers``): DELETE of an object that has some answers 202 with the
      object, now marked deleting (again: the same 202); while it is deleting, PUT/PATCH may only
      remove finalizers (any other change is a 409 naming the state), and the write that removes the
      last one deletes it and answers 204.
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
        instance = serializer.instance
        if finalizers.applies_to(type(instance)):
            finalizers.refresh(instance)  # under the row lock: a deletion requested meanwhile is seen
            if finalizers.is_deleting(instance) and not getattr(serializer, "writes_while_deleting", False):
                self.refuse_changes_while_deleting(serializer)
                finalizers.set_finalizers(instance, serializer.validated_data.get("finalizers", instance.finalizers))
                return
        serializer.save()

    def refuse_changes_while_deleting(self, serializer) -> None:
        """``ObjectDeleting`` unless the body changes nothing but (fewer) finalizers.

        A field sent with the value a GET shows is no change, so a body read, trimmed of a finalizer
        and sent back by PUT passes.
        """
        fields = serializer.fields
        changed = sorted(name for name, value in serializer.initial_data.items()
                         if name != "finalizers" and name in fields
                         and not serializer.holds_value(fields[name], value))
        if changed:
            raise finalizers.ObjectDeleting(serializer.instance, f"a change of {', '.join(changed)}")

    def perform_destroy(self, instance) -> bool:
        """Delete ``instance``, or mark it deleting if it has finalizers; True if it was deleted."""
        self.access.check_write(instance, "delete")
        if finalizers.applies_to(type(instance)):
            return finalizers.request_deletion(instance)
        instance.delete()
        return True

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
        partial = kwargs.pop("partial", False)
        with transaction.atomic():
            instance = self.get_object()
            serializer = self.get_serializer(instance, data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            self.perform_update(serializer)
            if serializer.instance is None or serializer.instance.pk is None:
                # The write removed the last finalizer of an object being deleted: it is gone.
                return Response(status=status.HTTP_204_NO_CONTENT)
            if getattr(instance, "_prefetched_objects_cache", None):
                instance._prefetched_objects_cache = {}
            return Response(serializer.data)

    def destroy(self, request, *args, **kwargs):
        """204 once deleted; 202 with the object when it has finalizers: it is then being deleted."""
        with transaction.atomic():
            instance = self.get_object()
            if self.perform_destroy(instance) is not False:
                return Response(status=status.HTTP_204_NO_CONTENT)
            committed = self.get_serializer(self.get_queryset().get(pk=instance.pk)).data

        def read():
            try:
                return self.get_serializer(self.get_queryset().get(pk=instance.pk)).data
            except ObjectDoesNotExist:  # gone meanwhile (with Celery eager, a run queued by the deletion ended it)
                return committed

        return Response(read_after_commit(read, committed), status=status.HTTP_202_ACCEPTED)
