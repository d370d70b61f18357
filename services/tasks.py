"""Celery tasks of the service catalog. They take ids and call ``services.runs``; all the rules live there.

Each task is idempotent (``execute_run`` does nothing for a finished run and runs again one left
``running`` by a dead worker), so they are acknowledged late and given back to the queue when the
worker is lost. Only transient database errors are retried, with backoff, a bounded number of times;
when a run's task gives up, the run is marked failed with the reason. A periodic sweep sends again
the runs whose message the broker lost.
"""

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings
from kombu.exceptions import ChannelError

from . import runs

logger = logging.getLogger(__name__)

RETRY_OPTIONS = {
    "autoretry_for": runs.TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


class GeneratorRunTask(Task):
    """Records the failure on the run when its task fails for good (so that no run stays "running")."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        run_id = args[0] if args else kwargs.get("run_id")
        if run_id is not None:
            runs.abandon_run(run_id, error=f"The task gave up after {self.request.retries} retries: "
                                           f"{runs.describe_error(exc)}")


@shared_task(bind=True, base=GeneratorRunTask, name="services.execute_generator_run", acks_late=True,
             reject_on_worker_lost=True, **RETRY_OPTIONS)
def execute_generator_run(self, run_id: int) -> dict:
    """Execute generator run ``run_id`` (see ``services.runs.execute_run``)."""
    run = runs.execute_run(run_id, task_id=self.request.id)
    return {"run": run.pk, "status": run.status, "changes": len(run.changes)}


@shared_task(name="services.reconcile_services", acks_late=True, reject_on_worker_lost=True, **RETRY_OPTIONS)
def reconcile_services(service_ids: list[int] | None = None) -> list[int]:
    """Queue a reconcile run for every active service with a generator (the scheduled job); the run ids."""
    return [run.pk for run in runs.request_reconciliation(service_ids=service_ids)]


def waiting_messages(task) -> int | None:
    """How many messages wait in the broker queue of ``task`` (None when the broker cannot say)."""
    queue = task.app.amqp.router.route({}, task.name)["queue"].name
    try:
        with task.app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)  # kombu would otherwise retry for ever
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:
        return 0  # Redis drops an empty queue: "not found" means nothing waits
    except Exception:  # noqa: BLE001 - unknown: the caller decides as if nothing waited
        logger.warning("Cannot count the messages waiting in %s", queue, exc_info=True)
        return None


@shared_task(name="services.resend_lost_runs", acks_late=True, reject_on_worker_lost=True)
def resend_lost_runs() -> list[int]:
    """The periodic sweep: send again the runs still queued ``RUN_RESEND_AFTER`` seconds after they were requested.

    Their message was lost (the broker down or flushed when it was sent), or it waits behind others.
    While messages wait in the queue nothing is sent: a backlog would otherwise grow by a copy of
    each of its runs at every sweep. The ids of the runs sent.
    """
    if waiting_messages(execute_generator_run):
        return []
    older_than = timedelta(seconds=settings.RUN_RESEND_AFTER)
    return [run.pk for run in runs.resend_queued_runs(older_than=older_than)]
