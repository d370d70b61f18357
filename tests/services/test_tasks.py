"""Celery tasks of generator runs (eager): sent on commit, idempotent, retried on transient errors only,
serialised per service, progress visible while a run works; the scheduled reconciliation."""

import threading
import time

import pytest
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from services import runs, services
from services.models import GeneratorRun, Service
from services.tasks import execute_generator_run, reconcile_services

from .factories import make_site, make_tenant, order_service
from .generator_fixtures import (
    committed,
    deliver,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    last_run,
    order,
)
from .test_generators import SCRIPTS, TOY_TYPE


def test_task_options():
    assert execute_generator_run.acks_late and execute_generator_run.reject_on_worker_lost
    assert execute_generator_run.autoretry_for == (OperationalError, InterfaceError)
    assert execute_generator_run.max_retries == 5 and execute_generator_run.retry_backoff
    assert execute_generator_run.name == "services.execute_generator_run"


class TestSending:
    def test_the_task_is_sent_when_the_transition_commits(self, inventory, django_capture_on_commit_callbacks):
        service = order()
        with django_capture_on_commit_callbacks() as callbacks:
            services.service_transition(service=service, to="in-delivery", version=1)
        run = GeneratorRun.objects.get(service=service)
        assert (run.action, run.status, len(callbacks)) == ("provision", "queued", 1)
        assert callbacks[0].__name__ == "send_generator_run"
        callbacks[0]()
        run.refresh_from_db()
        service.refresh_from_db()
        assert (run.status, service.status) == ("succeeded", "active")

    def test_a_rolled_back_transition_sends_nothing(self, inventory, django_capture_on_commit_callbacks):
        service = order()
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            services.service_transition(service=service, to="in-delivery", version=1)
            transaction.set_rollback(True)
        assert callbacks == [] and not GeneratorRun.objects.exists()

    def test_decommissioning_sends_a_decommission_run(self, inventory):
        service = deliver()
        with committed():
            services.service_transition(service=service, to="in-decommissioning", version=service.version)
        service.refresh_from_db()
        assert (last_run(service).action, service.status) == ("decommission", "decommissioned")


class TestIdempotence:
    def test_a_redelivered_task_of_a_finished_run_does_nothing(self, inventory):
        service = deliver()
        run = last_run(service)
        result = execute_generator_run.apply(args=[run.pk], task_id=run.task_id)
        assert result.get() == {"run": run.pk, "status": "succeeded", "changes": len(run.changes)}
        again = GeneratorRun.objects.get(pk=run.pk)
        assert (again.attempts, again.finished_at, again.log) == (1, run.finished_at, run.log)
        assert GeneratorRun.objects.filter(service=service).count() == 1

    def test_a_run_left_running_by_a_dead_worker_runs_again(self, inventory, django_capture_on_commit_callbacks):
        service = order()
        with django_capture_on_commit_callbacks():  # not executed: the worker "dies"
            services.service_transition(service=service, to="in-delivery", version=1)
        run = GeneratorRun.objects.get(service=service)
        # What a killed worker leaves: the run marked running (its own transaction rolled back).
        GeneratorRun.objects.filter(pk=run.pk).update(status="running", attempts=1, started_at=timezone.now())
        cache.set(runs.log_key(run), ["Provision run, attempt 1.", "VLAN 1000 (vlan__DI-12345)."])
        execute_generator_run.apply(args=[run.pk], task_id=run.task_id)
        run.refresh_from_db()
        service.refresh_from_db()
        assert (run.status, run.attempts, service.status) == ("succeeded", 2, "active")
        assert run.log[:2] == ["Provision run, attempt 1.", "VLAN 1000 (vlan__DI-12345)."]
        assert "attempt 2" in run.log[2]
        assert cache.get(runs.log_key(run)) is None

    def test_a_duplicate_that_waited_for_the_lock_sees_the_run_finished(self, inventory):
        service = deliver()
        run = last_run(service)
        # A second delivery that marked the run running just before the first one finished.
        assert runs._start(run.pk, None) is None  # a finished run is never reopened


class TestRetries:
    def test_a_transient_error_retries_the_whole_run(self, inventory, monkeypatch):
        calls = []
        perform = runs._perform

        def flaky(run, service, run_log):
            calls.append(run.attempts)
            if len(calls) == 1:
                raise OperationalError("database is locked")
            return perform(run, service, run_log)

        monkeypatch.setattr(runs, "_perform", flaky)
        service = deliver()
        run = last_run(service)
        assert (calls, run.status, run.attempts, service.status) == ([1, 2], "succeeded", 2, "active")

    def test_retries_are_bounded_then_the_run_fails(self, inventory, monkeypatch):
        def down(run, service, run_log):
            raise InterfaceError("connection already closed")

        monkeypatch.setattr(runs, "_perform", down)
        service = deliver()
        run = last_run(service)
        assert (run.status, run.attempts, service.status) == ("failed", 6, "failed")
        assert run.error == "The task gave up after 5 retries: InterfaceError: connection already closed"
        assert run.log[-2:] == [f"Gave up: {run.error}", "Service in-delivery -> failed."]

    def test_a_generator_error_is_not_retried(self, inventory):
        from dcim.models import Interface

        Interface.objects.filter(role="customer").update(status="reserved")
        service = deliver()
        run = last_run(service)
        assert (run.status, run.attempts) == ("failed", 1)


