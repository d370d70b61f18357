"""The generator runs API (read-only, filters, live log) and the reconcile and plan actions of services."""

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog_site.models import Token
from ipam.models import VLAN
from services import runs
from services.models import GeneratorRun, Service
from tenancy.models import Membership
from tests.api_mixins import APIViewTests

from .factories import make_service
from .generator_fixtures import (
    committed,
    deliver,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    order,
    port_of,
)

RUNS = "/api/services/generator-runs/"


def service_url(service, action):
    return f"/api/services/services/{service.pk}/{action}/"


class TestGeneratorRunAPI(APIViewTests):
    url_name = "services-api:generatorrun"
    model = GeneratorRun
    brief_fields = ("id", "url", "display", "action", "status")
    list_queries = 3  # token, count, page (service and requester joined)

    def make_objects(self, count):
        objects = []
        for n in range(count):
            service = make_service("active")
            action, status = [("provision", "succeeded"), ("reconcile", "failed"), ("plan", "queued")][n % 3]
            objects.append(GeneratorRun.objects.create(
                service=service, action=action, status=status, task_id=f"task-{service.pk}",
                error="No free customer port" if status == "failed" else "",
                changes=[{"action": "created", "model": "ipam.vlan", "id": 1, "display": "v"}] * n,
                log=[f"line of {service}"]))
        return objects

    def create_data(self):
        return [{"action": "plan"}]  # refused: runs are created by the service actions, not by POST here

    def filter_cases(self, objects):
        first, second, third = objects
        return [
            ({"service_id": first.service_id}, [first.pk]),
            ({"service_id": [first.service_id, third.service_id]}, [first.pk, third.pk]),
            ({"service": second.service.service_identifier}, [second.pk]),
            ({"status": "failed"}, [second.pk]),
            ({"status": ["succeeded", "queued"], "service_id": [s.service_id for s in objects]}, [first.pk, third.pk]),
            ({"action": "plan"}, [third.pk]),
            ({"q": "free customer port"}, [second.pk]),
        ]

    # -- read-only: every write is a 405 and changes nothing ---------------------------------------
    def assert_refused(self, response):
        assert response.status_code == 405, response.data

    def test_create(self, api):
        before = GeneratorRun.objects.count()
        self.assert_refused(api.post(self.list_url(), {"action": "plan"}, format="json"))
        assert GeneratorRun.objects.count() == before

    def test_bulk_create(self, api):
        self.assert_refused(api.post(self.list_url(), [{"action": "plan"}], format="json"))

    def test_bulk_create_is_all_or_none(self, api):
        self.assert_refused(api.post(self.list_url(), [{}, {}], format="json"))

    def test_invalid_create_names_the_field(self, api):
        self.assert_refused(api.post(self.list_url(), {"status": "nope"}, format="json"))

    def test_malformed_json(self, api):
        self.assert_refused(api.generic("POST", self.list_url(), "{not json", content_type="application/json"))

    def test_update(self, api):
        run = self.make_objects(1)[0]
        self.assert_refused(api.patch(self.detail_url(run), {"status": "failed"}, format="json"))
        run.refresh_from_db()
        assert run.status == "succeeded"

    def test_delete(self, api):
        run = self.make_objects(1)[0]
        self.assert_refused(api.delete(self.detail_url(run)))
        assert GeneratorRun.objects.filter(pk=run.pk).exists()

    # -- the representation --------------------------------------------------------------------------
    def test_detail_fields(self, api):
        run = self.make_objects(2)[1]
        data = api.get(self.detail_url(run)).data
        assert data["service"]["service_identifier"] == run.service.service_identifier
        assert (data["action"], data["status"], data["change_count"], data["log"]) == (
            "reconcile", "failed", 1, [f"line of {run.service}"])
        assert data["changes"] == run.changes and data["error"] == "No free customer port"

    def test_a_running_run_shows_its_live_log(self, api):
        run = self.make_objects(1)[0]
        GeneratorRun.objects.filter(pk=run.pk).update(status="running", log=[])
        run.refresh_from_db()
        cache.set(runs.log_key(run), ["Provision run #1", "VLAN 1000"])
        try:
            assert api.get(self.detail_url(run)).data["log"] == ["Provision run #1", "VLAN 1000"]
        finally:
            cache.delete(runs.log_key(run))
        assert api.get(self.detail_url(run)).data["log"] == []  # nothing cached: the row's lines


