"""Events: what happened in the catalog, published to the webhooks that ask for it.

``publish(event, payload, tenant_id=...)`` is all a publisher calls. It finds the enabled webhooks
subscribed to the event whose conditions match the payload and whose tenant covers ``tenant_id``,
writes one ``WebhookDelivery`` per webhook in the caller's transaction, and sends the deliveries to
Celery once that transaction commits (``catalog_site.webhooks`` sends them). A rolled-back write
publishes nothing, and nothing is ever sent while the caller's transaction is open.

The events (a webhook subscribes to names, ``object.*`` for a family, or ``*`` for all):

- ``object.created``, ``object.updated``, ``object.deleted``: every change the change log records
  (``object_changed``, called by ``catalog_site.changelog``); payload: ``model`` (``dcim.device``),
  ``object_id``, ``object_repr``, ``action``, ``request_id``, ``run_id``, ``user``, ``data`` (the
  object after the change, before it for a deletion) and ``changes`` (``{field: [before, after]}``);
- ``service.status_changed``: a service entered a new lifecycle status (``services``);
- ``run.succeeded``, ``run.failed``: a generator run ended (``services.runs``); ``run.reverted``: a
  run's changes were undone (``services.revert``);
- ``approval.requested``, ``approval.approved``, ``approval.rejected``: an order waiting for
  approval, and the decision (``services``).

Every payload also carries ``event`` and ``time`` (ISO 8601). ``tenant_id`` is the tenant the event
is about (None: shared infrastructure): a webhook of a tenant receives only the events of its
subtree, a global webhook (no tenant) every event.

Publishing must cost nothing when nobody listens: the enabled webhooks are kept per process, and
read again only when a webhook was saved or deleted (a version in Django's cache, looked at once a
second at most) or after ``MAX_AGE`` seconds. With no webhook, ``publish`` makes no query.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

EVENTS = {
    "object.created": "An object was created (any recorded model).",
    "object.updated": "An object was changed.",
    "object.deleted": "An object was deleted.",
    "service.status_changed": "A service entered another lifecycle status.",
    "run.succeeded": "A generator run succeeded.",
    "run.failed": "A generator run failed.",
    "run.reverted": "A succeeded generator run was reverted.",
    "approval.requested": "An order waits for approval.",
    "approval.approved": "An order was approved.",
    "approval.rejected": "An order was rejected.",
}
ALL = "*"
FAMILIES = frozenset(name.split(".", 1)[0] for name in EVENTS)
OBJECT_EVENTS = {"create": "object.created", "update": "object.updated", "delete": "object.deleted"}

MAX_EVENTS = 50
MAX_CONDITIONS = 20
MAX_CONDITION_VALUES = 50
MAX_PATH_LENGTH = 200

VERSION_KEY = "catalog:webhooks:version"
VERSION_CHECK_SECONDS = 1.0  # how stale another process's webhook change may be seen here
MAX_AGE = 300.0  # read again whatever the version says (a rolled-back change is not announced)


# -- what a webhook may ask for -----------------------------------------------------------------------

def pattern_error(pattern) -> str | None:
    """What is wrong with ``pattern`` as an event a webhook subscribes to; None if it is sound."""
    if not isinstance(pattern, str):
        return f"{pattern!r} is not an event name."
    if pattern == ALL or pattern in EVENTS:
        return None
    if pattern.endswith(".*") and pattern[:-2] in FAMILIES:
        return None
    families = ", ".join(f"{family}.*" for family in sorted(FAMILIES))
    return (f"{pattern[:100]!r} is not an event: expected one of {', '.join(EVENTS)}, a family ({families}) "
            f"or * for all.")


def events_errors(value) -> list[str]:
    """What is wrong with ``value`` as a webhook's events (a non-empty list of names); empty if nothing."""
    if not isinstance(value, list) or not value:
        return ['Expected a non-empty list of event names: ["object.created", "run.*"], or ["*"] for all.']
    if len(value) > MAX_EVENTS:
        return [f"At most {MAX_EVENTS} events."]
    errors = [problem for problem in map(pattern_error, value) if problem]
    repeated = sorted({name for name in value if isinstance(name, str) and value.count(name) > 1})
    if repeated:
        errors.append(f"Each event is named once: {', '.join(repeated)} is repeated.")
    return errors


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def conditions_errors(value) -> list[str]:
    """What is wrong with ``value`` as a webhook's conditions; empty if nothing.

    Conditions are ``{"dotted.path": value}`` or ``{"dotted.path": [values]}``: the value at the path in
    the payload (``model``, ``data.status``, ``changes.status``) must equal the value, or one of the
    values; every condition must hold.
    """
    if value is None or value == {}:
        return []
    if not isinstance(value, dict):
        return ['Expected an object {"path.in.payload": value or [values]}, such as {"model": "dcim.device"}.']
    if len(value) > MAX_CONDITIONS:
        return [f"At most {MAX_CONDITIONS} conditions."]
    errors = []
    for path, expected in value.items():
        if not path or len(path) > MAX_PATH_LENGTH or any(not part for part in path.split(".")):
            errors.append(f"{path[:100]!r} is not a path: names separated by dots (data.status), "
                          f"at most {MAX_PATH_LENGTH} characters.")
        elif isinstance(expected, list):
            if not expected or len(expected) > MAX_CONDITION_VALUES or not all(map(_is_scalar, expected)):
                errors.append(f"{path}: a list holds 1 to {MAX_CONDITION_VALUES} values, each a string, a number, "
                              "true, false or null.")
        elif not _is_scalar(expected):
            errors.append(f"{path}: expected a string, a number, true, false or null, or a list of them.")
    return errors


