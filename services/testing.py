"""The generator kit: run a generator here and now, and check the three properties every generator must have.

Every generator must be:

- idempotent: a second run (a reconcile of an active service) reports no change and writes nothing;
- complete in its tracking: decommissioning gives back everything delivering took (no leak);
- atomic: a run that fails partway leaves nothing behind.

The checks compare ``footprint()`` snapshots of everything a generator may touch: every row of the
``dcim`` and ``ipam`` models (interface states, VLANs, prefixes, addresses, pool ledgers and their
free-space indexes) and the ownership records (``services.ServiceResource``). A failed check raises
``AssertionError`` with a diff for people: which model, which row, which field, before and after.

The functions need the database and run inside the caller's transaction: a test's (pytest-django's
``db``) or ``manage.py generator_check``'s, which it rolls back. They are offered as pytest fixtures
by ``services.testing_plugin`` (registered in ``tests/conftest.py``). This module does not import
pytest: the management command uses it too.
"""

import contextlib
import json
from unittest import mock

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models

from catalog_site import changelog

from . import approvals, runs, services
from .generators import GeneratorError, generator_class
from .lifecycle import Status
from .models import GeneratorRun, Service, ServiceResource

# The apps whose rows a generator may create, change or delete (ServiceResource is added by name).
INVENTORY_APPS = ("dcim", "ipam")
# The error a forced failure raises; found again in the failed run's reason.
FORCED_FAILURE = "Forced failure (generator kit)"
# How many differing rows a diff shows per model before it summarises.
DIFF_ROWS = 10
KIT_USERNAME = "generator-kit"

Action, RunStatus = GeneratorRun.Action, GeneratorRun.Status
# The status a service must be in for each action that moves it along its lifecycle.
WORKING_STATUS = {Action.PROVISION: Status.IN_DELIVERY, Action.DECOMMISSION: Status.IN_DECOMMISSIONING}


# -- the footprint --------------------------------------------------------------------------------

def footprint_models() -> list[type[models.Model]]:
    """The models of the footprint: those of the inventory apps (with many-to-many tables), and ownership."""
    found = [model for label in INVENTORY_APPS
             for model in apps.get_app_config(label).get_models(include_auto_created=True)]
    return [*found, ServiceResource]


def _significant_fields(model) -> list:
    """The columns that say something about the object: not timestamps, not a tree's derived numbering."""
    tree = getattr(model, "_mptt_meta", None)
    derived = {tree.left_attr, tree.right_attr, tree.tree_id_attr, tree.level_attr} if tree else set()
    return [field for field in model._meta.concrete_fields
            if not (getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
            and field.name not in derived and not field.primary_key]


def _plain(value):
    """A column value as a comparable, hashable, readable value."""
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return changelog.jsonable(value) if not isinstance(value, int | float | str | bool) else value


def _keyed_by_id(model) -> bool:
    """Recorded objects keep their identity (their id); a derived index (free ranges, free blocks,
    many-to-many rows) may be rebuilt with new ids for the same content, so it is compared by content."""
    return model is ServiceResource or changelog.is_recorded(model)


def model_footprint(model) -> dict:
    """``{key: {field: value}}`` of every row of ``model``: keyed by id, or by content for a derived index."""
    fields = _significant_fields(model)
    names = [field.attname for field in fields]
    rows = {}
    for values in model._default_manager.order_by().values_list("pk", *names).iterator():
        row = {name: _plain(value) for name, value in zip(names, values[1:], strict=True)}
        key = values[0] if _keyed_by_id(model) else tuple(row.values())
        rows[key] = row
    return rows


def footprint() -> dict:
    """A comparable snapshot of everything a generator may touch: ``{"app.model": {key: {field: value}}}``.

    Take one before delivering a service, another after decommissioning it: they must be equal
    (``footprint_diff`` says how they differ). Timestamps are left out (a port given back is as it
    was, whenever it was saved).
    """
    return {model._meta.label_lower: model_footprint(model) for model in footprint_models()}


def _row_label(label: str, key, row: dict) -> str:
    """How a diff names a row: the model, the id, and the object's own name when it still exists."""
    if not isinstance(key, tuple):
        model = apps.get_model(label)
        obj = model._default_manager.filter(pk=key).first()
        return f"{label} #{key}" + (f" ({obj})" if obj is not None else "")
    return f"{label} {dict(row)}"


def _fields_text(row: dict) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in row.items() if value not in (None, ""))


