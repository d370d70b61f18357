"""``/api/status/`` (as NetBox's: what runs, and is it healthy) and ``/api/status/health/`` for load balancers.

- ``/api/status/``: authenticated like the rest of the API. NetBox's keys, for NetBox clients
  (``netbox-version``: the NetBox release whose API the catalog follows, ``settings.NETBOX_VERSION``;
  ``django-version``, ``python-version``, ``installed-apps``, ``plugins`` (none), ``rq-workers-running``:
  the Celery workers answering, 0 when none or no broker); then the catalog's own: its version
  (``catalog_version``, the one to compare with the catalog's releases); the database (answers, and
  how fast); the Celery broker (reachable, or ``eager`` when none is configured: tasks then run in
  the web process); the workers answering a ping; and sections that apps add (the services app:
  pending generator runs, counted among those the caller may see). Every check has a timeout of
  about a second, so the page answers even when Redis is away. Error details (host names, ports)
  are shown to staff only.
- ``/api/status/health/``: no authentication, a minimal answer: 200 when this process can serve
  requests (its database answers), 503 otherwise. The broker is left out on purpose: without it the
  API still answers (runs wait queued and are sent again when it is back), so a broker outage must
  not take every web machine out of the load balancer.
"""

import platform
import time
from importlib import metadata

import django
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog_site import access
from catalog_site.celery import app as celery_app
from catalog_site.middleware import RETRY_AFTER_SECONDS

CHECK_TIMEOUT = 1.0  # seconds, for the broker connection and the workers' ping each


class ComponentSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="ok, error (the database), unreachable (the broker), eager (no broker).")
    latency_ms = serializers.FloatField(required=False, help_text="How long the check took.")
    error = serializers.CharField(required=False, help_text="Why it failed (staff only).")


class WorkersSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="ok, none (no worker answered the ping), eager (no broker), unknown (the broker is unreachable).")
    count = serializers.IntegerField(allow_null=True)
    names = serializers.ListField(child=serializers.CharField(), required=False, help_text="Staff only.")


class RunsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    oldest_queued_seconds = serializers.FloatField(allow_null=True)


class NetBoxStatusSerializer(serializers.Serializer):
    """The keys of NetBox's ``/api/status/`` (hyphenated: named in ``get_fields``), then the declared ones."""

    def get_fields(self):
        netbox = {
            "netbox-version": serializers.CharField(
                help_text="The NetBox release whose REST API the catalog follows (see catalog_version for its own)."),
            "django-version": serializers.CharField(),
            "installed-apps": serializers.DictField(child=serializers.CharField(),
                                                    help_text="The version of each installed Django app that has one."),
            "python-version": serializers.CharField(),
            "plugins": serializers.DictField(child=serializers.CharField(), help_text="NetBox plugins: none."),
            "rq-workers-running": serializers.IntegerField(
                help_text="The Celery workers answering a ping (0 when none does, or with no broker)."),
        }
        return {**netbox, **super().get_fields()}


class StatusSerializer(NetBoxStatusSerializer):
    catalog_version = serializers.CharField()
    django_version = serializers.CharField()
    python_version = serializers.CharField()
    database = ComponentSerializer()
    broker = ComponentSerializer()
    workers = WorkersSerializer()
    runs = RunsSerializer(required=False, help_text="Pending generator runs among those the caller may see.")


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="ok, or unavailable (the database does not answer).")


def _elapsed_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


def database_status() -> dict:
    start = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"status": "error", "error": str(exc).strip()}
    return {"status": "ok", "latency_ms": _elapsed_ms(start)}


def broker_status() -> dict:
    if celery_app.conf.task_always_eager:
        return {"status": "eager"}
    start = time.monotonic()
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - whatever the transport raises, the broker is not reachable
        return {"status": "unreachable", "error": str(exc)}
    return {"status": "ok", "latency_ms": _elapsed_ms(start)}


def workers_status(broker: dict) -> dict:
    if broker["status"] == "eager":
        return {"status": "eager", "count": None}
    if broker["status"] != "ok":
        return {"status": "unknown", "count": None}
    try:
        replies = celery_app.control.inspect(timeout=CHECK_TIMEOUT).ping() or {}
    except Exception:  # noqa: BLE001 - the broker went away between the two checks
        return {"status": "unknown", "count": None}
    return {"status": "ok" if replies else "none", "count": len(replies), "names": sorted(replies)}


def installed_apps() -> dict[str, str]:
    """The version of each installed app that says it, by app name (as NetBox's status lists them)."""
    found = {}
    for config in apps.get_app_configs():
        version = getattr(config.module, "__version__", None) or getattr(config.module, "VERSION", None)
        if version is None:
            try:
                version = metadata.version(config.module.__name__.split(".")[0])
            except metadata.PackageNotFoundError:
                continue
        found[config.name] = ".".join(map(str, version)) if isinstance(version, tuple) else str(version)
    return dict(sorted(found.items()))


class StatusView(APIView):
    """What runs and how it is: versions, database, broker, workers, pending runs (see the module docstring)."""

    # Sections added by apps (name -> function of the caller's ``access.Access``), given by the URL conf.
    sections: dict = {}

    @extend_schema(responses=StatusSerializer)
    def get(self, request):
        staff = request.user.is_staff
        database, broker = database_status(), broker_status()
        workers = workers_status(broker)
        body = {
            "netbox-version": settings.NETBOX_VERSION,
            "django-version": django.get_version(),
            "installed-apps": installed_apps(),
            "python-version": platform.python_version(),
            "plugins": {},
            "rq-workers-running": workers["count"] or 0,
            "catalog_version": settings.CATALOG_VERSION,
            "django_version": django.get_version(),
            "python_version": platform.python_version(),
            "database": database,
            "broker": broker,
            "workers": workers,
        }
        if not staff:
            for component in (database, broker):
                component.pop("error", None)
            body["workers"].pop("names", None)
        rights = access.for_request(request)
        body.update({name: section(rights) for name, section in self.sections.items()})
        return Response(body)


class HealthView(APIView):
    """Liveness for load balancers, without authentication: 200 when the database answers, else 503."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, auth=[])
    def get(self, request):
        if database_status()["status"] == "ok":
            return Response({"status": "ok"})
        return Response({"status": "unavailable"}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
