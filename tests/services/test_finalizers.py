"""Deleting a service: decommissioned first, through the ``catalog/decommission`` finalizer.

- A draft or decommissioned service is deleted at once; one in delivery is a 409 (test_api_rules).
- An active (or failed) service is given the finalizer and moved to in-decommissioning (202); its
  decommission run gives every resource back, removes the finalizer, and the row goes with it.
- A decommission that fails keeps the service, failed and still being deleted, with the reason
  (``deletion_blocked``, the admin page); a retry finishes the deletion.
- Finalizers of others (``example.com/backup``) keep a decommissioned service until they are removed.

Most tests run Celery eagerly (``committed()`` runs the tasks a request queued); the last ones go
through a real worker on Redis and PostgreSQL (see test_tasks_worker).
"""

import pytest
from django.urls import reverse

from demo.inventory import load_inventory
from ipam.models import VLAN, L2Domain
from services import services
from services.generators import Generator, GeneratorError
from services.lifecycle import DECOMMISSION_FINALIZER
from services.models import GeneratorRun, LifecycleEvent, Parameter, Service

from ..redis_server import redis_server_fixture  # noqa: F401 - the fixture "redis_server"
from . import test_tasks_worker as worker_tests
from .factories import make_service, make_site, make_tenant, order_service
from .generator_fixtures import (  # noqa: F401 - the fixtures "eager_tasks" and "inventory"
    committed,
    deliver,
    eager_tasks_fixture,
    inventory_fixture,
    nothing_left,
    order,
    port_is_free,
    port_of,
)
from .test_tasks_worker import wait_for, worker  # noqa: F401 - the fixture "worker"

BACKUP = "example.com/backup"


@pytest.fixture(name="own_worker")
def own_worker_fixture(request, redis_server, monkeypatch):
    """The worker of test_tasks_worker (its log file), on a Redis of this test's own, never the shared one."""
    monkeypatch.setattr(worker_tests, "BROKER", redis_server.url(12))
    return request.getfixturevalue("worker")


def url(service, action=""):
    return f"/api/services/services/{service.pk}/{action + '/' if action else ''}"


class GatedGenerator(Generator):
    """Owns one VLAN (vid: the ``size`` attribute); its decommission fails while a parameter named
    ``gate-<identifier>`` exists (a cause that is fixed without touching the service)."""

    def generate(self):
        self.upsert(VLAN, {"l2domain": L2Domain.get_default(), "vid": self.attributes["size"]},
                    {"name": f"gated-{self.identifier}"}, role="vlan")

    def apply(self, *, produce: bool = True):
        if not produce and Parameter.objects.filter(name=f"gate-{self.identifier}").exists():
            raise GeneratorError("The gate is closed: the VLAN cannot be given back yet.")
        return super().apply(produce=produce)


GATED_TYPE = {
    "slug": "gated", "name": "Gated", "generator": "tests.services.test_finalizers.GatedGenerator",
    "attributes": [{"name": "size", "kind": "integer", "modifier": "rw+"}],
}


def gated_service(identifier: str, vid: int) -> Service:
    """A delivered (active) service of the gated type, owning VLAN ``vid``; its gate closed."""
    service_type = services.service_type_save(definition=GATED_TYPE)[0]
    service = order_service(service_type=service_type, service_identifier=identifier, tenant=make_tenant(),
                            location=make_site(), attributes={"size": vid})
    with committed():
        services.service_transition(service=service, to="in-delivery", version=service.version)
    service.refresh_from_db()
    assert service.status == "active", GeneratorRun.objects.filter(service=service).last().error
    Parameter.objects.create(name=f"gate-{identifier}")
    return service


