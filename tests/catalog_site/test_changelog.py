"""The change log: every write recorded with who, when, what groups it, before and after; read through the
API and the admin under the object's tenant rules; purged after the retention period."""

import datetime
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.test import APIClient

from catalog_site import changelog
from catalog_site.apps import management_command
from catalog_site.models import ObjectChange, Token
from dcim.models import Manufacturer
from ipam.models import VLAN, L2Domain
from services import services
from services.models import GeneratorRun
from tenancy.models import Membership, Tenant
from tests.services.generator_fixtures import (
    committed,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    order,
)

URL = "/api/core/object-changes/"


def changes_of(obj):
    return ObjectChange.objects.filter(object_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)


def member_api(tenant, role="viewer", name=None):
    user = get_user_model().objects.create_user(name or f"user-{uuid.uuid4().hex[:8]}")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    _, key = Token.issue(user=user, description="tests", write_enabled=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return user, client


@pytest.mark.django_db
def test_api_write_is_recorded_with_user_token_and_request_id(api, admin_user):
    response = api.post("/api/dcim/manufacturers/", {"name": "Arista", "slug": "arista"}, format="json")
    assert response.status_code == 201, response.content
    request_id = uuid.UUID(response["X-Request-ID"])
    manufacturer = Manufacturer.objects.get(slug="arista")

    change = changes_of(manufacturer).get()
    assert (change.action, change.source, change.user, change.user_name) == ("create", "api", admin_user, "admin")
    assert change.token == Token.objects.get(user=admin_user)
    assert change.request_id == request_id and change.run_id is None
    assert change.prechange_data is None
    assert change.postchange_data["name"] == "Arista" and change.postchange_data["id"] == manufacturer.pk

    api.patch(f"/api/dcim/manufacturers/{manufacturer.pk}/", {"name": "Arista Networks"}, format="json")
    update = changes_of(manufacturer).latest("pk")
    assert update.action == "update"
    assert update.diff() == {"name": ["Arista", "Arista Networks"],
                             "last_updated": [update.prechange_data["last_updated"],
                                              update.postchange_data["last_updated"]]}

    api.delete(f"/api/dcim/manufacturers/{manufacturer.pk}/")
    deletion = ObjectChange.objects.filter(object_id=manufacturer.pk, action="delete").get()
    assert deletion.prechange_data["name"] == "Arista Networks" and deletion.postchange_data is None


@pytest.mark.django_db
def test_a_save_that_changes_nothing_is_not_recorded(admin_user):
    manufacturer = Manufacturer.objects.create(name="Juniper", slug="juniper")
    manufacturer.save()
    assert changes_of(manufacturer).count() == 1


@pytest.mark.django_db
def test_a_bulk_api_write_is_one_group(api):
    made = [Manufacturer.objects.create(name=f"Maker {n}", slug=f"maker-{n}") for n in range(3)]
    response = api.patch("/api/dcim/manufacturers/", [{"id": m.pk, "name": f"Renamed {m.pk}"} for m in made],
                         format="json")
    assert response.status_code == 200, response.content
    request_id = uuid.UUID(response["X-Request-ID"])
    group = ObjectChange.objects.filter(request_id=request_id)
    assert sorted(group.values_list("object_id", flat=True)) == sorted(m.pk for m in made)
    assert set(group.values_list("action", flat=True)) == {"update"}

    listed = api.get(URL, {"request_id": str(request_id)}).json()
    assert listed["count"] == 3
    assert {row["changes"]["name"][1] for row in listed["results"]} == {f"Renamed {m.pk}" for m in made}


@pytest.mark.django_db
def test_an_admin_write_is_recorded_as_web(admin_client, admin_user):
    response = admin_client.post("/admin/dcim/manufacturer/add/", {"name": "Cisco", "slug": "cisco",
                                                                    "annotations": "{}"})
    assert response.status_code == 302, response.content.decode()[:3000]
    change = changes_of(Manufacturer.objects.get(slug="cisco")).get()
    assert (change.source, change.user, change.action, change.token) == ("web", admin_user, "create", None)
    assert change.request_id is not None

    history = admin_client.get(f"/admin/dcim/manufacturer/{change.object_id}/history/")
    assert history.status_code == 200
    assert b"Cisco" in history.content and b"Created" in history.content


@pytest.mark.django_db
def test_a_run_is_one_group_with_its_service(inventory, admin_user):
    service = order("DI-77", bandwidth=1000, ip_package="medium")
    with committed():
        services.service_transition(service=service, to="in-delivery", version=service.version, user=admin_user)
    service.refresh_from_db()
    run = GeneratorRun.objects.get(service=service, action="provision")
    group = ObjectChange.objects.filter(run_id=run.pk)
    assert group.exists()
    assert set(group.values_list("source", flat=True)) == {"run"}
    assert set(group.values_list("service_identifier", flat=True)) == {"DI-77"}
    assert set(group.values_list("request_id", flat=True)) == {None}
    recorded = {(change.action, change.object_type.model) for change in group.select_related("object_type")}
    # Everything the run made, claimed and owned, and the service's own move to active.
    assert {("create", "vlan"), ("create", "prefix"), ("create", "numberallocation"), ("update", "interface"),
            ("create", "serviceresource"), ("update", "service")} <= recorded
    service_changes = [change.diff() for change in group.filter(object_type__model="service").order_by("pk")]
    assert "documentation" in service_changes[0]["attributes"][1]  # the generated attributes, then the move
    assert service_changes[-1]["status"] == ["in-delivery", "active"]
    assert group.filter(user=admin_user).count() == group.count()  # on behalf of who asked for the delivery

    # A plan is rolled back, and its records with it.
    from services import runs

    plan = runs.plan_run(service=service, user=admin_user)
    assert plan.status == "succeeded" and not ObjectChange.objects.filter(run_id=plan.pk).exists()


@pytest.mark.django_db
def test_changes_are_seen_under_the_tenant_rules_of_their_object(api):
    acme, globex = Tenant.objects.create(name="Acme", slug="acme"), Tenant.objects.create(name="Globex", slug="globex")
    domain = L2Domain.objects.create(name="campus")
    acme_vlan = VLAN.objects.create(l2domain=domain, vid=10, name="acme-10", tenant=acme)
    globex_vlan = VLAN.objects.create(l2domain=domain, vid=20, name="globex-20", tenant=globex)
    _, viewer = member_api(acme)

    seen = viewer.get(URL, {"object_type": "ipam.vlan"}).json()
    assert {row["object_id"] for row in seen["results"]} == {acme_vlan.pk}
    hidden = changes_of(globex_vlan).get()
    assert viewer.get(f"{URL}{hidden.pk}/").status_code == 404
    shared = changes_of(domain).get()  # shared infrastructure: every user sees it
    assert viewer.get(f"{URL}{shared.pk}/").status_code == 200

    everything = api.get(URL, {"object_type": "ipam.vlan"}).json()
    assert {row["object_id"] for row in everything["results"]} == {acme_vlan.pk, globex_vlan.pk}

    # A deleted tenant's history stays hidden (it does not become shared).
    globex_vlan_id = globex_vlan.pk
    globex_vlan.delete()
    gone = ObjectChange.objects.filter(object_id=globex_vlan_id, action="delete").get()
    assert gone.tenant_id == globex.pk
    assert viewer.get(f"{URL}{gone.pk}/").status_code == 404


@pytest.mark.django_db
def test_filters(api, admin_user):
    before = timezone.now()
    maker = Manufacturer.objects.create(name="Nokia", slug="nokia")
    one = api.get(URL, {"object_type": "dcim.manufacturer", "object_id": maker.pk}).json()
    assert one["count"] == 1 and one["results"][0]["object_repr"] == "Nokia"
    assert one["results"][0]["object_url"].endswith(f"/api/dcim/manufacturers/{maker.pk}/")
    assert api.get(URL, {"time_after": (before - datetime.timedelta(seconds=1)).isoformat(),
                         "object_type": "dcim.manufacturer"}).json()["count"] == 1
    assert api.get(URL, {"time_before": (before - datetime.timedelta(days=1)).isoformat(),
                         "object_type": "dcim.manufacturer"}).json()["count"] == 0
    assert api.get(URL, {"changed_object_type": "dcim.manufacturer", "changed_object_id": maker.pk}).json() == one
    assert api.get(URL, {"action": "delete"}).json()["count"] == 0
    assert api.get(URL, {"q": "noki"}).json()["count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("params, field", [
    ({"request_id": "not-a-uuid"}, "request_id"),
    ({"time_after": "yesterday"}, "time"),
    ({"object_type": "dcim.nothing"}, "object_type"),
    ({"run_id": "0"}, "run_id"),
    ({"request_id": "\x00"}, "request_id"),
])
def test_bad_filters_are_400_naming_the_filter(api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400, response.content
    assert any(name.startswith(field) for name in response.json()), response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"time_after": "4564-05-14T01:02:03+23:12"},  # an offset PostgreSQL refuses: turned to UTC first
    {"time_before": "9999-12-31T23:00:00-05:00"},  # past the last UTC time
    {"user__nic": "\x16\U000f0b2e\\RY\xa8\x0e"},
])
def test_hostile_times_and_names_are_answered(api, params):
    """Found by the fuzzer on PostgreSQL: a time with a +23:12 offset was a 500."""
    response = api.get(URL, params)
    assert response.status_code in (200, 400), response.content


