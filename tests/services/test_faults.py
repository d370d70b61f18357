"""Faults around generator runs: a broker that is down or flushed, deliveries twice over, a database
connection killed under a run, a committed write whose answer cannot be read back, stuck services retried.

The first part runs on both databases, with eager tasks or with the broker pointed at a port where
nothing listens. The second part (PostgreSQL only: a worker process must reach the test database)
runs a real Celery worker, with celery beat embedded, on a Redis of the test's own that the test
stops, starts and flushes (``tests.redis_server``; the shared Redis is never touched).
"""

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.test import APIClient

from catalog_site.celery import app as celery_app
from catalog_site.locks import session_lock
from catalog_site.models import Token
from ipam.models import VLAN, L2Domain
from services import runs, services, tasks
from services.generators import Generator
from services.models import GeneratorRun, Service
from services.tasks import execute_generator_run, resend_lost_runs
from tenancy.models import Membership
from tests.redis_server import (
    free_port,
    redis_server_fixture,  # noqa: F401 - the fixture "redis_server"
    use_broker_fixture,  # noqa: F401 - the fixture "use_broker"
)

from .factories import make_service, make_site, make_tenant, order_service, served
from .generator_fixtures import committed, eager_tasks_fixture  # noqa: F401 - the fixture "eager_tasks"

BASE_DIR = Path(__file__).resolve().parents[2]
SERVICES = "/api/services/services/"


class FaultyGenerator(Generator):
    """Creates VLAN ``vid``; appends its process id to ``<description>/<identifier>.runs`` each time it
    executes; with ``kill_connection``, its first execution kills its own database connection; then
    works for ``seconds``."""

    def generate(self):
        workdir = Path(self.service.description)
        with (workdir / f"{self.identifier}.runs").open("a") as executions:
            executions.write(f"{os.getpid()}\n")
        killed = workdir / f"{self.identifier}.killed"
        if self.attributes.get("kill_connection") and not killed.exists():
            killed.touch()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        self.upsert(VLAN, {"l2domain": L2Domain.get_default(), "vid": self.attributes["vid"]},
                    {"name": f"faulty-{self.identifier}"}, role="vlan")
        time.sleep(self.attributes.get("seconds") or 0)


FAULTY_TYPE = {
    "slug": "faulty", "name": "Faulty", "generator": "tests.services.test_faults.FaultyGenerator",
    "attributes": [
        {"name": "vid", "kind": "integer", "modifier": "rw+"},
        {"name": "seconds", "kind": "integer", "modifier": "rw+"},
        {"name": "kill_connection", "kind": "boolean", "modifier": "rw+"},
    ],
}


def faulty_type():
    return services.service_type_save(definition=FAULTY_TYPE)[0]


def faulty_service(workdir: Path, vid: int, **attributes) -> Service:
    return order_service(service_type=faulty_type(), service_identifier=f"FAULTY-{vid}",
                         tenant=make_tenant(), location=make_site(), description=str(workdir),
                         attributes={"vid": vid, **attributes})


def executions(service: Service) -> int:
    """How many times the generator of ``service`` has executed (rolled back or not)."""
    path = Path(service.description) / f"{service.service_identifier}.runs"
    return len(path.read_text().split()) if path.exists() else 0


def transition_url(service):
    return f"{SERVICES}{service.pk}/transition/"


def wait_for(condition, timeout, explain=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout}s. {explain()}")


# == both databases =================================================================================