@pytest.mark.django_db
class TestStatuses:
    @pytest.mark.parametrize("status", ["draft", "decommissioned"])
    def test_a_service_that_owns_nothing_is_deleted_at_once(self, api, status):
        service = make_service(status)
        assert api.delete(url(service)).status_code == 204
        assert not Service.objects.filter(pk=service.pk).exists()

    @pytest.mark.parametrize("status, runs", [("active", 1), ("failed", 1), ("in-decommissioning", 0)])
    def test_a_service_that_may_own_resources_is_decommissioned_first(self, api, status, runs):
        # Its type has a generator: the run is queued, not executed here. One in-decommissioning has its
        # run under way already (not in this test): that run finishes the deletion.
        service = make_service(status)
        response = api.delete(url(service))
        assert response.status_code == 202, response.data
        assert response.data["status"] == "in-decommissioning"
        assert response.data["finalizers"] == [DECOMMISSION_FINALIZER]
        assert response.data["deleting_since"] is not None and response.data["deletion_blocked"] is None
        service.refresh_from_db()
        assert (service.status, service.finalizers) == ("in-decommissioning", [DECOMMISSION_FINALIZER])
        assert GeneratorRun.objects.filter(service=service, action="decommission", status="queued").count() == runs

        again = api.delete(url(service))  # idempotent: no second run, no new version
        assert again.status_code == 202 and again.data["version"] == response.data["version"]
        assert GeneratorRun.objects.filter(service=service, action="decommission").count() == runs

    def test_a_service_being_deleted_accepts_no_change_but_finalizer_removal(self, api):
        service = make_service("active")
        Service.objects.filter(pk=service.pk).update(description="kept")
        version = api.delete(url(service)).data["version"]
        response = api.patch(url(service), {"version": version, "description": "changed"}, format="json")
        assert response.status_code == 409
        assert "is being deleted" in response.data["detail"] and "description" in response.data["detail"]
        response = api.patch(url(service), {"version": version, "finalizers": [DECOMMISSION_FINALIZER, BACKUP]},
                             format="json")
        assert response.status_code == 409
        assert "adding the finalizers example.com/backup" in response.data["detail"]
        response = api.patch(url(service), {"version": version, "finalizers": []}, format="json")
        assert response.status_code == 400  # the catalog's own finalizer
        assert "users cannot remove it" in response.data["finalizers"][0]
        response = api.post(url(service, "transition"), {"to": "failed", "version": version}, format="json")
        assert response.status_code == 200
        response = api.post(url(service, "transition"), {"to": "in-delivery", "version": response.data["version"]},
                            format="json")
        assert response.status_code == 400
        assert "it is being deleted" in response.data["to"][0]
        assert response.data["legal_transitions"] == ["in-decommissioning"]
        service.refresh_from_db()
        assert (service.status, service.description) == ("failed", "kept")

    def test_a_type_without_generator_is_decommissioned_by_hand(self, api):
        manual = services.service_type_save(definition={
            "slug": "manual", "name": "Manual", "attributes": [{"name": "size", "kind": "integer", "modifier": "rw+"}],
        })[0]
        service = order_service(service_type=manual, service_identifier="MANUAL-1", tenant=make_tenant(),
                                location=make_site(), attributes={"size": 1})
        Service.objects.filter(pk=service.pk).update(status="active")
        response = api.delete(url(service))
        assert response.status_code == 202 and response.data["status"] == "in-decommissioning"
        response = api.post(url(service, "transition"), {"to": "decommissioned", "version": response.data["version"]},
                            format="json")
        assert response.status_code == 204
        assert not Service.objects.filter(pk=service.pk).exists()


