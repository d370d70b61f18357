"""The change log: every create, update and delete of the catalog's models, recorded as an ``ObjectChange``.

Recording is done by model signals, so that every path that saves or deletes a model instance is
covered whoever calls it: the admin (forms, bulk edit, import), the API (bulk PUT/PATCH/DELETE
included: they save object by object), management commands, generator runs and cascades of a
delete. ``QuerySet.update`` and ``bulk_create`` send no signals; the catalog's code does not use
them on recorded models, or records them itself (``record``).

Who made a change and what groups it comes from the *change context* (a context variable):

- ``ChangeContextMiddleware`` opens one per HTTP request, with a fresh request id (sent back as
  ``X-Request-ID``); the user and the API token are read from the request when a change is
  recorded, after DRF has authenticated it;
- ``services.runs`` opens one per generator run, with the run's id and its service;
- a management command gets one for its whole invocation (``CatalogSiteConfig.ready``).

A model opts out with ``record_changes = False`` (derived indexes, bookkeeping rows, credentials);
a field with ``changelog_exclude_fields``. Only the catalog's own apps are recorded.

Events: every recorded change is published (``catalog_site.events``) once its transaction commits.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import decimal
import functools
import logging
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db.models import signals
from django.db.models.expressions import Combinable
from django.utils import timezone

logger = logging.getLogger(__name__)

RECORDED_APPS = frozenset({"catalog_site", "tenancy", "dcim", "ipam", "services"})
# Fields every save changes: an update that changes nothing else is not recorded.
IGNORED_FIELDS = frozenset({"last_updated"})


@dataclass
class ChangeContext:
    """Who changes things now, and what groups the changes (a request, a command, a run)."""

    source: str
    request_id: uuid.UUID | None = None
    request: object = None  # the HttpRequest: its user and token are known only once DRF has authenticated
    user: object = None
    run_id: int | None = None
    service_identifier: str = ""
    extra: dict = field(default_factory=dict)

    def actor(self) -> tuple[object, object]:
        """(user, token) of the change, read from the request if there is one."""
        user, token = self.user, None
        if self.request is not None:
            user = getattr(self.request, "user", None) or user
            token = getattr(self.request, "auth", None)
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        from .models import Token

        return user, token if isinstance(token, Token) else None


_context: contextvars.ContextVar[ChangeContext | None] = contextvars.ContextVar("catalog_change_context",
                                                                                default=None)
_default_context: ChangeContext | None = None


def current() -> ChangeContext | None:
    return _context.get() or _default_context


@contextlib.contextmanager
def change_context(**values):
    """Record the changes made inside the block with ``values`` (see ``ChangeContext``)."""
    token = _context.set(ChangeContext(**values))
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def set_default_context(context: ChangeContext | None) -> None:
    """The context of changes made outside any other (a management command's whole invocation)."""
    global _default_context
    _default_context = context


# -- which models, which fields -------------------------------------------------------------------

@functools.cache
def is_recorded(model) -> bool:
    meta = model._meta
    if meta.abstract or meta.proxy or meta.auto_created or meta.app_label not in RECORDED_APPS:
        return False
    if meta.apps is not apps:  # a migration's historical model: the change log may not exist yet
        return False
    return getattr(model, "record_changes", True)


@functools.cache
def recorded_fields(model) -> tuple[tuple[str, str], ...]:
    """(name, attname) of the concrete fields recorded for ``model``: binary columns are derived, left out."""
    excluded = set(getattr(model, "changelog_exclude_fields", ()))
    tree = getattr(model, "_mptt_meta", None)
    if tree is not None:  # a tree's bookkeeping (lft, rght, tree_id, level) is derived from the parents
        excluded.update((tree.left_attr, tree.right_attr, tree.tree_id_attr, tree.level_attr))
    return tuple((f.name, f.attname) for f in model._meta.concrete_fields
                 if f.name not in excluded and f.get_internal_type() != "BinaryField")


def jsonable(value):
    """A field value as JSON holds it (times as ISO 8601, decimals and UUIDs as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, bytes | memoryview):
        return None
    return str(value)


def snapshot(obj) -> dict:
    """The recorded fields of ``obj`` as they are in memory, by field name (foreign keys as ids)."""
    data = {}
    for _, attname in recorded_fields(type(obj)):
        value = getattr(obj, attname)
        if isinstance(value, Combinable):  # an F() expression not yet refreshed: the stored value is unknown
            continue
        data[attname] = jsonable(value)
    return data


def stored_snapshot(model, pk) -> dict | None:
    """The recorded fields of the row ``pk`` as the database holds them (None if there is none)."""
    names = [attname for _, attname in recorded_fields(model)]
    row = model._base_manager.filter(pk=pk).values(*names).first()
    return None if row is None else {name: jsonable(value) for name, value in row.items()}


def differs(before: dict | None, after: dict | None) -> bool:
    if before is None or after is None:
        return True
    return any(before.get(name) != after.get(name) for name in {*before, *after} if name not in IGNORED_FIELDS)


def _tenant_id(obj, action: str) -> int | None:
    from . import access

    try:
        return access.tenant_id_of(obj, "delete" if action == "delete" else "view")
    except Exception:  # noqa: BLE001 - a relation already gone (a cascade): the change is then hidden from members
        logger.debug("No tenant for the change of %r", obj, exc_info=True)
        return None


# -- recording ------------------------------------------------------------------------------------

def record(obj, action: str, *, before: dict | None, after: dict | None, tenant_id=None):
    """Write the ``ObjectChange`` of ``obj`` (and publish it); for paths without signals, and the signals."""
    from django.contrib.contenttypes.models import ContentType

    from . import events
    from .models import ObjectChange

    superuser_only = getattr(type(obj), "changelog_superuser_only", None)
    context = current() or ChangeContext(source=ObjectChange.Source.SYSTEM)
    user, token = context.actor()
    change = ObjectChange.objects.create(
        time=timezone.now(), user=user, user_name=getattr(user, "username", "") if user else "", token=token,
        source=context.source, request_id=context.request_id, run_id=context.run_id,
        service_identifier=context.service_identifier, action=action,
        object_type=ContentType.objects.get_for_model(type(obj), for_concrete_model=False), object_id=obj.pk,
        object_repr=str(obj)[:200], tenant_id=tenant_id if tenant_id is not None else _tenant_id(obj, action),
        superuser_only=bool(superuser_only and superuser_only(obj)), prechange_data=before, postchange_data=after,
    )
    events.object_changed(change)
    return change


def _pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance._state.adding or instance.pk is None:
        return
    instance._changelog_before = stored_snapshot(sender, instance.pk)


def _post_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    before = None if created else instance.__dict__.pop("_changelog_before", None)
    after = snapshot(instance)
    if before is not None and not differs(before, after):
        return
    action = "create" if created or before is None else "update"
    record(instance, action, before=before if action == "update" else None, after=after)


def _pre_delete(sender, instance, **kwargs):
    # Before the collector deletes anything: the tenant is still reachable through its relations.
    instance._changelog_tenant = _tenant_id(instance, "delete")


def _post_delete(sender, instance, **kwargs):
    record(instance, "delete", before=snapshot(instance), after=None,
           tenant_id=instance.__dict__.pop("_changelog_tenant", None))


def connect() -> None:
    """Listen to the recorded models only, so that the handlers above need not ask ``is_recorded``, and a
    model with no delete listener keeps Django's fast delete (one DELETE statement, no rows read), which
    the free-space indexes of the pools rely on."""
    for model in recorded_models():
        uid = model._meta.label_lower
        signals.pre_save.connect(_pre_save, sender=model, dispatch_uid=f"catalog_changelog_pre_save:{uid}")
        signals.post_save.connect(_post_save, sender=model, dispatch_uid=f"catalog_changelog_post_save:{uid}")
        signals.pre_delete.connect(_pre_delete, sender=model, dispatch_uid=f"catalog_changelog_pre_delete:{uid}")
        signals.post_delete.connect(_post_delete, sender=model, dispatch_uid=f"catalog_changelog_post_delete:{uid}")


def recorded_models() -> list:
    return [model for model in apps.get_models() if is_recorded(model)]


# -- the request's context ------------------------------------------------------------------------

class ChangeContextMiddleware:
    """Opens the change context of each request (a fresh request id, sent back as ``X-Request-ID``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .middleware import is_api
        from .models import ObjectChange

        request_id = uuid.uuid4()
        request.id = request_id
        source = ObjectChange.Source.API if is_api(request) else ObjectChange.Source.WEB
        with change_context(source=source, request_id=request_id, request=request):
            response = self.get_response(request)
        response["X-Request-ID"] = str(request_id)
        return response


# -- retention ------------------------------------------------------------------------------------

def delete_in_batches(queryset, batch: int = 5000) -> int:
    """Delete ``queryset`` a batch at a time, so that a large purge holds no long transaction; how many went."""
    total = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        total += queryset.model._base_manager.filter(pk__in=ids).delete()[0]


def retention_cutoff(days: int | None = None):
    """The time before which logs are deleted (``CHANGELOG_RETENTION_DAYS``); None when they are all kept."""
    days = settings.CHANGELOG_RETENTION_DAYS if days is None else days
    return timezone.now() - datetime.timedelta(days=days) if days else None


def purge(*, days: int | None = None, batch: int = 5000) -> int:
    """Delete the changes older than ``days`` (``CHANGELOG_RETENTION_DAYS``; 0 keeps all); how many went."""
    from .models import ObjectChange

    cutoff = retention_cutoff(days)
    return 0 if cutoff is None else delete_in_batches(ObjectChange.objects.filter(time__lt=cutoff), batch)
