"""Generator runs: requesting them, executing them (one transaction each) and following them live.

- ``request_run`` creates a queued ``GeneratorRun`` and enqueues its Celery task when the caller's
  transaction commits (a worker never looks for a row that is not there yet).
- ``execute_run`` does the work. It first marks the run running in a short transaction of its own
  (so that everyone sees it start), then, in ONE transaction: locks the service's row (runs of one
  service are serialised; other services run in parallel), runs the generator inside a savepoint,
  records the outcome and moves the service along its lifecycle. A generator failure rolls the
  savepoint back, so nothing stays allocated; the failure itself is recorded. A ``plan`` rolls back
  on purpose and keeps only the run row with its changes.
- Executing is idempotent: a finished run is not run again (a redelivered task does nothing), and a
  run left ``running`` by a worker that died is run again from the start. Two deliveries of one run
  at the same time execute it once: the first holds the run's session lock while it works, and the
  second, finding it taken, does nothing.
- A run's message can be lost (the broker down or flushed when it was sent): the run then stays
  queued, and ``resend_queued_runs`` (the periodic sweep of ``tasks``) sends it again.
- Log lines go to the cache while the run works (``RunLog``): the run's transaction holds the
  database (SQLite has one writer) and would take the lines with it on a rollback. They are stored
  on the row when the run ends.
"""

import logging
import uuid
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from catalog_site import changelog, events
from catalog_site.locks import session_lock

from . import approvals, providers, services
from .generators import GeneratorError, generator_class
from .lifecycle import Status
from .models import GeneratorRun, Service

logger = logging.getLogger(__name__)

Action, RunStatus = GeneratorRun.Action, GeneratorRun.Status

# Errors worth retrying the whole run for: the database went away or gave up on a lock.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

# The statuses in which each action applies; a plan applies in any status.
APPLIES = {
    Action.PROVISION: {Status.IN_DELIVERY},
    Action.DECOMMISSION: {Status.IN_DECOMMISSIONING},
    Action.RECONCILE: {Status.ACTIVE},
}
# Where a successful run moves the service.
ON_SUCCESS = {Action.PROVISION: Status.ACTIVE, Action.DECOMMISSION: Status.DECOMMISSIONED}
# A service on its way out (or gone) is planned as a decommissioning: its desired state is empty.
TEARDOWN = {Status.IN_DECOMMISSIONING, Status.DECOMMISSIONED}
WORKING_ACTIONS = {Status.IN_DELIVERY: Action.PROVISION, Status.IN_DECOMMISSIONING: Action.DECOMMISSION}

LOG_TIMEOUT = 24 * 3600
PENDING_RUN_WAIT = timedelta(hours=1)


class RunRefused(Exception):
    """A run that cannot be requested now (no generator, or the service is not in a state for it)."""


# -- the live log ---------------------------------------------------------------------------------

def log_key(run: GeneratorRun) -> str:
    # The task id makes the key unique across databases that share a cache (test runs, two sites).
    return f"services:generator-run:{run.pk}:{run.task_id}:log"


class RunLog:
    """The log of a run: kept in memory, mirrored to the cache line by line for other processes.

    A retried run continues the lines of the attempt before it, so a dead worker's progress stays visible.
    """

    def __init__(self, run: GeneratorRun):
        self.key = log_key(run)
        self.lines: list[str] = list(self._read() or run.log or [])

    def _read(self):
        try:
            return cache.get(self.key)
        except Exception:  # noqa: BLE001 - a cache outage must not fail the run; the row gets the lines
            logger.warning("Cannot read the live log %s", self.key, exc_info=True)
            return None

    def write(self, line: str) -> None:
        self.lines.append(str(line))
        try:
            cache.set(self.key, self.lines, LOG_TIMEOUT)
        except Exception:  # noqa: BLE001 - as above: the lines are stored on the row at the end anyway
            logger.warning("Cannot write the live log %s", self.key, exc_info=True)

    def forget(self) -> None:
        try:
            cache.delete(self.key)
        except Exception:  # noqa: BLE001
            logger.warning("Cannot delete the live log %s", self.key, exc_info=True)


