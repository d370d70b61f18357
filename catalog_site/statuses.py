"""Statuses of objects: who sees them, who writes them, and the upsert that files a report.

A status is seen by exactly whoever sees its object, and written (reported, changed, deleted) by
whoever may change its object: ``visible_statuses`` restricts a queryset of statuses with one
subquery per object type (the ids of the objects of that type the user sees), and
``check_status_write`` asks ``Access.can_write(object, "change")``. The API and the admin both ask
these, so that neither shows a status of an object the user may not see.
"""

import functools

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from . import access
from .models import ObjectStatus, PrimaryModel

KEY_FIELDS = ("object_type", "object_id", "namespace", "source")
NOT_FOUND = "Not found: no such object is within your reach."


@functools.cache
def primary_models() -> tuple:
    """Every concrete model whose objects carry annotations and statuses, by label."""
    return tuple(sorted((model for model in apps.get_models()
                         if issubclass(model, PrimaryModel) and not model._meta.proxy),
                        key=lambda model: model._meta.label_lower))


def object_type_label(model) -> str:
    """``app_label.model``: how the API names an object type (``dcim.device``)."""
    return model._meta.label_lower


def primary_model_for(label: str):
    """The primary model named ``label`` (``dcim.device``), or None."""
    return next((model for model in primary_models() if object_type_label(model) == label), None)


def content_type_of(model) -> ContentType:
    return ContentType.objects.get_for_model(model)


def key_of(attrs: dict) -> tuple:
    """The key of a status as a sortable tuple (object type id, object id, namespace, source)."""
    return attrs["object_type"].pk, attrs["object_id"], attrs["namespace"], attrs["source"]


# -- reads --------------------------------------------------------------------------------------------

def visible_statuses(queryset, viewer: access.Access):
    """``queryset`` (of ``ObjectStatus``) less the statuses of objects ``viewer`` may not see.

    One condition per object type: its content type, and the object among those the viewer sees
    (a subquery, or nothing more for a type every user sees). A status of any other model (there
    should be none) is hidden.
    """
    if viewer.unrestricted:
        return queryset
    visible = Q(pk__in=[])
    for model in primary_models():
        object_type = ContentType.objects.get_for_model(model)
        objects = viewer.visible_q(model)
        if objects:
            ids = model._base_manager.filter(objects).values("pk")
            visible |= Q(object_type=object_type, object_id__in=ids)
        else:
            visible |= Q(object_type=object_type)
    return queryset.filter(visible)


def with_objects(queryset):
    """``queryset`` with each status's object fetched, one query per object type.

    The required foreign keys of each object come along: some name their object (an interface is
    shown with its device's name).
    """
    return queryset.prefetch_related(GenericPrefetch("object", [
        model._base_manager.select_related(*(field.name for field in model._meta.fields
                                             if isinstance(field, models.ForeignKey) and not field.null))
        for model in primary_models()
    ]))


def find_object(*, model, object_id: int, viewer: access.Access):
    """The object ``object_id`` of ``model`` if ``viewer`` may see it, else None (missing or hidden: the same)."""
    return viewer.restrict(model._default_manager.filter(pk=object_id)).first()


def status_object(status: ObjectStatus):
    """The object of ``status`` (None if it is gone)."""
    try:
        return status.object
    except AttributeError:  # the content type's model is gone
        return None


# -- writes -------------------------------------------------------------------------------------------

def may_write_status(viewer: access.Access, obj) -> bool:
    """Whether ``viewer`` may report, change or delete the statuses of ``obj``: the right to change ``obj``."""
    return obj is not None and viewer.can_write(obj, "change")


def check_status_write(viewer: access.Access, obj) -> None:
    """``PermissionDenied`` unless ``viewer`` may write the statuses of ``obj`` (which they see)."""
    if not may_write_status(viewer, obj):
        refusal = viewer.refusal(obj, "change") if obj is not None else "The object of this status is gone."
        raise PermissionDenied(f"Statuses follow their object. {refusal}")


@transaction.atomic
def status_upsert(*, obj, namespace: str, source: str, data: dict) -> tuple[ObjectStatus, bool]:
    """File the status of ``obj`` reported by ``source`` in ``namespace``; returns it and whether it is new.

    One ``INSERT ... ON CONFLICT DO UPDATE`` on the key: concurrent reports of the same key never
    clash, the last one wins; ``data`` is replaced as a whole and ``last_updated`` moves. Checks no
    access (callers do: ``check_status_write``).
    """
    status = ObjectStatus(object_type=ContentType.objects.get_for_model(obj), object_id=obj.pk,
                          namespace=namespace, source=source, data=data)
    status.full_clean(validate_constraints=False)
    ObjectStatus.objects.bulk_create([status], update_conflicts=True, unique_fields=KEY_FIELDS,
                                     update_fields=["data", "last_updated"])
    stored = ObjectStatus.objects.get(object_type=status.object_type, object_id=obj.pk, namespace=namespace,
                                      source=source)
    stored.object = obj  # known already: no query to show it
    # An update keeps the stored creation time; only an insert stores the one this statement carried.
    return stored, stored.created == status.created


@transaction.atomic
def status_set_data(*, status: ObjectStatus, data: dict) -> ObjectStatus:
    """Replace the data of ``status`` (its key stays); ``last_updated`` moves. Checks no access."""
    status.data = data
    status.full_clean(validate_constraints=False)
    now = timezone.now()
    if not ObjectStatus.objects.filter(pk=status.pk).update(data=data, last_updated=now):
        raise ObjectStatus.DoesNotExist(f"Status {status.pk} no longer exists.")
    status.last_updated = now
    return status


def status_delete(*, status: ObjectStatus) -> None:
    """Delete ``status``. Checks no access."""
    status.delete()