@pytest.mark.django_db
def test_the_change_log_is_read_only(api):
    assert api.post(URL, {}, format="json").status_code == 405


@pytest.mark.django_db
def test_purge_keeps_the_retention_period(settings):
    maker = Manufacturer.objects.create(name="Old", slug="old")
    old = changes_of(maker).get()
    ObjectChange.objects.filter(pk=old.pk).update(time=timezone.now() - datetime.timedelta(days=40))
    recent = changes_of(Manufacturer.objects.create(name="New", slug="new")).get()

    settings.CHANGELOG_RETENTION_DAYS = 0
    assert changelog.purge() == 0
    settings.CHANGELOG_RETENTION_DAYS = 30
    assert changelog.purge(batch=1) == 1
    assert list(ObjectChange.objects.filter(object_type=old.object_type).values_list("pk", flat=True)) == [recent.pk]


def test_a_management_command_groups_its_changes():
    assert management_command(["manage.py", "load_demo"]) == "load_demo"
    assert management_command(["/srv/manage.py", "runserver", "8000"]) is None
    assert management_command(["celery", "-A", "catalog_site", "worker"]) is None


@pytest.mark.django_db
def test_outside_any_context_a_change_is_the_system_s():
    maker = Manufacturer.objects.create(name="Ubiquiti", slug="ubiquiti")
    change = changes_of(maker).get()
    assert (change.source, change.user, change.request_id, change.run_id) == ("system", None, None, None)
    with changelog.change_context(source="command", request_id=uuid.uuid4()) as context:
        maker.name = "Ubiquiti Inc"
        maker.save()
    assert changes_of(maker).latest("pk").request_id == context.request_id