def live_log(run: GeneratorRun) -> list[str]:
    """The run's log lines: from the cache while it works, from the row once it has ended."""
    if run.status == RunStatus.RUNNING:
        try:
            lines = cache.get(log_key(run))
        except Exception:  # noqa: BLE001
            lines = None
        if lines is not None:
            return lines
    return run.log


def pending_runs(rights) -> dict:
    """The queued and running runs that ``rights`` (``catalog_site.access``) see, and the oldest queued one's wait.

    ``oldest_queued_seconds`` above ``RUN_RESEND_AFTER`` plus the sweep's interval means that runs
    are not picked up: no worker, or a backlog.
    """
    counts = rights.restrict(GeneratorRun.objects.all()).aggregate(
        queued=Count("pk", filter=Q(status=RunStatus.QUEUED)),
        running=Count("pk", filter=Q(status=RunStatus.RUNNING)),
        oldest=Min("queued_at", filter=Q(status=RunStatus.QUEUED)),
    )
    oldest = counts.pop("oldest")
    counts["oldest_queued_seconds"] = round((timezone.now() - oldest).total_seconds(), 1) if oldest else None
    return counts


# -- requesting runs ------------------------------------------------------------------------------

def _new_run(service: Service, action: str, user=None) -> GeneratorRun:
    return GeneratorRun.objects.create(service=service, action=action, task_id=str(uuid.uuid4()),
                                       requested_by=user if getattr(user, "pk", None) else None)


def send(run_id: int, task_id: str) -> bool:
    """Send the task of run ``run_id`` now; False (logged) if the broker refused it: the run stays queued.

    The caller's work is committed by then: a broker outage must not turn its answer into an error.
    The periodic sweep (``resend_queued_runs``) sends the run again once the broker is back.
    """
    from .tasks import execute_generator_run

    try:
        execute_generator_run.apply_async(args=[run_id], task_id=task_id)
    except Exception as exc:  # noqa: BLE001 - kombu's OperationalError, a socket error: all mean "not sent"
        logger.error("Generator run %s stays queued, its task was not sent (%s); the sweep will send it again.",
                     run_id, exc)
        return False
    return True


def enqueue(run: GeneratorRun) -> None:
    """Send the run's task when the current transaction commits (at once outside a transaction)."""
    run_id, task_id = run.pk, run.task_id

    def send_generator_run():
        send(run_id, task_id)

    transaction.on_commit(send_generator_run, robust=True)


def request_run(*, service: Service, action: str, user=None) -> GeneratorRun:
    """Queue a run of ``action`` for ``service``; ``RunRefused`` if it has no generator or the status does not fit."""
    if not service.service_type.generator:
        raise RunRefused(f"{service.service_type.name} has no generator: its services are delivered by hand.")
    if action in APPLIES and service.status not in APPLIES[action]:
        allowed = " or ".join(sorted(APPLIES[action]))
        raise RunRefused(f"A {action} run applies to a service that is {allowed}; {service} is {service.status}.")
    run = _new_run(service, action, user)
    enqueue(run)
    return run


def request_working_run(*, service: Service, user=None) -> GeneratorRun | None:
    """The run that entering ``service``'s working status calls for (provision, decommission), queued.

    None when the type has no generator: its lifecycle is then moved on by hand.
    """
    action = WORKING_ACTIONS.get(service.status)
    if action is None or not service.service_type.generator:
        return None
    return request_run(service=service, action=action, user=user)


