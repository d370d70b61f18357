"""Generator runs through a real Celery worker on Redis (started by the test), on PostgreSQL.

- a Dedicated Internet service is delivered by the worker;
- the worker process executing a run is killed in the middle of it: the task is given back to the
  queue (``acks_late`` + ``reject_on_worker_lost``), delivered again, and the run finishes exactly once.

Skipped unless the database is PostgreSQL (the worker must reach the test database) and Redis answers
at ``WORKER_TEST_BROKER`` (default: Redis database 12 on localhost). Each worker consumes a queue of its
own, so that test processes running side by side (pytest-xdist, two checkouts) never take each other's tasks.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from catalog_site.celery import app as celery_app
from demo.inventory import load_inventory
from ipam.models import VLAN, L2Domain
from services import services
from services.generators import Generator
from services.models import GeneratorRun, LifecycleEvent

from .factories import make_site, make_tenant, order_service
from .generator_fixtures import order, port_of

BROKER = os.environ.get("WORKER_TEST_BROKER", "redis://127.0.0.1:6379/12")
BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class SlowGenerator(Generator):
    """Creates a VLAN, tells the test which process it runs in, then works for ``seconds``."""

    def generate(self):
        self.upsert(VLAN, {"l2domain": L2Domain.get_default(), "vid": 3999}, {"name": f"slow-{self.identifier}"},
                    role="vlan")
        Path(self.service.description).write_text(str(os.getpid()))
        time.sleep(self.attributes["seconds"])


def redis_or_skip():
    """A Redis client of the broker (or the test is skipped)."""
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot reach an SQLite test database")
    try:
        import redis

        client = redis.Redis.from_url(BROKER, socket_connect_timeout=1)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure to reach Redis skips the test
        pytest.skip(f"Redis is not reachable at {BROKER}: {exc}")
    return client


def reset_producers():
    # The app keeps its connection and producer pools (kombu's, per broker URL); forget them so that
    # the next send uses the broker configured now. They are not closed: kombu shares them by URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """A Celery worker (prefork, one child) on the test database and a queue of its own; this process sends there."""
    client = redis_or_skip()
    queue = f"test-worker-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CELERY_BROKER_URL", BROKER)  # Celery reads the variable before its configuration
    database = connection.settings_dict
    url = (f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
           f"{database['PORT'] or 5432}/{database['NAME']}")
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": BROKER, "DEBUG": "1",
           "DJANGO_SETTINGS_MODULE": "catalog_site.settings"}
    env.pop("REDIS_URL", None)
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "catalog_site", "worker", "-P", "prefork", "-c", "1", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info", "-n", f"test-{os.getpid()}@%h"],
        cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    saved = {name: celery_app.conf[name] for name in ("broker_url", "task_always_eager", "task_default_queue")}
    celery_app.conf.update(broker_url=BROKER, task_always_eager=False, task_default_queue=queue)
    reset_producers()
    try:
        wait_for(lambda: "ready." in log.read_text(), 60, lambda: log.read_text())
        yield log
    finally:
        celery_app.conf.update(**saved)
        reset_producers()
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        client.delete(queue)
        connection.close()  # the worker's sessions end with it; ours is reopened for the flush


def wait_for(condition, timeout, explain=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"Timed out after {timeout}s. {explain()}")


def test_a_worker_delivers_a_service(worker):
    load_inventory()
    service = order()
    services.service_transition(service=service, to="in-delivery", version=1)  # committed: the task is sent

    def delivered():
        service.refresh_from_db()
        return service.status != "in-delivery"

    wait_for(delivered, 60, worker.read_text)
    run = GeneratorRun.objects.get(service=service)
    assert (service.status, run.status, run.attempts) == ("active", "succeeded", 1), run.error
    assert run.task_id and len(run.changes) == 8
    assert (port_of(service).device.name, port_of(service).name) == ("sw01", "Ethernet4")


def test_a_killed_worker_process_is_replaced_and_the_run_finishes_once(worker, tmp_path):
    slow = services.service_type_save(definition={
        "slug": "slow", "name": "Slow", "generator": "tests.services.test_tasks_worker.SlowGenerator",
        "attributes": [{"name": "seconds", "kind": "integer", "modifier": "rw+"}],
    })[0]
    pid_file = tmp_path / "generator.pid"
    service = order_service(service_type=slow, service_identifier="SLOW-1", tenant=make_tenant(),
                            location=make_site(), attributes={"seconds": 3}, description=str(pid_file))
    services.service_transition(service=service, to="in-delivery", version=1)

    wait_for(pid_file.exists, 60, worker.read_text)
    run = GeneratorRun.objects.get(service=service)
    assert run.status == "running"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the pool process dies in the middle of the run
    pid_file.unlink()

    wait_for(lambda: GeneratorRun.objects.get(pk=run.pk).finished, 90, worker.read_text)
    run.refresh_from_db()
    service.refresh_from_db()
    assert (run.status, run.attempts, service.status) == ("succeeded", 2, "active"), (run.error, worker.read_text())
    assert pid_file.exists()  # the second delivery ran the generator again, in a new process
    assert list(VLAN.objects.filter(name="slow-SLOW-1").values_list("vid", flat=True)) == [3999]
    assert GeneratorRun.objects.filter(service=service).count() == 1
    assert list(LifecycleEvent.objects.filter(service=service).order_by("pk").values_list("to_status", flat=True)) \
        == ["draft", "in-delivery", "active"]
    assert [c["action"] for c in run.changes] == ["created"]