@pytest.mark.django_db
class TestEndToEndEager:
    def test_api_delete_decommissions_then_deletes(self, api, inventory):
        service = deliver("DI-FIN-1")
        port = port_of(service)
        assert service.status == "active" and not nothing_left("DI-FIN-1")
        with committed():
            response = api.delete(url(service))
            assert response.status_code == 202
            assert (response.data["status"], response.data["finalizers"]) == ("in-decommissioning",
                                                                               [DECOMMISSION_FINALIZER])
            assert Service.objects.filter(pk=service.pk).exists()  # until the run has given everything back
        assert not Service.objects.filter(pk=service.pk).exists()
        assert not GeneratorRun.objects.filter(service_id=service.pk).exists()
        assert not LifecycleEvent.objects.filter(service_id=service.pk).exists()
        assert nothing_left("DI-FIN-1") and port_is_free(port)

    def test_finalizers_of_others_keep_the_decommissioned_service(self, api, inventory):
        service = deliver("DI-FIN-2")
        services.service_update(service=service, version=service.version, finalizers=[BACKUP])
        with committed():
            assert api.delete(url(service)).status_code == 202
        service.refresh_from_db()
        assert (service.status, service.finalizers) == ("decommissioned", [BACKUP])
        assert service.deleting_since is not None and nothing_left("DI-FIN-2")
        response = api.patch(url(service), {"version": service.version, "finalizers": []}, format="json")
        assert response.status_code == 204
        assert not Service.objects.filter(pk=service.pk).exists()

    def test_admin_delete_decommissions_then_deletes(self, admin_client, inventory):
        service = deliver("DI-FIN-3")
        delete_url = reverse("admin:services_service_delete", args=[service.pk])
        assert admin_client.get(delete_url).status_code == 200
        with committed():
            response = admin_client.post(delete_url, {"post": "yes"})
            assert response.status_code == 302
            service.refresh_from_db()
            assert (service.status, service.finalizers) == ("in-decommissioning", [DECOMMISSION_FINALIZER])
            page = admin_client.get(reverse("admin:services_service_change", args=[service.pk])).content.decode()
            assert "Being deleted" in page and DECOMMISSION_FINALIZER in page
        assert not Service.objects.filter(pk=service.pk).exists()
        assert nothing_left("DI-FIN-3")

    def test_a_failed_decommission_keeps_the_service_with_the_reason_and_a_retry_finishes(
            self, api, admin_client, eager_tasks):
        service = gated_service("GATED-1", 3001)
        with committed():
            assert api.delete(url(service)).status_code == 202
        service.refresh_from_db()
        assert (service.status, service.finalizers) == ("failed", [DECOMMISSION_FINALIZER])
        assert service.deleting_since is not None
        assert VLAN.objects.filter(vid=3001, name="gated-GATED-1").exists()
        run = GeneratorRun.objects.filter(service=service, action="decommission").get()
        body = api.get(url(service)).data
        assert body["deletion_blocked"] == (f"Its deletion waits: decommission run #{run.pk} failed: The gate is "
                                            "closed: the VLAN cannot be given back yet. Retry (decommission again) "
                                            "once the cause is fixed.")
        page = admin_client.get(reverse("admin:services_service_change", args=[service.pk])).content.decode()
        assert "The gate is closed" in page and "Being deleted" in page
        assert reverse("admin:services_service_retry", args=[service.pk]) in page

        Parameter.objects.filter(name="gate-GATED-1").delete()  # the cause fixed
        with committed():
            response = api.post(url(service, "retry"))
            assert response.status_code == 202, response.data
            assert response.data["action"] == "decommission"
        assert not Service.objects.filter(pk=service.pk).exists()
        assert not VLAN.objects.filter(vid=3001, name="gated-GATED-1").exists()

    def test_the_admin_retry_finishes_a_failed_deletion(self, admin_client, eager_tasks):
        service = gated_service("GATED-2", 3002)
        with committed():
            services.service_delete(service=service)
        service.refresh_from_db()
        assert service.status == "failed"
        Parameter.objects.filter(name="gate-GATED-2").delete()
        with committed():
            assert admin_client.post(reverse("admin:services_service_retry", args=[service.pk])).status_code == 302
        assert not Service.objects.filter(pk=service.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestWithAWorker:
    def test_a_worker_decommissions_and_deletes(self, own_worker, api):
        log = own_worker
        load_inventory()
        service = order("DI-FIN-W1")
        services.service_transition(service=service, to="in-delivery", version=1)  # committed: the task is sent
        wait_for(lambda: Service.objects.get(pk=service.pk).status != "in-delivery", 60, log.read_text)
        service.refresh_from_db()
        assert service.status == "active"
        port = port_of(service)

        response = api.delete(url(service))
        assert response.status_code == 202
        assert (response.data["status"], response.data["finalizers"]) == ("in-decommissioning",
                                                                           [DECOMMISSION_FINALIZER])
        wait_for(lambda: not Service.objects.filter(pk=service.pk).exists(), 60, log.read_text)
        assert nothing_left("DI-FIN-W1") and port_is_free(port)
        assert not GeneratorRun.objects.filter(service_id=service.pk).exists()

    def test_a_failed_decommission_on_a_worker_then_a_retry(self, own_worker, api):
        log = own_worker
        service_type = services.service_type_save(definition=GATED_TYPE)[0]
        service = order_service(service_type=service_type, service_identifier="GATED-W", tenant=make_tenant(),
                                location=make_site(), attributes={"size": 3003})
        services.service_transition(service=service, to="in-delivery", version=1)
        wait_for(lambda: Service.objects.get(pk=service.pk).status == "active", 60, log.read_text)
        Parameter.objects.create(name="gate-GATED-W")

        assert api.delete(url(service)).status_code == 202
        wait_for(lambda: Service.objects.get(pk=service.pk).status == "failed", 60, log.read_text)
        body = api.get(url(service)).data
        assert body["deleting_since"] is not None and body["finalizers"] == [DECOMMISSION_FINALIZER]
        assert "The gate is closed" in body["deletion_blocked"]

        Parameter.objects.filter(name="gate-GATED-W").delete()
        assert api.post(url(service, "retry")).status_code == 202
        wait_for(lambda: not Service.objects.filter(pk=service.pk).exists(), 60, log.read_text)
        assert not VLAN.objects.filter(vid=3003, name="gated-GATED-W").exists()