def retry_working_run(*, service: Service, user=None) -> GeneratorRun:
    """Queue again the run that ``service``'s working status calls for (in-delivery: provision, ...).

    For a service left in in-delivery or in-decommissioning by a run that never started (its
    message lost, its worker gone). Safe whatever became of the earlier run: runs of a service are
    serialised, and a run that finds the service moved on does nothing. ``RunRefused`` otherwise.
    """
    action = WORKING_ACTIONS.get(service.status)
    if action is None and service.deleting_since is not None and service.status == Status.FAILED:
        return _retry_decommission(service=service, user=user)
    if action is None:
        working = " or ".join(sorted(WORKING_ACTIONS))
        raise RunRefused(f"Only a service that is {working} (or failed while being deleted) can be retried; "
                         f"{service} is {service.status}.")
    return request_run(service=service, action=action, user=user)


def _retry_decommission(*, service: Service, user=None) -> GeneratorRun:
    """A service being deleted whose decommission failed: decommission it again (its run is queued)."""
    if not service.service_type.generator:
        raise RunRefused(f"{service.service_type.name} has no generator: decommission {service} by hand.")
    version = Service.objects.filter(pk=service.pk).values_list("version", flat=True).get()
    services.service_transition(service=service, to=Status.IN_DECOMMISSIONING, version=version, user=user,
                                message="Retry: decommission again, the service is being deleted")
    return GeneratorRun.objects.filter(service=service, action=Action.DECOMMISSION).latest("pk")


def plan_run(*, service: Service, user=None) -> GeneratorRun:
    """Compute, in this process, what a run would change now, and roll it back; the finished run row."""
    if not service.service_type.generator:
        raise RunRefused(f"{service.service_type.name} has no generator: there is nothing to plan.")
    run = _new_run(service, Action.PLAN, user)
    return execute_run(run.pk)


def request_reconciliation(*, service_ids=None) -> list[GeneratorRun]:
    """Queue a reconcile run for each active service with a generator (all, or those of ``service_ids``).

    A service that already has a run queued or working is skipped: that run will bring it in line.
    Unless that run is older than ``PENDING_RUN_WAIT`` (its message lost, say): the service would
    otherwise never be reconciled again.
    """
    pending = GeneratorRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING],
                                          queued_at__gte=timezone.now() - PENDING_RUN_WAIT)
    candidates = Service.objects.filter(status=Status.ACTIVE).exclude(service_type__generator="").exclude(
        pk__in=pending.values("service_id")
    ).select_related("service_type").order_by("pk")
    if service_ids is not None:
        candidates = candidates.filter(pk__in=service_ids)
    runs = []
    with transaction.atomic():
        for service in candidates:
            runs.append(_new_run(service, Action.RECONCILE))
            enqueue(runs[-1])
    return runs


def resend_queued_runs(*, older_than: timedelta, limit: int = 1000) -> list[GeneratorRun]:
    """Send again the runs still queued ``older_than`` after they were requested (oldest first); those sent.

    Their message was lost, or it still waits in the queue: sending a run twice is harmless, its
    second delivery does nothing (see ``execute_run``). Plans are computed in the caller, never sent.
    """
    stale = list(GeneratorRun.objects.filter(status=RunStatus.QUEUED, queued_at__lt=timezone.now() - older_than)
                 .exclude(action=Action.PLAN).order_by("pk")[:limit])
    return [run for run in stale if send(run.pk, run.task_id)]


# -- executing runs -------------------------------------------------------------------------------

class _DryRun(Exception):
    """Raised at the end of a plan to roll its savepoint back."""

    def __init__(self, changes):
        self.changes = changes


class _Drifted(Exception):
    """Raised when an approved delivery would change other things than its plan: rolls its savepoint back."""

    def __init__(self, differences: list[str]):
        self.differences = differences


