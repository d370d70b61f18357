"""ViewSet base classes: tenant scoping, brief mode, all-or-nothing bulk creation, update and deletion, one
transaction per write."""

from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from mptt.models import MPTTModel
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import clone_request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from catalog_site import access, finalizers
from catalog_site.filtersets import COMMON_PARAMS, MAX_ID

from .exceptions import Conflict, PayloadTooLarge, read_after_commit, validation_error_detail

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


# The bulk writes of a list route (NetBox's): PUT, PATCH and DELETE of a list of objects with their ids.
BULK_ACTIONS = frozenset({"bulk_update", "bulk_partial_update", "bulk_destroy"})
BULK_ID = serializers.IntegerField(min_value=1, max_value=MAX_ID)
NOT_FOUND = "Not found: no such object is within your reach."


def check_bulk_params(request) -> None:
    """A bulk write filters nothing: a query parameter other than ``brief`` or ``format`` is a 400 naming it
    (a filter would otherwise seem to narrow which objects are written, and would not)."""
    unknown = sorted(name for name in request.query_params if name not in COMMON_PARAMS)
    if unknown:
        known = ", ".join(sorted(COMMON_PARAMS))
        raise ValidationError({name.replace("\x00", "\\u0000"): [
            f"Unknown query parameter. A bulk write reads only: {known}."] for name in unknown})


def bulk_item_id(item, position: int, seen: dict, *, only_id: bool) -> tuple[int | None, dict]:
    """The id an item of a bulk write names, and the errors of its shape (empty when it is sound)."""
    if not isinstance(item, dict):
        return None, {api_settings.NON_FIELD_ERRORS_KEY: [
            f"Expected an object with an id, not {type(item).__name__}."]}
    errors = {}
    if only_id:
        errors.update({name: ["Unknown field. A bulk delete names each object by its id alone."]
                       for name in item if name != "id"})
    try:
        pk = BULK_ID.run_validation(item.get("id", empty))
    except ValidationError as exc:
        return None, {"id": exc.detail, **errors}
    if pk in seen:
        errors["id"] = [f"This object is already named at position {seen[pk]} of the list."]
    else:
        seen[pk] = position
    return pk, errors


@contextmanager
def at_position(position: int, pk):
    """Name the item of a bulk write that a refusal (403) or a conflict (409) is about."""
    where = f"The object at position {position} of the list (id {pk})"
    try:
        yield
    except DjangoPermissionDenied as exc:
        raise exceptions.PermissionDenied(f"{where}: {exc}") from exc
    except exceptions.PermissionDenied as exc:
        raise exceptions.PermissionDenied(f"{where}: {exc.detail}", code=exc.default_code) from exc
    except finalizers.ObjectDeleting as exc:
        raise Conflict({"detail": f"{where}: {exc.message}"}) from exc


def list_clash(exc: IntegrityError) -> ValidationError:
    """A 400 for objects of one list that clash with each other: each item was checked against the database,
    not against its neighbours in the list."""
    return ValidationError(
        {api_settings.NON_FIELD_ERRORS_KEY: [
            f"Objects of this list clash with each other: {str(exc).splitlines()[0]}"]})


class CatalogMetadata(SimpleMetadata):
    """OPTIONS as DRF answers it, except that a list route describes POST alone (as before it took bulk PUTs):
    DRF would look for the one object of a PUT, which a list route has not."""

    def determine_actions(self, request, view):
        if getattr(view, "detail", None) is not False:
            return super().determine_actions(request, view)
        if "POST" not in view.allowed_methods:
            return {}
        view.request = clone_request(request, "POST")
        try:
            view.check_permissions(view.request)
        except exceptions.APIException:
            return {}
        else:
            return {"POST": self.get_serializer_info(view.get_serializer())}
        finally:
            view.request = request


