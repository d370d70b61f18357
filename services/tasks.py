"""Celery tasks of the service catalog. They take ids and call ``services.runs``; all the rules live there.

Each task is idempotent (``execute_run`` does nothing for a finished run and runs again one left
``running`` by a dead worker), so they are acknowledged late and given back to the queue when the
worker is lost. Only transient database errors are retried, with backoff, a bounded number of times;
when a run's task gives up, the run is marked failed with the reason.
"""

from celery import Task, shared_task

from . import runs

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
