"""Generator runs in the admin: the runs table of a service, Reconcile and Plan buttons, the run pages."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse

from ipam.models import VLAN
from services import runs, services
from services.models import GeneratorRun, Service
from tenancy.models import Membership

from .factories import make_service
from .generator_fixtures import (
    committed,
    deliver,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    last_run,
    order,
)


def change_url(service):
    return reverse("admin:services_service_change", args=[service.pk])


def run_url(run):
    return reverse("admin:services_generatorrun_change", args=[run.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_service_page_lists_its_runs_newest_first(admin_client, inventory):
    service = deliver()
    runs.execute_run(runs.request_run(service=service, action="reconcile").pk)
    html = admin_client.get(change_url(service)).content.decode()
    shown = re.findall(r'data-run="(\d+)" data-run-status="(\w+)"', html)
    assert shown == [(str(run.pk), run.status) for run in GeneratorRun.objects.filter(service=service)]
    assert len(shown) == 2 and f'href="{run_url(last_run(service))}"' in html
    assert 'data-generator-action="reconcile"' in html and 'data-generator-action="plan"' in html


def test_a_running_run_shows_its_live_log(admin_client, inventory):
    service = make_service("active")
    run = GeneratorRun.objects.create(service=service, action="reconcile", status="running", task_id="t-live")
    cache.set(runs.log_key(run), ["Reconcile run", "VLAN 1000 <checked>"])
    try:
        html = admin_client.get(change_url(service)).content.decode()
        assert "Log (live)" in html and "VLAN 1000 &lt;checked&gt;" in html
        run_page = admin_client.get(run_url(run)).content.decode()
        assert '<meta http-equiv="refresh" content="2">' in run_page and "VLAN 1000 &lt;checked&gt;" in run_page
    finally:
        cache.delete(runs.log_key(run))
    GeneratorRun.objects.filter(pk=run.pk).update(status="succeeded", log=["stored line"])
    run_page = admin_client.get(run_url(run)).content.decode()
    assert 'http-equiv="refresh"' not in run_page and "stored line" in run_page


def test_reconcile_button(admin_client, inventory):
    service = deliver()
    VLAN.objects.filter(name="vlan__DI-12345").update(name="renamed")
    with committed():
        response = admin_client.post(reverse("admin:services_service_reconcile", args=[service.pk]))
    assert response.status_code == 302 and response.url == change_url(service)
    run = last_run(service)
    assert (run.action, run.status, run.requested_by.username) == ("reconcile", "succeeded", "admin")
    assert VLAN.objects.filter(name="vlan__DI-12345").exists()
    assert admin_client.get(reverse("admin:services_service_reconcile", args=[service.pk])).status_code == 405


def test_reconcile_refused_with_a_message(admin_client, inventory):
    service = order()
    response = admin_client.post(reverse("admin:services_service_reconcile", args=[service.pk]), follow=True)
    assert messages_of(response) == ["A reconcile run applies to a service that is active; DI-12345 is draft."]
    assert not GeneratorRun.objects.exists()
    html = admin_client.get(change_url(service)).content.decode()
    assert 'data-generator-action="reconcile"' not in html and 'data-generator-action="plan"' in html


def test_plan_button_shows_the_changes(admin_client, inventory):
    service = order()
    response = admin_client.post(reverse("admin:services_service_plan", args=[service.pk]))
    run = GeneratorRun.objects.get(service=service)
    assert response.status_code == 302 and response.url == run_url(run)
    html = admin_client.get(run_url(run)).content.decode()
    assert "vlan__DI-12345 (1000)" in html and "203.0.113.0/28" in html and "ipam.prefix" in html
    assert not VLAN.objects.exists()


def test_runs_list_filters_and_is_read_only(admin_client, inventory):
    service = deliver()
    provision = last_run(service)
    failed = GeneratorRun.objects.create(service=service, action="reconcile", status="failed", error="boom")
    changelist = reverse("admin:services_generatorrun_changelist")
    html = admin_client.get(changelist, {"status__exact": "failed"}).content.decode()
    assert f"Reconcile run #{failed.pk} of DI-12345" in html
    assert f"Provision run #{provision.pk} of" not in html
    assert admin_client.get(reverse("admin:services_generatorrun_add")).status_code == 403
    response = admin_client.post(run_url(failed), {"status": "succeeded"})
    assert response.status_code == 403
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_no_buttons_for_a_type_without_generator(admin_client, db):
    manual = services.service_type_save(definition={"slug": "manual", "name": "Manual"})[0]
    service = make_service("active")
    Service.objects.filter(pk=service.pk).update(service_type=manual)
    html = admin_client.get(change_url(service)).content.decode()
    assert "data-generator-action" not in html and "No generator run yet." in html


@pytest.mark.parametrize("action", ["reconcile", "plan"])
def test_buttons_need_the_editor_role(client, django_user_model, inventory, action):
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_service"))  # roles decide, not this
    client.force_login(user)
    service = deliver()
    # Without a role the service is hidden; a viewer sees it but has no buttons and is refused.
    assert client.post(reverse(f"admin:services_service_{action}", args=[service.pk])).status_code == 404
    Membership.objects.create(user=user, tenant=service.tenant, role=Membership.Role.VIEWER)
    assert "data-generator-action" not in client.get(change_url(service)).content.decode()
    assert client.post(reverse(f"admin:services_service_{action}", args=[service.pk])).status_code == 403
    assert GeneratorRun.objects.filter(service=service).count() == 1