class TestServiceActions:
    def test_reconcile_repairs_and_answers_the_run(self, api, inventory):
        service = deliver()
        VLAN.objects.filter(name="vlan__DI-12345").update(description="edited")
        with committed():
            response = api.post(service_url(service, "reconcile"))
        assert response.status_code == 202, response.data
        assert (response.data["action"], response.data["service"]["id"]) == ("reconcile", service.pk)
        run = GeneratorRun.objects.get(pk=response.data["id"])
        assert (run.status, [c["fields"] for c in run.changes]) == (
            "succeeded", [{"description": ["edited", "Dedicated Internet DI-12345"]}])
        assert run.requested_by.username == "admin"

    def test_reconcile_needs_an_active_service(self, api, inventory):
        service = order()
        response = api.post(service_url(service, "reconcile"))
        assert response.status_code == 409
        assert response.data["detail"] == ("A reconcile run applies to a service that is active; "
                                           "DI-12345 is draft.")
        assert not GeneratorRun.objects.exists()

    def test_plan_answers_the_changes_and_changes_nothing(self, api, inventory):
        service = order()
        response = api.post(service_url(service, "plan"))
        assert response.status_code == 200, response.data
        assert (response.data["action"], response.data["status"]) == ("plan", "succeeded")
        models = {c["model"] for c in response.data["changes"]}
        assert {"ipam.vlan", "ipam.prefix", "dcim.interface", "ipam.ipaddress", "services.service"} <= models
        assert not VLAN.objects.exists()
        service.refresh_from_db()
        assert (service.status, service.version) == ("draft", 1)

    def test_plan_of_an_active_service(self, api, inventory):
        service = deliver()
        port = port_of(service)
        response = api.post(service_url(service, "plan"))
        assert (response.status_code, response.data["changes"]) == (200, [])
        assert port_of(service) == port

    def test_transition_through_the_api_delivers(self, api, inventory):
        service = order()
        with committed():
            response = api.post(service_url(service, "transition"), {"to": "in-delivery", "version": 1},
                                format="json")
        assert response.status_code == 200, response.data
        service.refresh_from_db()
        assert service.status == "active" and service.attributes["documentation"].startswith("# Dedicated Internet")
        run = GeneratorRun.objects.get(service=service)
        response = api.get(RUNS, {"service_id": service.pk})
        assert [row["id"] for row in response.data["results"]] == [run.pk]

    def test_a_type_without_generator_is_a_409(self, api, db):
        from services import services
        manual = services.service_type_save(definition={"slug": "manual", "name": "Manual"})[0]
        service = make_service("active")
        Service.objects.filter(pk=service.pk).update(service_type=manual)
        for action in ("reconcile", "plan"):
            response = api.post(service_url(service, action))
            assert response.status_code == 409
            assert "Manual has no generator" in response.data["detail"]

    @pytest.mark.parametrize("action", ["reconcile", "plan"])
    def test_actions_need_the_editor_role(self, django_user_model, inventory, action):
        user = django_user_model.objects.create_user("viewer")
        user.user_permissions.add(Permission.objects.get(codename="change_service"))  # no help: roles decide
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
        service = deliver()
        assert client.post(service_url(service, action)).status_code == 404  # no role: hidden
        Membership.objects.create(user=user, tenant=service.tenant, role=Membership.Role.VIEWER)
        assert client.post(service_url(service, action)).status_code == 403
        assert GeneratorRun.objects.filter(service=service).count() == 1  # the provision run only
        Membership.objects.filter(user=user).update(role=Membership.Role.EDITOR)
        assert client.post(service_url(service, action)).status_code in (200, 202)


@pytest.mark.django_db(transaction=True)
def test_with_eager_tasks_reconcile_answers_the_finished_run(api, eager_tasks):
    from demo.inventory import load_inventory

    load_inventory()
    service = deliver()  # outside a test transaction: the run executes on commit, as in production
    assert service.status == "active"
    response = api.post(service_url(service, "reconcile"))
    assert response.status_code == 202
    assert (response.data["status"], response.data["changes"], response.data["attempts"]) == ("succeeded", [], 1)
    assert response.data["log"][-1] == "Done: 0 change(s)."
