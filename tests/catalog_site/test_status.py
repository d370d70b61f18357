"""``/api/status/``, ``/api/status/health/``, the ``API-Version`` header and database outages answered as JSON 503s.

The broker cases use a Redis of the test's own (``tests.redis_server``), or a port where nothing listens.
"""

import time

from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.test import APIClient

from catalog_site.models import Token
from services.models import GeneratorRun
from tenancy.models import Membership
from tests.redis_server import (
    free_port,
    redis_server_fixture,  # noqa: F401 - the fixture "redis_server"
    use_broker_fixture,  # noqa: F401 - the fixture "use_broker"
)
from tests.services.factories import make_service

STATUS, HEALTH = "/api/status/", "/api/status/health/"


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


def timed_get(client, url):
    start = time.monotonic()
    response = client.get(url)
    return response, time.monotonic() - start


class TestStatus:
    def test_with_no_broker_tasks_run_eagerly(self, api, use_broker, db):
        from catalog_site.celery import app

        app.conf.task_always_eager = True  # as with no CELERY_BROKER_URL (CI sets one for the whole suite)
        response = api.get(STATUS)
        assert response.status_code == 200
        body = response.json()
        assert body["catalog_version"] == settings.CATALOG_VERSION
        assert body["django_version"] and body["python_version"]
        assert body["database"]["status"] == "ok" and body["database"]["latency_ms"] >= 0
        assert body["broker"] == {"status": "eager"}
        assert body["workers"] == {"status": "eager", "count": None}
        assert body["runs"] == {"queued": 0, "running": 0, "oldest_queued_seconds": None}

    def test_an_unreachable_broker_is_said_fast(self, api, use_broker, db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        response, seconds = timed_get(api, STATUS)
        assert response.status_code == 200
        body = response.json()
        assert body["broker"]["status"] == "unreachable" and "111" in body["broker"]["error"]  # refused
        assert body["workers"] == {"status": "unknown", "count": None}
        assert body["database"]["status"] == "ok"
        assert seconds < 2, seconds

    def test_a_reachable_broker_without_workers(self, api, use_broker, redis_server, db):
        use_broker(redis_server.url())
        response, seconds = timed_get(api, STATUS)
        body = response.json()
        assert body["broker"]["status"] == "ok" and body["broker"]["latency_ms"] >= 0
        assert body["workers"] == {"status": "none", "count": 0, "names": []}
        assert seconds < 2.5, seconds  # the ping waits its whole timeout (1 s) for answers

    def test_pending_runs_are_those_the_caller_sees(self, api, django_user_model, db):
        mine, theirs = make_service("in-delivery"), make_service("in-delivery")
        old = GeneratorRun.objects.create(service=mine, action="provision", task_id="a")
        GeneratorRun.objects.filter(pk=old.pk).update(queued_at=old.queued_at.replace(year=old.queued_at.year - 1))
        GeneratorRun.objects.create(service=mine, action="provision", task_id="b", status="running")
        GeneratorRun.objects.create(service=theirs, action="provision", task_id="c")
        GeneratorRun.objects.create(service=theirs, action="provision", task_id="d", status="succeeded")

        runs = api.get(STATUS).json()["runs"]  # a superuser sees all
        assert (runs["queued"], runs["running"]) == (2, 1) and runs["oldest_queued_seconds"] > 364 * 86400

        user = django_user_model.objects.create_user("member")
        Membership.objects.create(user=user, tenant=theirs.tenant, role=Membership.Role.VIEWER)
        body = client_of(user).get(STATUS).json()
        assert (body["runs"]["queued"], body["runs"]["running"]) == (1, 0)
        assert body["runs"]["oldest_queued_seconds"] < 60

    def test_error_details_are_for_staff_only(self, django_user_model, use_broker, db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")
        user = django_user_model.objects.create_user("member")
        body = client_of(user).get(STATUS).json()
        assert body["broker"] == {"status": "unreachable"}

    def test_status_needs_authentication(self, anonymous_api, db):
        assert anonymous_api.get(STATUS).status_code in (401, 403)


class TestHealth:
    def test_answers_without_authentication(self, anonymous_api, db):
        response = anonymous_api.get(HEALTH)
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    def test_a_bad_token_does_not_matter(self, db):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
        assert client.get(HEALTH).status_code == 200

    def test_the_broker_does_not_matter(self, anonymous_api, use_broker, db):
        use_broker(f"redis://127.0.0.1:{free_port()}/0")
        assert anonymous_api.get(HEALTH).status_code == 200

    def test_a_database_that_does_not_answer_is_a_503(self, anonymous_api, db):
        with connection.execute_wrapper(refuse_queries):
            response = anonymous_api.get(HEALTH)
        assert (response.status_code, response.json()) == (503, {"status": "unavailable"})
        assert response["Retry-After"] == "5"


def test_every_api_response_carries_the_api_version(api, anonymous_api, db):
    assert ".".join(settings.NETBOX_VERSION.split(".")[:2]) == settings.API_VERSION  # what NetBox clients compare
    for client, url in [(api, "/api/"), (api, "/api/dcim/devices/"), (api, "/api/dcim/devices/999999/"),
                        (anonymous_api, "/api/dcim/devices/"), (anonymous_api, HEALTH), (api, "/api/nowhere/")]:
        response = client.get(url)
        assert response["API-Version"] == settings.API_VERSION, (url, response.status_code)
    assert "API-Version" not in Client().get("/admin/login/")


# -- database outages -------------------------------------------------------------------------------

def refuse_queries(execute, sql, params, many, context):
    raise OperationalError("server closed the connection unexpectedly")


def test_a_database_error_in_an_api_view_is_a_json_503(api, db):
    api.get("/api/dcim/devices/")  # authenticated once; the failure comes with the next request
    with connection.execute_wrapper(refuse_queries):
        response = api.get("/api/dcim/devices/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The database is unavailable; please retry shortly."}
    assert response["Retry-After"] == "5" and response["API-Version"] == settings.API_VERSION


def plain_view(request):
    raise OperationalError("the database went away")


def plain_crash(request):
    raise ValueError("a bug")


class FailingMiddleware:
    """Fails on the database after the view, as a session save would."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        self.get_response(request)
        raise OperationalError("the database went away")


urlpatterns = [path("api/plain/", plain_view), path("api/crash/", plain_crash), path("", include("catalog_site.urls"))]
handler500 = "catalog_site.middleware.server_error"


@override_settings(ROOT_URLCONF=__name__)
def test_a_database_error_outside_drf_is_a_json_503(db):
    response = Client(raise_request_exception=False).get("/api/plain/")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.json()["detail"].startswith("The database is unavailable")


def test_a_database_error_in_a_middleware_is_a_json_503_under_api_only(db, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailingMiddleware"]
    client = Client(raise_request_exception=False)
    response = client.get(HEALTH)
    assert (response.status_code, response["Retry-After"], response["API-Version"]) == (503, "5", settings.API_VERSION)
    assert response.json()["detail"].startswith("The database is unavailable")
    page = client.get("/admin/login/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_another_error_under_api_is_a_json_500(db):
    with override_settings(ROOT_URLCONF=__name__):
        response = Client(raise_request_exception=False).get("/api/crash/")
    assert (response.status_code, response.json()) == (500, {"detail": "Server error."})
