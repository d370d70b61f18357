"""Reverting a generator run: its changes applied backwards, as one unit, in one transaction.

A run's changes are the change log's records with its id (``ObjectChange.run_id``): the inventory
it created, changed or deleted, its ``ServiceResource`` ownership rows, its pool ledger rows and the
service's own update. ``revert_run`` undoes them newest first:

- a creation is deleted; a ledger entry so deleted is released, so that its pool hands the value
  out again (a number pool's free list is kept by ``ipam.allocation``, not by a signal: it is given
  back here; a prefix or an address gives its space back through ``ipam.signals`` when it goes);
- an update has the fields it changed set back to their values before it;
- a deletion is recreated from the values before it, with its old id; a ledger entry so recreated
  takes its value out of the pool's free space again (a number here, a prefix or address by signal).

The service then moves back: the run's own update of it is undone (status, generated attributes),
and a service left in a working status (in-delivery, in-decommissioning) goes back to the status it
had before it entered that status, read from its history; no run is queued. Reverting the first
provision leaves a draft that holds nothing; reverting a decommission, an active service with its
resources back.

Refused (``RevertRefused``, nothing changed) when the run cannot be reverted, or when reverting it
would undo something else: a later change of one of its objects (a hand edit, another run), a later
run of the service that changed things and was not reverted, a run of the service under way. Later
runs that were reverted, and their reverts, do not count: runs are reverted newest first.

The revert's changes are recorded in the change log like any other, on behalf of the reverting user,
grouped by a request id of their own derived from the run (``revert_request_id``), so that a later
revert recognises them.
"""

import uuid
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone

from catalog_site import changelog, events
from catalog_site.locks import advisory_lock
from catalog_site.models import ObjectChange
from ipam import allocation
from ipam.models import IPAddress, IPAddressAllocation, NumberAllocation, Prefix, PrefixAllocation

from . import services
from .models import GeneratorRun, LifecycleEvent, Service

Action, RunStatus = GeneratorRun.Action, GeneratorRun.Status

# The request id of a revert's changes is uuid5(REVERT_NAMESPACE, "generator-run:<pk>").
REVERT_NAMESPACE = uuid.UUID("5f0c6c1e-3a55-4b8e-9a43-2a8f5b0f7d21")
# Fields never written back: timestamps, and the service's version (it only moves forward).
NOT_RESTORED = frozenset({"created", "last_updated", "version"})
# A later change of the run's service that only moved it along its lifecycle does not block a revert:
# the service's status is compared with what the run left instead (``_check_current_state``).
LIFECYCLE_FIELDS = frozenset({"status", "version", "last_updated"})
# Ledger rows and the pool lock each takes (the names ``ipam.allocation`` uses).
LEDGER_LOCKS = {NumberAllocation: "pool:number:{}", PrefixAllocation: "pool:prefix:{}",
                IPAddressAllocation: "pool:ip:{}"}


class RevertRefused(Exception):
    """A run that cannot be reverted, with the reason for people.

    ``conflict`` is False when the run itself is not revertable (a plan, a failed run, no changes:
    a 400) and True when the current state is in the way (a later change, a run under way: a 409).
    """

    def __init__(self, reason: str, *, conflict: bool = True):
        self.reason = reason
        self.conflict = conflict
        super().__init__(reason)


@dataclass
class RevertResult:
    """What a revert did: the run (now marked reverted), the service and where it went, how many changes."""

    run: GeneratorRun
    service: Service
    from_status: str
    to_status: str
    undone: int


def revert_request_id(run: GeneratorRun | int) -> uuid.UUID:
    """The request id that groups the changes of the revert of ``run`` in the change log."""
    return uuid.uuid5(REVERT_NAMESPACE, f"generator-run:{getattr(run, 'pk', run)}")


# -- refusals ---------------------------------------------------------------------------------------

def _who(user) -> str:
    return getattr(user, "username", "") or "the system"


