"""Database connections killed under a real web server (the Procfile's gunicorn), on PostgreSQL.

With persistent connections (``DATABASE_CONN_MAX_AGE``) every session of the web worker is killed
between two requests, as a database restart or a failover would:

- with the health checks on (the default), the next request succeeds: the dead connection is
  replaced before it is used;
- with them off, the next request answers a JSON 503 with ``Retry-After`` (never Django's HTML
  "Server Error (500)"), writes nothing, and the one after it succeeds.
"""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from catalog_site.models import Token
from tenancy.models import Tenant
from tests.redis_server import free_port

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def procfile_command(name: str) -> str:
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} process in the Procfile")


class WebServer:
    """The Procfile's ``web`` process on a free port and the test database; ``request()``: (status, headers, body)."""

    def __init__(self, log: Path, **env):
        database = connection.settings_dict
        url = (f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST'] or '127.0.0.1'}:"
               f"{database['PORT'] or 5432}/{database['NAME']}")
        self.port = free_port()
        self.env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
                    "PORT": str(self.port), "WEB_CONCURRENCY": "1", "DATABASE_URL": url, "DEBUG": "0",
                    "SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_SETTINGS_MODULE": "catalog_site.settings",
                    **env}
        for name in ("CELERY_BROKER_URL", "REDIS_URL"):
            self.env.pop(name, None)  # tasks would run eagerly; none are started here
        self.log = log
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen(["sh", "-c", "exec " + procfile_command("web")], cwd=BASE_DIR, env=self.env,
                                        stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/api/status/health/")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"gunicorn did not answer. {self.log.read_text()}")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def request(self, method: str, path: str, body=None, token: str = ""):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **({"Authorization": f"Token {token}"} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()


def kill_other_sessions() -> int:
    """Terminate every other session on the test database (the web worker's); how many there were."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def token(admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("the web server must reach the test database")
    return Token.issue(user=admin_user, description="web")[1]


def test_with_health_checks_the_next_request_succeeds(token, tmp_path):
    with WebServer(tmp_path / "web.log", DATABASE_CONN_MAX_AGE="600") as web:
        assert web.request("GET", "/api/tenancy/tenants/", token=token)[0] == 200
        assert kill_other_sessions() >= 1  # the web worker's persistent connection, at least
        status, headers, body = web.request("GET", "/api/tenancy/tenants/", token=token)
        assert status == 200, body
        assert kill_other_sessions() >= 1
        status, _, body = web.request("POST", "/api/tenancy/tenants/", {"name": "After", "slug": "after"}, token)
        assert status == 201, body
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["after"]


def test_without_health_checks_the_dead_connection_is_a_json_503_then_replaced(token, tmp_path):
    with WebServer(tmp_path / "web.log", DATABASE_CONN_MAX_AGE="600", DATABASE_CONN_HEALTH_CHECKS="0") as web:
        assert web.request("GET", "/api/tenancy/tenants/", token=token)[0] == 200
        assert kill_other_sessions() >= 1
        status, headers, body = web.request("POST", "/api/tenancy/tenants/", {"name": "Lost", "slug": "lost"}, token)
        assert (status, headers["Content-Type"], headers["Retry-After"]) == (503, "application/json", "5"), body
        assert json.loads(body) == {"detail": "The database is unavailable; please retry shortly."}
        assert headers["API-Version"]
        assert not Tenant.objects.exists()  # nothing written
        status, _, body = web.request("POST", "/api/tenancy/tenants/", {"name": "Lost", "slug": "lost"}, token)
        assert status == 201, body  # the broken connection was closed at the end of the failed request
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["lost"]