class TestBrokerDown:
    """The broker refuses every connection: the API still answers, the runs wait queued."""

    def test_ordering_and_delivering_answer_with_the_run_queued(self, api, use_broker, tmp_path, caplog, db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        tenant, site = served(faulty_type())
        base = {"service_type": faulty_type().pk, "tenant": tenant.pk, "location": site.pk}
        response = api.post(SERVICES, {**base, "service_identifier": "FAULTY-1", "description": str(tmp_path),
                                       "attributes": {"vid": 3901}}, format="json")
        assert response.status_code == 201, response.data
        service = Service.objects.get(pk=response.data["id"])

        start = time.monotonic()
        with caplog.at_level(logging.ERROR, logger="services.runs"), committed():  # sent on commit: refused
            response = api.post(transition_url(service), {"to": "in-delivery", "version": 1}, format="json")
        assert time.monotonic() - start < 5
        assert (response.status_code, response.data["status"]) == (200, "in-delivery")
        run = GeneratorRun.objects.get(service=service)
        assert (run.action, run.status, run.attempts) == ("provision", "queued", 0)
        assert f"Generator run {run.pk} stays queued, its task was not sent" in caplog.text
        assert executions(service) == 0

    def test_the_sweep_sends_nothing_while_the_broker_is_down(self, use_broker, tmp_path, db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")
        service = faulty_service(tmp_path, 3902)
        run = GeneratorRun.objects.create(service=service, action="provision", task_id="t")
        GeneratorRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
        assert runs.resend_queued_runs(older_than=timedelta(seconds=20)) == []  # logged, still queued
        assert GeneratorRun.objects.get(pk=run.pk).status == "queued"


class TestSweep:
    def test_it_resends_the_queued_runs_that_waited_too_long(self, monkeypatch, tmp_path, db):
        sent = []
        monkeypatch.setattr(runs, "send", lambda run_id, task_id: sent.append((run_id, task_id)) or True)
        service = faulty_service(tmp_path, 3903)
        long_ago = timezone.now() - timedelta(seconds=60)

        def run(status="queued", action="provision", queued_at=long_ago):
            created = GeneratorRun.objects.create(service=service, action=action, status=status,
                                                  task_id=f"task-{len(GeneratorRun.objects.all())}")
            GeneratorRun.objects.filter(pk=created.pk).update(queued_at=queued_at)
            return created

        stale, older = run(), run(queued_at=long_ago - timedelta(hours=1))
        run(queued_at=timezone.now())  # just queued: its message may well be on its way
        run(status="running"), run(status="succeeded"), run(status="failed")
        run(action="plan")  # plans are computed in the caller, never sent
        resent = runs.resend_queued_runs(older_than=timedelta(seconds=20))
        assert [r.pk for r in resent] == [stale.pk, older.pk]
        assert sent == [(stale.pk, stale.task_id), (older.pk, older.task_id)]  # the same task id again

    def test_the_task_waits_while_messages_wait_in_the_queue(self, monkeypatch, tmp_path, settings, db):
        settings.RUN_RESEND_AFTER = 20
        sent = []
        monkeypatch.setattr(runs, "send", lambda run_id, task_id: sent.append(run_id) or True)
        service = faulty_service(tmp_path, 3904)
        stale = GeneratorRun.objects.create(service=service, action="provision", task_id="t")
        GeneratorRun.objects.filter(pk=stale.pk).update(queued_at=timezone.now() - timedelta(seconds=21))
        monkeypatch.setattr(tasks, "waiting_messages", lambda task: 3)  # a backlog: the run is behind it
        assert resend_lost_runs() == [] and sent == []
        monkeypatch.setattr(tasks, "waiting_messages", lambda task: None)  # cannot tell: send
        assert resend_lost_runs() == [stale.pk]
        monkeypatch.setattr(tasks, "waiting_messages", lambda task: 0)
        assert resend_lost_runs() == [stale.pk] and sent == [stale.pk, stale.pk]

    def test_waiting_messages_counts_the_run_queue(self, use_broker, redis_server, tmp_path, db):
        use_broker(redis_server.url())
        assert tasks.waiting_messages(execute_generator_run) == 0  # Redis has no such list yet
        service = faulty_service(tmp_path, 3905)
        for n in range(2):
            assert runs.send(GeneratorRun.objects.create(service=service, action="provision", task_id=f"t{n}").pk,
                             f"t{n}")
        assert tasks.waiting_messages(execute_generator_run) == 2

    def test_waiting_messages_of_an_unreachable_broker_are_unknown(self, use_broker, db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")
        start = time.monotonic()
        assert tasks.waiting_messages(execute_generator_run) is None
        assert time.monotonic() - start < 5

    def test_the_schedule_is_in_the_database(self, db):
        task = PeriodicTask.objects.get(task="services.resend_lost_runs")
        assert task.enabled and (task.interval.every, task.interval.period) == (30, "seconds")
        assert "services.resend_lost_runs" in celery_app.tasks


class TestDeliveredTwice:
    def test_a_run_sent_twice_executes_once(self, eager_tasks, tmp_path, db):
        service = faulty_service(tmp_path, 3906)
        Service.objects.filter(pk=service.pk).update(status="in-delivery")
        run = GeneratorRun.objects.create(service=service, action="provision", task_id="t")
        for _ in range(2):
            execute_generator_run.apply(args=[run.pk], task_id=run.task_id)
        run.refresh_from_db()
        assert (run.status, run.attempts, executions(service)) == ("succeeded", 1, 1)

    @pytest.mark.postgres
    def test_a_delivery_finding_the_run_at_work_does_nothing(self, tmp_path, transactional_db):
        if connection.vendor != "postgresql":
            pytest.skip("SQLite has a single writer: deliveries cannot overlap")
        service = faulty_service(tmp_path, 3907)
        Service.objects.filter(pk=service.pk).update(status="in-delivery")
        run = GeneratorRun.objects.create(service=service, action="provision", task_id="t")
        holding, release = threading.Event(), threading.Event()

        def first_delivery():  # holds the run's lock, as a worker executing it does
            try:
                with session_lock(f"services:generator-run:{run.pk}") as acquired:
                    assert acquired
                    holding.set()
                    release.wait(10)
            finally:
                connections.close_all()

        thread = threading.Thread(target=first_delivery)
        thread.start()
        try:
            assert holding.wait(10)
            second = runs.execute_run(run.pk)
            assert (second.status, second.attempts, executions(service)) == ("queued", 0, 0)
        finally:
            release.set()
            thread.join()
        assert runs.execute_run(run.pk).status == "succeeded"  # the lock is free again
        assert executions(service) == 1


class TestRetry:
    """A service stuck in in-delivery or in-decommissioning (its run never started) is retried by staff."""

    def stuck(self, tmp_path, status="in-delivery", vid=3910) -> tuple[Service, GeneratorRun]:
        service = faulty_service(tmp_path, vid)
        Service.objects.filter(pk=service.pk).update(status=status)
        action = runs.WORKING_ACTIONS[status]
        lost = GeneratorRun.objects.create(service=service, action=action, task_id="lost")  # never executed
        service.refresh_from_db()
        return service, lost

    def test_the_api_queues_the_run_again(self, api, eager_tasks, tmp_path, db):
        service, lost = self.stuck(tmp_path)
        with committed():
            response = api.post(f"{SERVICES}{service.pk}/retry/")
        assert response.status_code == 202, response.data
        assert (response.data["action"], response.data["status"]) == ("provision", "queued")
        retried = GeneratorRun.objects.get(pk=response.data["id"])
        assert retried.pk != lost.pk and retried.status == "succeeded"  # executed on commit (eager)
        service.refresh_from_db()
        assert service.status == "active" and executions(service) == 1
        # The lost message turns up after all: its run finds the service delivered and does nothing.
        runs.execute_run(lost.pk)
        lost.refresh_from_db()
        assert (lost.status, lost.changes, executions(service)) == ("succeeded", [], 1)
        assert "Nothing to do" in lost.log[-1]

    def test_a_decommissioning_is_retried_as_a_decommission(self, api, eager_tasks, tmp_path, db):
        service, _ = self.stuck(tmp_path, "in-decommissioning", vid=3911)
        with committed():
            response = api.post(f"{SERVICES}{service.pk}/retry/")
        assert (response.status_code, response.data["action"]) == (202, "decommission")
        service.refresh_from_db()
        assert service.status == "decommissioned"

    @pytest.mark.parametrize("status", ["draft", "active", "failed", "decommissioned"])
    def test_another_status_is_a_409(self, api, tmp_path, status, db):
        service = faulty_service(tmp_path, 3912)
        Service.objects.filter(pk=service.pk).update(status=status)
        response = api.post(f"{SERVICES}{service.pk}/retry/")
        assert response.status_code == 409
        assert "in-decommissioning or in-delivery (or failed while being deleted) can be retried" in \
            response.data["detail"]
        assert not GeneratorRun.objects.filter(service=service).exists()

    def test_it_needs_the_editor_role(self, django_user_model, tmp_path, db):
        service, _ = self.stuck(tmp_path)
        user = django_user_model.objects.create_user("viewer")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
        assert client.post(f"{SERVICES}{service.pk}/retry/").status_code == 404  # hidden
        Membership.objects.create(user=user, tenant=service.tenant, role=Membership.Role.VIEWER)
        assert client.post(f"{SERVICES}{service.pk}/retry/").status_code == 403
        assert GeneratorRun.objects.filter(service=service).count() == 1

    def test_the_admin_button(self, admin_client, eager_tasks, tmp_path, db):
        service, _ = self.stuck(tmp_path)
        page = admin_client.get(f"/admin/services/service/{service.pk}/change/").content.decode()
        assert f'action="/admin/services/service/{service.pk}/retry/"' in page
        assert 'data-generator-action="retry"' in page
        with committed():
            response = admin_client.post(f"/admin/services/service/{service.pk}/retry/", follow=True)
        assert response.status_code == 200
        assert [str(m) for m in response.context["messages"]] == [
            f"Provision run #{GeneratorRun.objects.filter(service=service).latest('pk').pk} of {service}: queued."]
        service.refresh_from_db()
        assert service.status == "active"
        page = admin_client.get(f"/admin/services/service/{service.pk}/change/").content.decode()
        assert 'data-generator-action="retry"' not in page  # active: nothing to retry
        assert admin_client.get(f"/admin/services/service/{service.pk}/retry/").status_code == 405


class TestCommittedWrites:
    """A write that has committed answers what it did, even when the read that follows the commit fails."""

    @staticmethod
    def fail_after_commit(marker: str):
        """An execute wrapper: once ``marker`` has been written, every query outside a transaction fails."""
        state = {"written": False}

        def wrapper(execute, sql, params, many, context):
            if state["written"] and not context["connection"].in_atomic_block:
                raise OperationalError("server closed the connection unexpectedly")
            result = execute(sql, params, many, context)
            state["written"] = state["written"] or marker in sql
            return result
        return wrapper

    def test_a_transition_answers_what_it_committed(self, api, use_broker, transactional_db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")  # the provision run is not sent: nothing else happens
        service = make_service("draft")
        with connection.execute_wrapper(self.fail_after_commit('INSERT INTO "services_lifecycleevent"')):
            response = api.post(transition_url(service), {"to": "in-delivery", "version": 1}, format="json")
        assert response.status_code == 200, response.data
        assert (response.data["status"], response.data["version"]) == ("in-delivery", 2)
        service.refresh_from_db()
        assert (service.status, service.version) == ("in-delivery", 2)  # committed

    def test_a_retry_answers_the_run_it_queued(self, api, use_broker, tmp_path, transactional_db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")  # not sent: the run stays queued
        service = faulty_service(tmp_path, 3913)
        Service.objects.filter(pk=service.pk).update(status="in-delivery")
        with connection.execute_wrapper(self.fail_after_commit('INSERT INTO "services_generatorrun"')):
            response = api.post(f"{SERVICES}{service.pk}/retry/")
        assert (response.status_code, response.data["status"]) == (202, "queued")
        assert GeneratorRun.objects.get(service=service).pk == response.data["id"]


# == PostgreSQL, a real worker on a Redis of the test's own ========================================

class Worker:
    """A Celery worker process (prefork) on the test database and ``broker``, optionally with beat embedded."""

    def __init__(self, broker: str, log: Path, *, beat: bool = False, concurrency: int = 1, env: dict | None = None):
        self.broker, self.log, self.beat, self.concurrency = broker, log, beat, concurrency
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        database = connection.settings_dict
        url = (f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
               f"{database['PORT'] or 5432}/{database['NAME']}")
        env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": self.broker, "DEBUG": "1",
               "DJANGO_SETTINGS_MODULE": "catalog_site.settings", **self.env}
        env.pop("REDIS_URL", None)
        command = [sys.executable, "-m", "celery", "-A", "catalog_site", "worker", "-P", "prefork",
                   "-c", str(self.concurrency), "--without-gossip", "--without-mingle", "-l", "info",
                   "-n", f"faults-{os.getpid()}@%h"]
        if self.beat:
            command += ["-B", "-s", str(self.log.parent / "beat-schedule")]
        # A session of its own: the worker, its pool and its beat process are stopped together.
        self.process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=self.log.open("a"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: "ready." in self.log.read_text(), 60, self.log.read_text)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self.process = None


@pytest.fixture
def worker_setup(redis_server, use_broker, tmp_path, transactional_db):
    """(redis_server, start_worker(**options)): this process sends to the test's Redis; workers stop at the end."""
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot reach an SQLite test database")
    use_broker(redis_server.url())
    started = []

    def start_worker(**options) -> Worker:
        started.append(Worker(redis_server.url(), tmp_path / "worker.log", **options).start())
        return started[-1]

    try:
        yield redis_server, start_worker
    finally:
        for worker in started:
            worker.stop()
        connections.close_all()  # the worker's sessions end with it; ours is reopened for the flush


def sweep_every(seconds: int) -> None:
    """Only the sweep is scheduled, every ``seconds`` (30 in production: shortened for the test)."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
    PeriodicTask.objects.update(enabled=False)
    PeriodicTask.objects.update_or_create(name="Send lost generator runs again",
                                          defaults={"task": "services.resend_lost_runs", "interval": interval,
                                                    "enabled": True})


def explain(log: Path):
    return lambda: log.read_text()[-5000:]


@pytest.mark.postgres
def test_runs_ordered_while_redis_is_down_execute_once_when_it_is_back(worker_setup, api, tmp_path):
    redis_server, start_worker = worker_setup
    sweep_every(5)
    worker = start_worker(beat=True, env={"RUN_RESEND_AFTER": "2"})
    ordered = [faulty_service(tmp_path, 3920 + n) for n in range(3)]

    redis_server.stop()
    for service in ordered:
        start = time.monotonic()
        response = api.post(transition_url(service), {"to": "in-delivery", "version": 1}, format="json")
        assert (response.status_code, response.data["status"]) == (200, "in-delivery")
        assert time.monotonic() - start < 5
    assert set(GeneratorRun.objects.values_list("status", flat=True)) == {"queued"}
    start = time.monotonic()
    status = api.get("/api/status/").json()
    assert time.monotonic() - start < 2.5
    assert (status["broker"]["status"], status["workers"]["status"]) == ("unreachable", "unknown")
    assert status["runs"]["queued"] == 3

    redis_server.start()  # empty: every message sent before the outage is gone too
    back = time.monotonic()

    def delivered():
        return all(Service.objects.get(pk=s.pk).status == "active" for s in ordered)

    done = wait_for(delivered, 60, explain(worker.log))
    print(f"\nall 3 runs executed {done - back:.1f}s after Redis came back (sweep every 5 s, resend after 2 s)")
    for service in ordered:
        run = GeneratorRun.objects.get(service=service)
        assert (run.status, run.attempts, executions(service)) == ("succeeded", 1, 1), worker.log.read_text()
    assert VLAN.objects.filter(name__startswith="faulty-FAULTY-392").count() == 3
    status = api.get("/api/status/").json()
    assert (status["broker"]["status"], status["workers"]["count"], status["runs"]["queued"]) == ("ok", 1, 0)


@pytest.mark.postgres
def test_runs_whose_messages_were_flushed_are_sent_again(worker_setup, tmp_path):
    redis_server, start_worker = worker_setup
    sweep_every(5)
    ordered = [faulty_service(tmp_path, 3930 + n) for n in range(2)]
    for service in ordered:
        services.service_transition(service=service, to="in-delivery", version=1)  # sent: no worker yet
    assert tasks.waiting_messages(execute_generator_run) == 2
    redis_server.client().flushall()

    worker = start_worker(beat=True, env={"RUN_RESEND_AFTER": "2"})
    wait_for(lambda: all(Service.objects.get(pk=s.pk).status == "active" for s in ordered), 60, explain(worker.log))
    for service in ordered:
        run = GeneratorRun.objects.get(service=service)
        assert (run.status, run.attempts, executions(service)) == ("succeeded", 1, 1)


@pytest.mark.postgres
def test_two_deliveries_at_once_execute_the_run_once(worker_setup, tmp_path):
    redis_server, start_worker = worker_setup
    service = faulty_service(tmp_path, 3940, seconds=2)
    services.service_transition(service=service, to="in-delivery", version=1)
    run = GeneratorRun.objects.get(service=service)
    assert runs.send(run.pk, run.task_id)  # the sweep's copy, say, while the first still waits
    assert tasks.waiting_messages(execute_generator_run) == 2

    worker = start_worker(concurrency=2)  # both deliveries start together, in two processes
    wait_for(lambda: GeneratorRun.objects.get(pk=run.pk).finished, 60, explain(worker.log))
    wait_for(lambda: worker.log.read_text().count("succeeded in") == 2, 30, explain(worker.log))
    run.refresh_from_db()
    assert (run.status, run.attempts, executions(service)) == ("succeeded", 1, 1), worker.log.read_text()
    # The second delivery found the run's lock taken (the run still queued or running) and did nothing.
    answers = sorted(re.findall(r"'status': '(\w+)'", worker.log.read_text()))
    assert answers in (["queued", "succeeded"], ["running", "succeeded"]), worker.log.read_text()


@pytest.mark.postgres
def test_a_connection_killed_under_a_run_is_retried_and_the_next_task_reconnects(worker_setup, tmp_path):
    redis_server, start_worker = worker_setup
    worker = start_worker(env={"DATABASE_CONN_MAX_AGE": "600"})
    service = faulty_service(tmp_path, 3950, kill_connection=True)
    services.service_transition(service=service, to="in-delivery", version=1)

    wait_for(lambda: GeneratorRun.objects.get(service=service).finished, 60, explain(worker.log))
    run = GeneratorRun.objects.get(service=service)
    service.refresh_from_db()
    assert (run.status, run.attempts, service.status) == ("succeeded", 2, "active"), (run.error, run.log)
    assert executions(service) == 2 and "Retry in" in worker.log.read_text()
    assert VLAN.objects.filter(name="faulty-FAULTY-3950").count() == 1  # the first attempt left nothing

    with connection.cursor() as cursor:  # every other session on the test database: the worker's
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    other = faulty_service(tmp_path, 3951)
    services.service_transition(service=other, to="in-delivery", version=1)
    wait_for(lambda: GeneratorRun.objects.get(service=other).finished, 60, explain(worker.log))
    run = GeneratorRun.objects.get(service=other)
    assert (run.status, run.attempts) == ("succeeded", 1), (run.error, worker.log.read_text())
