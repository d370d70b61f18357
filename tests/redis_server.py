"""A Redis server of the test's own (never the shared one), that the test can stop and start again.

It listens on a free port of 127.0.0.1, keeps nothing on disk (a stop loses every message, as a
crash or a flush would), and is always stopped by the fixture that started it. Test modules import
the fixtures by their function names (``redis_server_fixture``, ``use_broker_fixture``).
"""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """``start()``, ``stop()``, ``url(db)`` and ``client()`` of one redis-server process."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)

    def start(self) -> None:
        log = (self.directory / "redis.log").open("a")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(name="redis_server")
def redis_server_fixture(tmp_path):
    """A started Redis of this test's own (skipped when redis-server is not installed)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def reset_producers(app) -> None:
    # The app keeps its connection and producer pools (kombu's, per broker URL); forget them so that
    # the next send uses the broker configured now. They are not closed: kombu shares them by URL.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(name="use_broker")
def use_broker_fixture(monkeypatch):
    """``use_broker(url)``: this process sends its Celery tasks to ``url`` (not eagerly) until the test ends.

    Celery reads ``CELERY_BROKER_URL`` from the environment before its configuration (CI sets it for
    the whole suite), so the variable is pointed at ``url`` too.
    """
    from catalog_site.celery import app

    names = ("broker_url", "task_always_eager", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}

    def use(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        app.conf.update(broker_url=url, task_always_eager=False, broker_transport_options={"socket_connect_timeout": 1})
        reset_producers(app)

    yield use
    monkeypatch.undo()
    app.conf.update(**saved)
    reset_producers(app)