def event_matches(patterns, event: str) -> bool:
    return any(pattern in (ALL, event) or (pattern.endswith(".*") and event.startswith(pattern[:-1]))
               for pattern in patterns)


_MISSING = object()


def value_at(payload, path: str):
    """The value at ``path`` (``data.status``; a number indexes a list) in ``payload``, or ``_MISSING``."""
    current = payload
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def conditions_match(conditions, payload: dict) -> bool:
    """Whether every condition holds for ``payload`` (no conditions: always)."""
    for path, expected in (conditions or {}).items():
        actual = value_at(payload, path)
        if actual is _MISSING:
            return False
        options = expected if isinstance(expected, list) else [expected]
        if not any(_same(actual, option) for option in options):
            return False
    return True


def _same(actual, expected) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    return actual == expected


# -- the enabled webhooks, kept per process ---------------------------------------------------------------

@dataclass(frozen=True)
class Hook:
    """What ``publish`` needs of an enabled webhook to decide whether it may want an event."""

    pk: int
    tenant_id: int | None
    events: tuple[str, ...]
    conditions: dict


class _Known:
    """The enabled webhooks as this process last read them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.hooks: tuple[Hook, ...] | None = None
        self.version = None
        self.loaded = 0.0
        self.checked = 0.0


_known = _Known()
_UNKNOWN = object()


def _shared_version():
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # noqa: BLE001 - the cache is away: read the webhooks from the database instead
        logger.warning("The webhook version could not be read from the cache.", exc_info=True)
        return _UNKNOWN


def _bump_shared_version() -> None:
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # noqa: BLE001 - other processes then see the change within MAX_AGE
        logger.warning("The webhook version could not be written to the cache.", exc_info=True)


def webhooks_changed() -> None:
    """A webhook was saved or deleted: this process reads them again, and so do the others (on commit too:
    a process that read them before the commit would otherwise keep the old ones)."""
    forget()
    _bump_shared_version()
    transaction.on_commit(_bump_shared_version, robust=True)


def forget() -> None:
    """Drop this process's copy of the webhooks (the next ``publish`` reads them)."""
    with _known.lock:
        _known.hooks = None


def enabled_hooks() -> tuple[Hook, ...]:
    """The enabled webhooks, read from the database only when they may have changed."""
    now = time.monotonic()
    hooks = _known.hooks
    if hooks is not None and now - _known.checked < VERSION_CHECK_SECONDS and now - _known.loaded < MAX_AGE:
        return hooks
    version = _shared_version()
    with _known.lock:
        if (_known.hooks is None or version is _UNKNOWN or version != _known.version
                or now - _known.loaded >= MAX_AGE):
            from .models import Webhook

            rows = Webhook.objects.filter(enabled=True).values_list("pk", "tenant_id", "events", "conditions")
            _known.hooks = tuple(Hook(pk, tenant_id, tuple(events or ()), conditions or {})
                                 for pk, tenant_id, events, conditions in rows)
            _known.version = None if version is _UNKNOWN else version
            _known.loaded = now
        _known.checked = now
        return _known.hooks


# -- publishing ---------------------------------------------------------------------------------------------

def publish(event: str, payload: dict, *, tenant_id: int | None) -> None:
    """Publish ``event`` with ``payload`` about an object of tenant ``tenant_id`` (None: shared).

    Writes a delivery for each webhook that wants it, in the caller's transaction; the deliveries are
    sent once it commits. No query at all when no enabled webhook subscribes to ``event``.
    """
    wanting = [hook for hook in enabled_hooks() if event_matches(hook.events, event)]
    if not wanting:
        return
    from .changelog import jsonable

    body = jsonable({"time": timezone.now(), **payload, "event": event})
    wanting = [hook for hook in wanting if conditions_match(hook.conditions, body)
               and (hook.tenant_id is None or tenant_id is not None)]
    if not wanting:
        return
    _deliver(event, body, tenant_id, [hook.pk for hook in wanting])


def _deliver(event: str, body: dict, tenant_id: int | None, candidates: list[int]) -> None:
    """Write the deliveries of the candidate webhooks that still want the event, read afresh (the copy
    kept per process may be a little behind), and send them on commit."""
    from django.db.models import Exists, OuterRef, Q

    from . import access
    from .models import Webhook, WebhookDelivery

    reach = Q(tenant__isnull=True)
    if tenant_id is not None:
        within = access.tenant_model()._base_manager.filter(
            pk=tenant_id, tree_id=OuterRef("tenant__tree_id"), lft__gte=OuterRef("tenant__lft"),
            rght__lte=OuterRef("tenant__rght"))
        reach |= Q(Exists(within))
    webhooks = Webhook.objects.filter(reach, pk__in=candidates, enabled=True).order_by("pk")
    ids = [WebhookDelivery.objects.create(webhook=webhook, event=event, payload=body).pk
           for webhook in webhooks
           if event_matches(webhook.events, event) and conditions_match(webhook.conditions, body)]
    if ids:
        from .webhooks import send_on_commit

        send_on_commit(ids)


def object_changed(change) -> None:
    """Publish the ``ObjectChange`` ``change`` (``object.created``, ``object.updated``, ``object.deleted``)."""
    event = OBJECT_EVENTS.get(change.action)
    if event is None or not any(event_matches(hook.events, event) for hook in enabled_hooks()):
        return  # the payload is not even built
    data = change.postchange_data if change.postchange_data is not None else change.prechange_data
    publish(event, {
        "event": event,
        "time": change.time,
        "model": change.object_label,
        "object_id": change.object_id,
        "object_repr": change.object_repr,
        "action": change.action,
        "request_id": change.request_id,
        "run_id": change.run_id,
        "user": change.user_name or None,
        "data": data,
        "changes": change.diff(),
    }, tenant_id=change.tenant_id)