def run_refusal(run: GeneratorRun) -> RevertRefused | None:
    """Why ``run`` itself cannot be reverted (a plan, not succeeded, already reverted), or None."""
    if run.action == Action.PLAN:
        return RevertRefused(f"Run #{run.pk} is a plan (a dry run): it changed nothing, there is nothing to revert.",
                             conflict=False)
    if run.reverted_at is not None:
        when = timezone.localtime(run.reverted_at).strftime("%Y-%m-%d %H:%M:%S %Z")
        return RevertRefused(f"Run #{run.pk} was already reverted by {_who(run.reverted_by)} at {when}.")
    if run.status == RunStatus.FAILED:
        return RevertRefused(f"Run #{run.pk} failed: a failed run leaves nothing behind, there is nothing to revert.",
                             conflict=False)
    if run.status != RunStatus.SUCCEEDED:
        return RevertRefused(f"Run #{run.pk} is {run.status}: only a succeeded run can be reverted.")
    return None


def _service_refusal(run: GeneratorRun, service: Service) -> RevertRefused | None:
    """Why the state of ``run``'s service forbids reverting it now, or None."""
    if service.deleting_since is not None:
        return RevertRefused(f"Service {service} is being deleted: its runs can no longer be reverted.")
    lifecycle = service.lifecycle
    if lifecycle.approval_status and service.status == lifecycle.approval_status:
        return RevertRefused(f"Service {service} is waiting for the approval of a plan: have the approval decided "
                             "first, then revert.")
    pending = (GeneratorRun.objects.filter(service=service, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
               .exclude(pk=run.pk).order_by("pk").first())
    if pending is not None:
        return RevertRefused(f"Service {service} has run #{pending.pk} ({pending.action}) {pending.status}: "
                             "wait for it to end, then revert.")
    later = (GeneratorRun.objects.filter(service=service, status=RunStatus.SUCCEEDED, pk__gt=run.pk,
                                         reverted_at__isnull=True)
             .exclude(action=Action.PLAN)
             .filter(Exists(ObjectChange.objects.filter(run_id=OuterRef("pk"))))
             .order_by("-pk").first())
    if later is not None:
        return RevertRefused(f"Run #{later.pk} ({later.action}) of {service} succeeded after run #{run.pk} and changed "
                             f"things: revert run #{later.pk} first.")
    return None


# -- the change log ---------------------------------------------------------------------------------

def _model(change: ObjectChange):
    model = ContentType.objects.get_for_id(change.object_type_id).model_class()
    if model is None:
        raise RevertRefused(f"{change.object_repr} is of a model that no longer exists: run #{change.run_id} "
                            "cannot be reverted.")
    return model


def _label(change: ObjectChange) -> str:
    """``VLAN vlan__DI-12345 (1000)``: the object of a change as people name it."""
    model = ContentType.objects.get_for_id(change.object_type_id).model_class()
    kind = str(model._meta.verbose_name) if model is not None else "object"
    return f"{kind[:1].upper()}{kind[1:]} {change.object_repr} (#{change.object_id})"


def _describe(change: ObjectChange) -> str:
    """Who made ``change``, and when: "updated by alice (API) at 2026-12-02 09:20:11 UTC"."""
    when = timezone.localtime(change.time).strftime("%Y-%m-%d %H:%M:%S %Z")
    action = change.get_action_display().lower()
    if change.run_id:
        return f"{action} by run #{change.run_id} of {change.service_identifier or 'a service'} at {when}"
    return f"{action} by {change.user_name or 'the system'} ({change.get_source_display()}) at {when}"


def _changed_fields(change: ObjectChange) -> list[str]:
    """The fields (attnames) an update changed, those a revert writes back."""
    model = ContentType.objects.get_for_id(change.object_type_id).model_class()
    before, after = _known(model, change.prechange_data), _known(model, change.postchange_data)
    return [name for name in before if name in after and before[name] != after[name] and name not in NOT_RESTORED]


def _last_changes(changes: list[ObjectChange]) -> dict[tuple[int, int], ObjectChange]:
    """The run's last change of each object it touched (``changes`` newest first)."""
    last: dict[tuple[int, int], ObjectChange] = {}
    for change in changes:
        last.setdefault((change.object_type_id, change.object_id), change)
    return last


def _check_later_changes(run: GeneratorRun, service: Service, last: dict) -> None:
    """Refuse if anything but a reverted later run (or its revert) changed an object after the run did."""
    reverted = list(GeneratorRun.objects.filter(service=service, pk__gt=run.pk, reverted_at__isnull=False)
                    .values_list("pk", flat=True))
    query = Q()
    for (type_id, object_id), change in last.items():
        query |= Q(object_type_id=type_id, object_id=object_id, pk__gt=change.pk)
    later = (ObjectChange.objects.filter(query).exclude(run_id=run.pk).exclude(run_id__in=reverted)
             .exclude(request_id__in=[revert_request_id(pk) for pk in reverted]).order_by("pk"))
    service_key = (ContentType.objects.get_for_model(Service).pk, service.pk)
    moved = None
    for change in later.iterator():
        if (change.object_type_id, change.object_id) == service_key and set(change.diff()) <= LIFECYCLE_FIELDS:
            moved = change  # the service moved along its lifecycle: no obstacle if it is back where the run left it
            continue
        raise RevertRefused(f"{_label(change)} was {_describe(change)}, after run #{run.pk}: reverting the run "
                            f"would undo that change too.")
    left = (last[service_key].postchange_data or {}).get("status") if service_key in last else None
    if moved is not None and left is not None and service.status != left:
        raise RevertRefused(f"{_label(moved)} was {_describe(moved)}, after run #{run.pk}: it is {service.status} "
                            f"now, not {left} as the run left it.")


def _check_current_state(run: GeneratorRun, last: dict) -> None:
    """Refuse if an object is not as the run left it (changed without a record: a bulk update, a cascade)."""
    for (_, object_id), change in last.items():
        model = _model(change)
        stored = changelog.stored_snapshot(model, object_id)
        if change.action == ObjectChange.Action.DELETE:
            if stored is not None:
                raise RevertRefused(f"{_label(change)}, deleted by run #{run.pk}, exists again: it cannot be restored.")
            continue
        if stored is None:
            raise RevertRefused(f"{_label(change)} is gone since run #{run.pk}.")
        left = change.postchange_data or {}
        differing = sorted(name for name in left if name in stored and name not in NOT_RESTORED
                           and name not in changelog.IGNORED_FIELDS and stored[name] != left[name])
        if differing:
            raise RevertRefused(f"{_label(change)} was changed since run #{run.pk} ({', '.join(differing)}), and the "
                                "change log has no record of it: it cannot be reverted safely.")


# -- locks ------------------------------------------------------------------------------------------

def _take_locks(service: Service, changes: list[ObjectChange]) -> None:
    """The locks allocation takes, in a stable order: the pools whose ledger the run wrote, the site's ports.

    Taken before anything is read for the checks, so that no allocation or port choice slips in between.
    """
    names = set()
    for change in changes:
        template = LEDGER_LOCKS.get(_model(change))
        data = change.postchange_data or change.prechange_data or {}
        if template and data.get("pool_id") is not None:
            names.add(template.format(data["pool_id"]))
    # Claims of shared objects (a customer port) are chosen under the site's lock (the generators').
    names.add(f"dcim:customer-ports:{service.location_id}")
    for name in sorted(names):
        advisory_lock(name)


# -- undoing one change -----------------------------------------------------------------------------

def _known(model, data: dict | None) -> dict:
    """The recorded values of ``data`` whose fields the model still has (by attname)."""
    names = {field.attname for field in model._meta.concrete_fields}
    return {name: value for name, value in (data or {}).items() if name in names}


def _value(model, attname: str, value):
    """A value of the change log (JSON) as the field holds it."""
    field = model._meta.get_field(attname)
    if value is None or isinstance(field, models.JSONField):
        return value
    if field.is_relation:
        return field.target_field.to_python(value)
    return field.to_python(value)


def _references(obj) -> list[tuple[models.Field, object]]:
    """The foreign keys ``obj`` holds: (field, id), checked once everything is undone."""
    return [(field, getattr(obj, field.attname)) for field in obj._meta.concrete_fields
            if field.is_relation and getattr(obj, field.attname) is not None]


class _Undo:
    """Undoes a run's changes one by one, newest first; the run's service is changed in memory only."""

    def __init__(self, run: GeneratorRun, service: Service):
        self.run = run
        self.service = service
        self.service_fields: set[str] = set()
        self.restored: dict[tuple[type, int], ObjectChange] = {}  # recreated or changed: their keys checked

    def undo(self, change: ObjectChange) -> None:
        model = _model(change)
        if model is Service and change.object_id == self.service.pk and change.action == ObjectChange.Action.UPDATE:
            self._restore_service(change)
        elif change.action == ObjectChange.Action.CREATE:
            self._delete(model, change)
        elif change.action == ObjectChange.Action.UPDATE:
            self._restore(model, change)
        else:
            self._recreate(model, change)

    def _restore_service(self, change: ObjectChange) -> None:
        for attname in _changed_fields(change):
            setattr(self.service, attname, _value(Service, attname, change.prechange_data[attname]))
            self.service_fields.add(attname)

    def _restore(self, model, change: ObjectChange) -> None:
        obj = model._base_manager.filter(pk=change.object_id).first()
        fields = _changed_fields(change)
        if obj is None or not fields:
            return
        for attname in fields:
            setattr(obj, attname, _value(model, attname, change.prechange_data[attname]))
        # Derived binary columns (a prefix's network) are recomputed by save(): written with the rest.
        derived = [f.attname for f in model._meta.concrete_fields if f.get_internal_type() == "BinaryField"]
        timestamps = [f.attname for f in model._meta.concrete_fields if f.name == "last_updated"]
        self._save(change, obj, update_fields=[*fields, *derived, *timestamps])

    def _delete(self, model, change: ObjectChange) -> None:
        obj = model._base_manager.filter(pk=change.object_id).first()
        if obj is None:
            return
        self._refuse_dependants(change, obj)
        if isinstance(obj, NumberAllocation):
            # Released through the pool, so that the number goes back to its free list.
            allocation.release(pool=obj.pool, identifier=obj.identifier)
        else:
            obj.delete()  # a prefix or an address gives its space back (ipam.signals)

    def _refuse_dependants(self, change: ObjectChange, obj) -> None:
        """Refuse to delete ``obj`` if other recorded objects point at it now (they would be deleted or changed)."""
        collector = Collector(using=router.db_for_write(type(obj)), origin=obj)
        try:
            collector.collect([obj])
        except (ProtectedError, RestrictedError) as exc:
            used_by = ", ".join(str(o) for o in list(exc.args[1])[:3])
            raise RevertRefused(f"{_label(change)} cannot be deleted: {used_by} use it.") from exc
        others = [instance for model, instances in collector.data.items() if changelog.is_recorded(model)
                  for instance in instances if not (type(instance) is type(obj) and instance.pk == obj.pk)]
        for (field, _), batches in collector.field_updates.items():
            if changelog.is_recorded(field.model):
                others += [instance for batch in batches for instance in batch]
        others += [instance for queryset in collector.fast_deletes if changelog.is_recorded(queryset.model)
                   for instance in queryset[:3]]
        if others:
            used_by = ", ".join(f"{o._meta.verbose_name} {o}" for o in others[:3])
            raise RevertRefused(f"{_label(change)}, created by run #{self.run.pk}, is now used by {used_by}: "
                                "deleting it would change them too.")

    def _recreate(self, model, change: ObjectChange) -> None:
        if getattr(model, "changelog_exclude_fields", ()) or hasattr(model, "_mptt_meta"):
            raise RevertRefused(f"{_label(change)} cannot be recreated: the change log does not hold all of it.")
        data = _known(model, change.prechange_data)
        obj = model(**{attname: _value(model, attname, value) for attname, value in data.items()})
        if hasattr(obj, "set_derived_fields"):
            try:
                obj.set_derived_fields()
            except ValidationError as exc:
                raise RevertRefused(f"{_label(change)} cannot be recreated: {' '.join(exc.messages)}") from exc
        self._refuse_taken(change, obj)
        self._save(change, obj, force_insert=True)
        created = data.get("created")
        if created is not None:  # auto_now_add gave it the time of now: it keeps the time it was made
            model._base_manager.filter(pk=obj.pk).update(created=_value(model, "created", created))
        if isinstance(obj, NumberAllocation):
            allocation.take_number(obj.pool, obj.value)  # prefixes and addresses: ipam.signals occupy their space

    def _refuse_taken(self, change: ObjectChange, obj) -> None:
        """Refuse to recreate ``obj`` where something else now stands (the same id, number, prefix, address)."""
        problems = []
        try:
            obj.validate_unique()
        except ValidationError as exc:
            problems += exc.messages
        try:
            obj.validate_constraints()
        except ValidationError as exc:
            problems += exc.messages
        if isinstance(obj, Prefix):
            inside = Prefix.objects.within(obj.cidr, namespace=obj.namespace_id, include_self=True).first()
            if inside is not None:
                problems.append(f"{inside} now uses its space.")
        if isinstance(obj, IPAddress) and IPAddress.objects.filter(
                namespace_id=obj.namespace_id, family=obj.family, host=obj.host).exists():
            problems.append(f"{obj.host_address} is in use again.")
        if problems:
            raise RevertRefused(f"{_label(change)}, deleted by run #{self.run.pk}, cannot be restored: "
                                f"{' '.join(dict.fromkeys(problems))}")

    def _save(self, change: ObjectChange, obj, **kwargs) -> None:
        try:
            with transaction.atomic():
                obj.save(**kwargs)
        except IntegrityError as exc:
            raise RevertRefused(f"{_label(change)} cannot be restored: {exc}") from exc
        self.restored[(type(obj), obj.pk)] = change

    def check_references(self) -> None:
        """Refuse if a restored object points at an object that is not there (deferred keys fail at commit)."""
        for (model, pk), change in self.restored.items():
            obj = model._base_manager.filter(pk=pk).first()
            for field, value in _references(obj) if obj is not None else ():
                if not field.related_model._base_manager.filter(**{field.target_field.attname: value}).exists():
                    raise RevertRefused(f"{_label(change)} cannot be restored: its {field.verbose_name} "
                                        f"(#{value}) no longer exists.")


# -- the service ------------------------------------------------------------------------------------

def _status_before(run: GeneratorRun, service: Service, status: str) -> str:
    """The status ``service`` had before it entered ``status`` for ``run`` (skipping its wait for an approval)."""
    lifecycle = service.lifecycle
    history = LifecycleEvent.objects.filter(service=service).order_by("-pk")
    if run.finished_at is not None:
        history = history.filter(created__lte=run.finished_at)
    entered = history.filter(to_status=status).exclude(from_status=status).first()
    while entered is not None and lifecycle.approval_status and entered.from_status == lifecycle.approval_status:
        entered = (history.filter(pk__lt=entered.pk, to_status=lifecycle.approval_status)
                   .exclude(from_status=lifecycle.approval_status).first())
    if entered is None or not entered.from_status:
        raise RevertRefused(f"The history of {service} does not say where it was before it entered {status}: "
                            f"run #{run.pk} cannot be reverted.")
    return entered.from_status


def _move_service(run: GeneratorRun, service: Service, undo: _Undo, *, from_status: str, user) -> str:
    """Save the service as the run found it, out of a working status it was left in; record the event."""
    target = service.status
    if target in service.lifecycle.working:
        target = _status_before(run, service, target)
    service.status = target
    service.version += 1
    service.save(update_fields=sorted(undo.service_fields | {"status", "version", "last_updated"}))
    services.record_history(service, from_status=from_status, user=user,
                            message=f"Run #{run.pk} reverted by {_who(user)}")
    return target


# -- reverting --------------------------------------------------------------------------------------

def _change_context(run: GeneratorRun, user):
    """The revert's changes: on behalf of the request or command under way (or ``user``), grouped by their own id."""
    outer = changelog.current()
    return changelog.change_context(
        source=outer.source if outer is not None else ObjectChange.Source.SYSTEM,
        request=outer.request if outer is not None else None,
        user=user if getattr(user, "pk", None) else None,
        request_id=revert_request_id(run),
    )


def revert_run(*, run: GeneratorRun, user=None) -> RevertResult:
    """Revert the succeeded run ``run`` as one unit (see the module docstring); ``RevertRefused`` if it cannot be.

    Everything happens in one transaction: a refusal found halfway (an object that cannot be
    restored) rolls back what was undone before it.
    """
    refusal = run_refusal(run)
    if refusal is not None:
        raise refusal
    user = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        # The service's row first, as runs take it: runs of the service wait for the revert, and it for them.
        service = Service.objects.select_for_update(of=("self",)).select_related("service_type").get(
            pk=run.service_id)
        run = GeneratorRun.objects.select_for_update(of=("self",)).select_related("reverted_by").get(pk=run.pk)
        refusal = run_refusal(run) or _service_refusal(run, service)
        if refusal is not None:
            raise refusal
        changes = list(ObjectChange.objects.filter(run_id=run.pk).order_by("-pk"))
        if not changes and run.changes:
            raise RevertRefused(f"Run #{run.pk} has no records in the change log (made before it recorded runs, or "
                                "purged since): what it changed is not known well enough to revert it.",
                                conflict=False)
        if not changes:
            raise RevertRefused(f"Run #{run.pk} changed nothing: there is nothing to revert.", conflict=False)
        _take_locks(service, changes)
        last = _last_changes(changes)
        _check_later_changes(run, service, last)
        _check_current_state(run, last)
        from_status = service.status
        undo = _Undo(run, service)
        with _change_context(run, user):
            for change in changes:
                undo.undo(change)
            undo.check_references()
            to_status = _move_service(run, service, undo, from_status=from_status, user=user)
            run.reverted_at, run.reverted_by = timezone.now(), user
            run.save(update_fields=["reverted_at", "reverted_by"])
        events.publish("run.reverted", {
            "run": run.pk, "action": run.action, "service": service.pk,
            "service_identifier": service.service_identifier, "from": from_status, "to": to_status,
            "user": user.username if user else None, "change_count": len(changes),
        }, tenant_id=service.tenant_id)
    return RevertResult(run=run, service=service, from_status=from_status, to_status=to_status, undone=len(changes))


class _Preview(Exception):
    """Raised at the end of a preview to roll it back, carrying what the revert did."""

    def __init__(self, result: RevertResult):
        self.result = result


def preview_revert(*, run: GeneratorRun, user=None) -> RevertResult:
    """What reverting ``run`` would do (where the service would go, how many changes), computed and rolled back.

    ``RevertRefused`` if the revert would be refused now: the confirmation page says so before anyone confirms.
    """
    try:
        with transaction.atomic():
            raise _Preview(revert_run(run=run, user=user))
    except _Preview as preview:
        return preview.result