def footprint_diff(before: dict, after: dict) -> list[str]:
    """The differences between two footprints, one line per row for people (empty when they are equal)."""
    lines = []
    for label in sorted(set(before) | set(after)):
        old, new = before.get(label, {}), after.get(label, {})
        if old == new:
            continue
        model_lines = []
        for key in sorted(set(new) - set(old), key=str):
            model_lines.append(f"{_row_label(label, key, new[key])} was not there before: {_fields_text(new[key])}")
        for key in sorted(set(old) - set(new), key=str):
            model_lines.append(f"{_row_label(label, key, old[key])} is gone: it was {_fields_text(old[key])}")
        for key in sorted(set(old) & set(new), key=str):
            if old[key] != new[key]:
                changed = ", ".join(f"{name} {old[key].get(name)!r} -> {new[key].get(name)!r}"
                                    for name in new[key] if old[key].get(name) != new[key].get(name))
                model_lines.append(f"{_row_label(label, key, new[key])} differs: {changed}")
        lines.extend(f"  {line}" for line in model_lines[:DIFF_ROWS])
        if len(model_lines) > DIFF_ROWS:
            lines.append(f"  ... and {len(model_lines) - DIFF_ROWS} more row(s) of {label}")
    return lines


def assert_same_footprint(before: dict, after: dict, what: str) -> None:
    """``AssertionError`` saying ``what`` went wrong, with the diff, unless the footprints are equal."""
    if before != after:
        raise AssertionError(f"{what}:\n" + "\n".join(footprint_diff(before, after)))


# -- running a generator --------------------------------------------------------------------------

def kit_user():
    """The person who approves plans for the kit (an approval needs someone other than the requester)."""
    user, _ = get_user_model().objects.get_or_create(username=KIT_USERNAME, defaults={"is_superuser": True,
                                                                                     "is_staff": True})
    return user


def _enter_working_status(service: Service, status: str, user) -> Service:
    """Move ``service`` to ``status`` through the lifecycle, approving its plan if its type asks for one."""
    if service.status != Status.PENDING_APPROVAL:  # waiting already (an update of an active service): approve
        service = services.service_transition(service=service, to=status, version=service.version, user=user,
                                              message="Generator kit")
    if service.status == Status.PENDING_APPROVAL:
        approvals.approve(approval=approvals.pending_approval(service), user=kit_user(),
                          comment="Approved by the generator kit")
    return service


def generator_run(service: Service, action: str = Action.PROVISION, *, user=None) -> GeneratorRun:
    """Run ``action`` for ``service`` now, in this process and transaction; the finished run (service refreshed).

    - ``provision`` and ``decommission`` go through the lifecycle as a person would: the service is
      moved to in-delivery or in-decommissioning (a plan that needs an approval is approved by the
      ``generator-kit`` user), then the run that move queued is executed here. A service already
      there (an active service updated: in-delivery, or pending-approval) has its queued run
      executed (approved first). Its task message is
      only sent when the transaction commits, which a test's (or ``generator_check``'s) never does;
      if it ran already (eager tasks outside a transaction) the finished run is returned as it is.
    - ``reconcile`` executes a new run directly (nothing is sent to the broker);
    - ``plan`` is ``runs.plan_run``: computed and rolled back.
    """
    service.refresh_from_db()
    if action == Action.PLAN:
        run = runs.plan_run(service=service, user=user)
    else:
        run = runs.execute_run(prepare_run(service, action, user=user).pk)
    if Service.objects.filter(pk=service.pk).exists():  # a service being deleted goes with its decommission
        service.refresh_from_db()
    return run


def prepare_run(service: Service, action: str, *, user=None) -> GeneratorRun:
    """The run of ``action`` to execute for ``service``: the one its move to the working status queued
    (``provision``, ``decommission``), or a new one (``reconcile``); not executed yet."""
    if action == Action.RECONCILE:
        return runs._new_run(service, action, user)
    if action not in WORKING_STATUS:
        raise ValueError(f"{action!r} is not a run action: {', '.join(Action.values)}.")
    runs_of_action = GeneratorRun.objects.filter(service=service, action=action).order_by("-pk")
    if service.status == WORKING_STATUS[action]:
        # Already there (an update of an active service queued its provision): that run, if it waits.
        queued = runs_of_action.filter(status=RunStatus.QUEUED).first()
    else:
        last = GeneratorRun.objects.filter(service=service).order_by("-pk").values_list("pk", flat=True).first()
        _enter_working_status(service, WORKING_STATUS[action], user)
        queued = runs_of_action.filter(pk__gt=last or 0).first()
    return queued or runs._new_run(service, action, user)