class CatalogModelViewSet(viewsets.ModelViewSet):
    """CRUD for one model with NetBox's conventions.

    - every read is limited to what the caller may see (``catalog_site.access``): a hidden object
      is a 404 and is never counted; every write is checked against the caller's role on the
      object's tenant, before and after the change;
    - ``?brief=1`` answers only the brief fields;
    - POST of a list creates every object or none, and holds at most ``MAX_BULK_OBJECTS`` objects;
    - PUT, PATCH and DELETE of the list route (``bulk_update``, ``bulk_partial_update``, ``bulk_destroy``)
      write a list of objects named by id, every one or none: see ``bulk_write`` and ``bulk_destroy``;
    - each write is one transaction;
    - finalizers (``catalog_site.finalizers``): DELETE of an object that has some answers 202 with the
      object, now marked deleting (again: the same 202); while it is deleting, PUT/PATCH may only
      remove finalizers (any other change is a 409 naming the state), and the write that removes the
      last one deletes it and answers 204.
    """

    metadata_class = CatalogMetadata

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
            raise list_clash(exc) from exc
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

    # -- bulk writes: the list route's PUT, PATCH and DELETE (NetBox's) ---------------------------

    def bulk_targets(self, data, *, only_id: bool = False) -> list[tuple]:
        """``(object, item)`` for each item of a bulk write, in order, after checking the list as a whole.

        A 400 lists the errors by position (``{}`` for a sound item): an item that is not an object, an
        id missing, invalid or named twice, an id of no object the caller may see ("not found", as a
        hidden object's detail route answers 404), and for a DELETE any key but ``id``.
        """
        check_bulk_params(self.request)
        check_bulk_size(data)
        if not isinstance(data, list):
            raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
                'Expected a list of objects, each with its id: [{"id": 1, ...}, ...].']})
        seen, named = {}, []
        for position, item in enumerate(data):
            named.append(bulk_item_id(item, position, seen, only_id=only_id))
        found = self.get_queryset().in_bulk([pk for pk, _ in named if pk is not None])
        errors = []
        for pk, item_errors in named:
            if pk is not None and pk not in found and "id" not in item_errors:
                item_errors = {**item_errors, "id": [NOT_FOUND]}
            errors.append(item_errors)
        if any(errors):
            raise ValidationError(errors)
        return [(found[pk], item) for (pk, _), item in zip(named, data, strict=True)]

    def bulk_object(self, pk):
        """The object ``pk`` read afresh (an earlier item of the list may have changed it), or None if gone."""
        return self.get_queryset().filter(pk=pk).first()

    def bulk_update(self, request, *args, **kwargs):
        """PUT of a list: replace each object named by its ``id``, every one or none (see ``bulk_write``)."""
        return self.bulk_write(request, partial=False)

    def bulk_partial_update(self, request, *args, **kwargs):
        """PATCH of a list: change each object named by its ``id``, every one or none (see ``bulk_write``)."""
        return self.bulk_write(request, partial=True)

    def bulk_write(self, request, *, partial: bool) -> Response:
        """Write each item as its own PUT/PATCH would, in order, in one transaction; 200 with the objects.

        Each item is validated, and checked for access before and after, exactly as the detail route's
        write; the first refused (403) or conflicting (409) item ends the request, naming its position.
        Invalid items are a 400 listing the errors by position, and nothing is written. An object whose
        write removed the last finalizer of its deletion is deleted, and left out of the answer.
        """
        targets = self.bulk_targets(request.data)
        errors, written = [], []
        try:
            with transaction.atomic():
                for position, (target, item) in enumerate(targets):
                    instance = self.bulk_object(target.pk)
                    if instance is None:  # deleted with an earlier item (its last finalizer removed)
                        errors.append({"id": [NOT_FOUND]})
                        continue
                    data = {name: value for name, value in item.items() if name != "id"}
                    serializer = self.get_serializer(instance, data=data, partial=partial)
                    if not serializer.is_valid():
                        errors.append(serializer.errors)
                        continue
                    if any(errors):  # nothing is written now: the other items are only validated
                        errors.append({})
                        continue
                    try:  # a savepoint: after an error of this item, the others are still validated
                        with at_position(position, instance.pk), transaction.atomic():
                            self.perform_update(serializer)
                    except DjangoValidationError as exc:
                        errors.append(validation_error_detail(exc))
                        continue
                    except ValidationError as exc:
                        errors.append(exc.detail)
                        continue
                    errors.append({})
                    written.append(serializer)
                if any(errors):
                    raise ValidationError(errors)
                answer = [serializer.data for serializer in written
                          if serializer.instance is not None and serializer.instance.pk is not None]
        except IntegrityError as exc:
            raise list_clash(exc) from exc
        return Response(answer)

    def bulk_destroy(self, request, *args, **kwargs):
        """DELETE of a list of ``{"id": N}``: delete each object as its own DELETE would, every one or none.

        204 when all are deleted. An object with finalizers is only marked deleting, as by its own DELETE:
        if any is, the answer is 202 with those objects (the others are deleted). A refusal (403) or an
        object others depend on (409) ends the request, and nothing is deleted. The objects of a tree go
        deepest first, so that a list holding a node and its children can delete them all; an object
        deleted along with one before it (a cascade) counts as deleted.
        """
        targets = self.bulk_targets(request.data, only_id=True)
        positions = {target.pk: position for position, (target, _) in enumerate(targets)}
        order = [target for target, _ in targets]
        if isinstance(order[0] if order else None, MPTTModel):
            order.sort(key=lambda target: -target.level)
        deleting = []
        with transaction.atomic():
            for target in order:
                instance = self.bulk_object(target.pk)
                if instance is None:
                    continue
                with at_position(positions[target.pk], target.pk):
                    if self.perform_destroy(instance) is False:
                        deleting.append(target.pk)
            if not deleting:
                return Response(status=status.HTTP_204_NO_CONTENT)
            deleting.sort(key=positions.__getitem__)

            def read():
                found = self.get_queryset().in_bulk(deleting)
                return self.get_serializer([found[pk] for pk in deleting if pk in found], many=True).data

            committed = read()
        return Response(read_after_commit(read, committed), status=status.HTTP_202_ACCEPTED)