class TestReconciliation:
    def test_the_scheduled_task_reconciles_active_services(self, inventory):
        first, second = deliver("DI-1"), deliver("DI-2")
        order("DI-3")  # draft: not reconciled
        queued = runs._new_run(second, "reconcile")  # already has a run coming: skipped
        with committed():
            ids = reconcile_services.apply().get()
        assert len(ids) == 1
        run = GeneratorRun.objects.get(pk=ids[0])
        assert (run.service, run.action, run.status, run.changes) == (first, "reconcile", "succeeded", [])
        assert GeneratorRun.objects.get(pk=queued.pk).status == "queued"

    def test_a_run_pending_for_too_long_does_not_block_reconciliation(self, inventory):
        service = deliver()
        stale = runs._new_run(service, "reconcile")  # its message was lost: it will never run
        GeneratorRun.objects.filter(pk=stale.pk).update(queued_at=timezone.now() - runs.PENDING_RUN_WAIT * 2)
        with committed():
            ids = reconcile_services.apply().get()
        assert [GeneratorRun.objects.get(pk=pk).status for pk in ids] == ["succeeded"]

    def test_only_the_services_asked_for(self, inventory):
        first, second = deliver("DI-1"), deliver("DI-2")
        with committed():
            ids = reconcile_services.apply(kwargs={"service_ids": [second.pk]}).get()
        assert [GeneratorRun.objects.get(pk=pk).service for pk in ids] == [second]
        assert first.pk not in GeneratorRun.objects.filter(action="reconcile").values_list("service", flat=True)

    def test_the_schedule_is_in_the_database(self, db):
        from django_celery_beat.models import PeriodicTask

        task = PeriodicTask.objects.get(task="services.reconcile_services")
        assert task.enabled and task.interval.every == 1 and task.interval.period == "hours"


# -- concurrency and live progress (a real second connection) -------------------------------------

@pytest.fixture
def toy(transactional_db, eager_tasks):
    return services.service_type_save(definition=TOY_TYPE)[0]


def toy_service(toy_type, identifier, script):
    service = order_service(service_type=toy_type, service_identifier=identifier, tenant=make_tenant(),
                            location=make_site(), attributes={"size": 1})
    Service.objects.filter(pk=service.pk).update(status="active")
    SCRIPTS[identifier] = script
    return service


def run_in_threads(run_ids):
    def target(run_id):
        try:
            runs.execute_run(run_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def timed(spans, name):
    def script(generator):
        start = time.monotonic()
        time.sleep(0.3)
        spans.append((name, start, time.monotonic()))
    return script


@pytest.mark.postgres
def test_runs_of_one_service_are_serialised_and_of_two_services_parallel(toy):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has a single writer: every run is serialised there")
    spans = []
    one = toy_service(toy, "TOY-A", timed(spans, "a"))
    two = toy_service(toy, "TOY-B", timed(spans, "b"))
    same = [runs._new_run(one, "reconcile").pk, runs._new_run(one, "reconcile").pk]
    run_in_threads(same)
    (_, start1, end1), (_, start2, end2) = sorted(spans, key=lambda span: span[1])
    assert start2 >= end1  # the second waited for the first's lock
    spans.clear()
    run_in_threads([runs._new_run(one, "reconcile").pk, runs._new_run(two, "reconcile").pk])
    (_, start1, end1), (_, start2, end2) = sorted(spans, key=lambda span: span[1])
    assert start2 < end1  # different services overlapped
    assert set(GeneratorRun.objects.values_list("status", flat=True)) == {"succeeded"}


def test_log_lines_are_visible_while_the_run_works(toy):
    seen = {}

    def watcher(run_id):
        # Another thread (another connection): the run row as others see it, its log from the cache.
        try:
            if connection.vendor == "postgresql":  # an in-memory SQLite test database is locked by the writer
                run = GeneratorRun.objects.get(pk=run_id)
                seen["status"] = run.status
            else:
                run = GeneratorRun(pk=run_id, status="running", task_id=seen["task_id"])
            seen["log"] = runs.live_log(run)
        finally:
            connection.close()

    def script(generator):
        generator.log("halfway there")
        thread = threading.Thread(target=watcher, args=(seen["run"],))
        thread.start()
        thread.join()

    service = toy_service(toy, "TOY-LOG", script)
    run = runs._new_run(service, "reconcile")
    seen.update(run=run.pk, task_id=run.task_id)
    run = runs.execute_run(run.pk)
    assert seen["log"][-1] == "halfway there"
    if connection.vendor == "postgresql":
        assert seen["status"] == "running"
    assert run.log[1] == "halfway there" and run.status == "succeeded"
    assert runs.live_log(run) == run.log  # once ended, from the row


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reruns_of_two_services_do_not_queue_on_pool_locks(eager_tasks, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has a single writer: every run is serialised there")
    from demo.inventory import load_inventory
    from services.generators.dedicated_internet import DedicatedInternetGenerator

    load_inventory()
    one, two = deliver("DI-1"), deliver("DI-2")
    assert one.status == two.status == "active"
    spans, documentation = [], DedicatedInternetGenerator.documentation

    def slow(self, **objects):
        start = time.monotonic()
        time.sleep(0.3)
        spans.append((start, time.monotonic()))
        return documentation(self, **objects)

    monkeypatch.setattr(DedicatedInternetGenerator, "documentation", slow)
    run_in_threads([runs._new_run(one, "reconcile").pk, runs._new_run(two, "reconcile").pk])
    (start1, end1), (start2, end2) = sorted(spans)
    assert start2 < end1  # both were past their allocations at once
    assert list(GeneratorRun.objects.filter(action="reconcile").values_list("status", "changes")) == [
        ("succeeded", []), ("succeeded", [])]