def _run_summary(run: GeneratorRun) -> str:
    return f"{run.get_action_display().lower()} run #{run.pk} of {run.service_id}"


def _assert_succeeded(run: GeneratorRun) -> None:
    if run.status != RunStatus.SUCCEEDED:
        raise AssertionError(f"The {_run_summary(run)} is {run.status}: {run.error or 'no reason given'}"
                             + ("\n  " + "\n  ".join(run.log[-5:]) if run.log else ""))


def _changes_text(changes: list[dict]) -> str:
    return "\n".join(f"  {change['action']} {change['model']} #{change['id']} ({change.get('display', '')})"
                     + (f": {change['fields']}" if change.get("fields") else "") for change in changes)


# -- the checks -----------------------------------------------------------------------------------

def assert_idempotent(service: Service) -> GeneratorRun:
    """A reconcile of the active ``service`` reports no change and writes nothing to the inventory."""
    service.refresh_from_db()
    if service.status != Status.ACTIVE:
        raise AssertionError(f"Idempotency is checked on an active service; {service} is {service.status}.")
    before, attributes = footprint(), dict(service.attributes)
    run = generator_run(service, Action.RECONCILE)
    _assert_succeeded(run)
    if run.changes:
        raise AssertionError(f"Not idempotent: a second run of {service} made {len(run.changes)} change(s) "
                             f"(compare before writing; produce the same values every run):\n"
                             f"{_changes_text(run.changes)}")
    assert_same_footprint(before, footprint(), f"Not idempotent: a second run of {service} reported no change "
                                               "but wrote to the inventory")
    if service.attributes != attributes:
        raise AssertionError(f"Not idempotent: a second run of {service} changed its attributes: "
                             f"{attributes} -> {service.attributes}")
    return run


def assert_gives_back_everything(service: Service, before: dict) -> GeneratorRun:
    """Decommission ``service``: the inventory must be as ``before`` (taken before it was delivered)."""
    run = generator_run(service, Action.DECOMMISSION)
    _assert_succeeded(run)
    assert_same_footprint(before, footprint(), f"Decommissioning {service} did not give back everything "
                                               "(a leak: something produced but not recorded as owned, or "
                                               "not given back as it was)")
    return run


@contextlib.contextmanager
def failing_generator(service_type, *, after_changes: int = 1):
    """Make the generator of ``service_type`` raise ``FORCED_FAILURE`` after its ``after_changes``-th change
    (or at the end of ``generate()`` if it makes fewer): a run that fails partway, as a full pool would."""
    cls = generator_class(service_type)
    if cls is None:
        raise AssertionError(f"{service_type.name} has no generator: there is nothing to make fail.")
    record_change, generate = cls._change, cls.generate

    def change_then_fail(self, *args, **kwargs):
        record_change(self, *args, **kwargs)
        if len(self.changes) >= after_changes:
            raise GeneratorError(f"{FORCED_FAILURE} after {len(self.changes)} change(s).")

    def generate_then_fail(self):
        generate(self)
        raise GeneratorError(f"{FORCED_FAILURE} at the end of generate(), after {len(self.changes)} change(s).")

    with mock.patch.object(cls, "_change", change_then_fail), mock.patch.object(cls, "generate", generate_then_fail):
        yield cls


def assert_failure_leaves_nothing(service: Service, before: dict, action: str = Action.PROVISION) -> GeneratorRun:
    """Run ``action`` for ``service`` with its generator failing after its first change; the run must be
    failed with the forced reason, and the inventory as ``before``."""
    service.refresh_from_db()
    queued = prepare_run(service, action)  # the approval's plan, if any, is made by the generator as it is
    with failing_generator(service.service_type):
        run = runs.execute_run(queued.pk)
    service.refresh_from_db()
    if run.status != RunStatus.FAILED:
        raise AssertionError(f"The {_run_summary(run)} should have failed ({FORCED_FAILURE}) but is {run.status}.")
    if FORCED_FAILURE not in run.error:
        raise AssertionError(f"The {_run_summary(run)} failed for another reason than the forced one: {run.error}")
    assert_same_footprint(before, footprint(), f"The failed {_run_summary(run)} left something behind "
                                               "(its writes must stay inside the run's savepoint)")
    return run


__all__ = [
    "FORCED_FAILURE", "assert_failure_leaves_nothing", "assert_gives_back_everything", "assert_idempotent",
    "assert_same_footprint", "failing_generator", "footprint", "footprint_diff", "generator_run", "prepare_run",
]