def describe_error(exc: Exception) -> str:
    """A failure as one line for people: field errors spelled out, our own errors as they are."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(("" if field == NON_FIELD_ERRORS else f"{field}: ") + " ".join(messages)
                             for field, messages in exc.message_dict.items())
        return " ".join(exc.messages)
    if isinstance(exc, GeneratorError | providers.RunScopeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _start(run_id: int, task_id: str | None) -> GeneratorRun | None:
    """Mark the run running (committed at once, so that others see it); None if it has already ended."""
    fields = {"status": RunStatus.RUNNING, "started_at": timezone.now(), "attempts": F("attempts") + 1}
    if task_id:
        fields["task_id"] = task_id
    with transaction.atomic():
        # Conditional, so that a late duplicate delivery cannot reopen a finished run.
        started = GeneratorRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).update(
            **fields)
    return GeneratorRun.objects.get(pk=run_id) if started else None


def execute_run(run_id: int, *, task_id: str | None = None) -> GeneratorRun:
    """Execute the run ``run_id`` (idempotent: a finished run is returned as it is). See the module docstring.

    Transient database errors propagate (the task retries the whole run); anything else the
    generator raises fails the run, recorded with its reason. A run that another delivery is
    executing right now is returned as it is.
    """
    with session_lock(f"services:generator-run:{run_id}") as acquired:
        if not acquired:
            return GeneratorRun.objects.get(pk=run_id)
        return _execute(run_id, task_id)


def run_change_context(run: GeneratorRun, service: Service):
    """The change log's context of ``run``: its changes are grouped by the run's id, on behalf of its requester."""
    return changelog.change_context(source="run", run_id=run.pk, service_identifier=service.service_identifier,
                                    user=run.requested_by)


def _execute(run_id: int, task_id: str | None) -> GeneratorRun:
    run = _start(run_id, task_id)
    if run is None:
        return GeneratorRun.objects.get(pk=run_id)
    run_log = RunLog(run)
    with transaction.atomic():
        service = Service.objects.select_for_update(of=("self",)).select_related(
            "service_type", "tenant", "location", "provider__service_account").get(pk=run.service_id)
        run = GeneratorRun.objects.get(pk=run_id)
        if run.finished:
            return run  # another delivery of the task finished it while this one waited for the lock
        run_log.write(f"{run.get_action_display()} run #{run.pk} of {service} ({service.status}), "
                      f"attempt {run.attempts}.")
        with run_change_context(run, service):
            succeeded, changes, error = _perform(run, service, run_log)
            _finish(run, service, run_log, succeeded=succeeded, changes=changes, error=error)
    run_log.forget()
    return run


def _perform(run: GeneratorRun, service: Service, run_log: RunLog) -> tuple[bool, list, str]:
    """Run the generator in a savepoint; (succeeded, changes, error).

    The provision run of an approved delivery compares its changes with the approved plan: if they
    differ it rolls back and notes the approval on ``run.drifted_approval`` (``_move_service`` then
    asks for a new approval instead of failing the service).
    """
    if run.action in APPLIES and service.status not in APPLIES[run.action]:
        run_log.write(f"Nothing to do: a {run.action} run applies to a service that is "
                      f"{' or '.join(sorted(APPLIES[run.action]))}; it is {service.status} now.")
        return True, [], ""
    approval = approvals.approval_for_run(run, service)
    try:
        cls = generator_class(service.service_type)
        if cls is None:
            raise GeneratorError(f"{service.service_type.name} has no generator.")
        produce = run.action != Action.DECOMMISSION and not (run.action == Action.PLAN and service.status in TEARDOWN)
        with transaction.atomic(), providers.run_scope(service):
            changes = cls(service=service, log=run_log.write).apply(produce=produce)
            if run.action == Action.PLAN:
                raise _DryRun(changes)
            if approval is not None:
                planned = approval.plan_run.changes if approval.plan_run else []
                differences = approvals.plan_differences(planned, changes)
                if differences:
                    raise _Drifted(differences)
                run_log.write(f"The changes are those of the plan approved in approval #{approval.pk}.")
    except _DryRun as dry_run:
        run_log.write(f"Plan: {len(dry_run.changes)} change(s) computed and rolled back.")
        return True, dry_run.changes, ""
    except _Drifted as drifted:
        error = approvals.drift_reason(drifted.differences)
        run.drifted_approval = approval
        run_log.write(f"Stopped, nothing was changed: {error}")
        return False, [], error
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the generator fails the run, with its reason
        if not isinstance(exc, GeneratorError | ValidationError | providers.RunScopeError):
            logger.exception("Generator run %s of %s failed", run.pk, service)
        error = describe_error(exc)
        run_log.write(f"Failed, nothing was changed: {error}")
        return False, [], error
    run_log.write(f"Done: {len(changes)} change(s).")
    return True, changes, ""


def _move_service(run: GeneratorRun, service: Service, run_log: RunLog, *, succeeded: bool, error: str) -> None:
    """A successful provision or decommission moves the service on; a failure moves it to failed if it can."""
    if run.action == Action.PLAN:
        return
    drifted = getattr(run, "drifted_approval", None)
    if drifted is not None:
        approval = approvals.plan_drifted(approval=drifted, service=service, run=run, reason=error)
        run_log.write(f"Service {service.status} -> {Status.PENDING_APPROVAL}: approval #{approval.pk} requested "
                      f"with a new plan (run #{approval.plan_run_id}).")
        return
    lifecycle = service.lifecycle
    target = ON_SUCCESS.get(run.action) if succeeded else Status.FAILED
    if target is None or not lifecycle.allows(service.status, target):
        return
    message = f"Run #{run.pk} ({run.action}) " + ("succeeded" if succeeded else f"failed: {error}")
    version = Service.objects.filter(pk=service.pk).values_list("version", flat=True).get()
    updated = services.service_transition(service=service, to=target, version=version, message=message,
                                          release_finalizer=False)  # _finish releases it, once the run is saved
    run_log.write(f"Service {service.status} -> {updated.status}.")


def _finish(run: GeneratorRun, service: Service, run_log: RunLog, *, succeeded: bool, changes: list,
            error: str) -> None:
    _move_service(run, service, run_log, succeeded=succeeded, error=error)
    run.status = RunStatus.SUCCEEDED if succeeded else RunStatus.FAILED
    run.changes, run.error = changes, error
    run.finished_at = timezone.now()
    run.duration = run.finished_at - run.started_at if run.started_at else None
    run.log = run_log.lines
    run.save(update_fields=["status", "changes", "error", "finished_at", "duration", "log"])
    _publish_outcome(run, service)
    if succeeded and run.action == Action.DECOMMISSION:
        # A service being deleted goes now if this was its last finalizer, and its runs (this one too) with it.
        services.service_release_decommission(service=service)


def _publish_outcome(run: GeneratorRun, service: Service) -> None:
    """``run.succeeded`` or ``run.failed`` (plans are not published: they change nothing)."""
    if run.action == Action.PLAN:
        return
    events.publish(f"run.{run.status}", {
        "run": run.pk, "action": run.action, "status": run.status, "service": service.pk,
        "service_identifier": service.service_identifier, "error": run.error, "change_count": len(run.changes),
    }, tenant_id=service.tenant_id)


def abandon_run(run_id: int, *, error: str) -> GeneratorRun | None:
    """Fail a run whose task gave up (retries exhausted, a crash outside the generator), if it has not ended."""
    run = GeneratorRun.objects.filter(pk=run_id).first()
    if run is None or run.finished:
        return run
    with transaction.atomic():
        service = Service.objects.select_for_update(of=("self",)).select_related("service_type").get(
            pk=run.service_id)
        run = GeneratorRun.objects.get(pk=run_id)
        if run.finished:
            return run
        run_log = RunLog(run)
        run_log.write(f"Gave up: {error}")
        with run_change_context(run, service):
            _finish(run, service, run_log, succeeded=False, changes=[], error=error)
    run_log.forget()
    return run