@pytest.mark.django_db
def test_the_changes_of_a_global_webhook_are_for_superusers_only(api):
    from catalog_site.models import Webhook

    acme = Tenant.objects.create(name="Acme", slug="acme")
    global_hook = Webhook.objects.create(name="itsm", payload_url="https://itsm.example.com/hook",
                                         events=["object.created"])
    acme_hook = Webhook.objects.create(name="acme-chat", payload_url="https://chat.example.com/hook",
                                       events=["object.created"], tenant=acme)
    _, admin_of_acme = member_api(acme, role="admin")

    seen = admin_of_acme.get(URL, {"object_type": "catalog_site.webhook"}).json()
    assert {row["object_id"] for row in seen["results"]} == {acme_hook.pk}
    hidden = changes_of(global_hook).get()
    assert hidden.superuser_only and hidden.tenant_id is None
    assert admin_of_acme.get(f"{URL}{hidden.pk}/").status_code == 404
    assert api.get(f"{URL}{hidden.pk}/").status_code == 200
    assert "payload_url" not in hidden.postchange_data and "secret" not in hidden.postchange_data


@pytest.mark.django_db
def test_the_daily_purge_takes_old_finished_deliveries_too(settings):
    from catalog_site.models import Webhook, WebhookDelivery
    from catalog_site.tasks import purge_changelog

    hook = Webhook.objects.create(name="itsm", payload_url="https://itsm.example.com/hook", events=["run.failed"])
    old = timezone.now() - datetime.timedelta(days=40)
    done = WebhookDelivery.objects.create(webhook=hook, event="run.failed", payload={}, status="succeeded", created=old)
    waiting = WebhookDelivery.objects.create(webhook=hook, event="run.failed", payload={}, status="retrying",
                                             created=old)
    recent = WebhookDelivery.objects.create(webhook=hook, event="run.failed", payload={}, status="failed")
    old_records = ObjectChange.objects.update(time=old)  # the webhook's creation among them
    settings.CHANGELOG_RETENTION_DAYS = 30
    assert purge_changelog() == old_records + 1  # and the old finished delivery
    assert not ObjectChange.objects.exists()
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert not WebhookDelivery.objects.filter(pk=done.pk).exists()
