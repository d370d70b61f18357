"""Generator runs in the admin: the runs table of a service, Reconcile and Plan buttons, the run pages; and the
service page for people: its resources named and linked, Decommission confirmed, where a transition ended up."""

import re
import types

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


# -- the service page for people: resources, run changes, decommission, messages ---------------------

def resources_of(html: str) -> list[tuple[str, str, str]]:
    """(type, name, link) of each row of the service page's resources table (or a confirmation's)."""
    rows = re.findall(r'<td class="service-resource-kind">(.*?)</td>\s*<td class="service-resource-name">(.*?)</td>',
                      html, re.DOTALL)
    result = []
    for kind, cell in rows:
        link = re.search(r'href="([^"]+)"', cell)
        result.append((kind, re.sub(r"<[^>]+>", "", cell), link.group(1) if link else ""))
    return result


def delivered_objects(service):
    from dcim.models import Interface
    from ipam.models import IPAddress, NumberPool, Prefix

    vlan = VLAN.objects.get(name=f"vlan__{service.service_identifier}")
    return types.SimpleNamespace(
        vlan=vlan, pool=NumberPool.objects.get(name="Customer vlan pool"),
        prefix=Prefix.objects.get(description=f"Dedicated Internet {service.service_identifier}"),
        port=Interface.objects.select_related("device").get(description__startswith=f"{service.service_identifier} "),
        router_interface=Interface.objects.select_related("device").get(
            description=f"Dedicated Internet {service.service_identifier}"),
        gateway=IPAddress.objects.get(description=f"Gateway of {service.service_identifier}"))


def admin_change(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def expected_resources(objects) -> list[tuple[str, str, str]]:
    o = objects
    return [
        ("VLAN id from pool Customer vlan pool", str(o.vlan.vid), admin_change(o.pool)),
        ("VLAN", f"VLAN {o.vlan.vid} ({o.vlan.name})", admin_change(o.vlan)),
        ("Prefix", o.prefix.prefix, admin_change(o.prefix)),
        ("Interface", f"{o.port.name} on {o.port.device.name}", admin_change(o.port)),
        ("Interface", f"{o.router_interface.name} on {o.router_interface.device.name}",
         admin_change(o.router_interface)),
        ("IP address", o.gateway.address, admin_change(o.gateway)),
    ]


def test_service_page_names_and_links_every_resource(admin_client, inventory):
    service = deliver()
    html = admin_client.get(change_url(service)).content.decode()
    assert resources_of(html) == expected_resources(delivered_objects(service))
    assert "ipam.numberallocation" not in html and "vlan_id:" not in html
    assert 'data-resource-role="gateway_ip_address"' in html and "<td>Gateway IP address</td>" in html


def test_a_resource_deleted_by_hand_says_so(admin_client, inventory):
    from ipam.models import IPAddress

    service = deliver()
    IPAddress.objects.filter(description="Gateway of DI-12345").delete()
    shown = resources_of(admin_client.get(change_url(service)).content.decode())
    assert shown[-1] == ("IP address", "(deleted meanwhile)", "")


@pytest.mark.parametrize(("role", "label"), [("gateway_ip_address", "Gateway IP address"), ("vlan_id", "VLAN ID"),
                                             ("dedicated_interfaces", "Dedicated interfaces"), ("uplink", "Uplink")])
def test_roles_read_as_words(role, label):
    from services.admin.resources import role_label

    assert role_label(role) == label


def test_a_draft_holds_nothing(admin_client, inventory):
    html = admin_client.get(change_url(order())).content.decode()
    assert resources_of(html) == [] and "The service holds nothing yet" in html


def test_the_resources_are_read_in_one_query_per_kind(rf, admin_user, inventory, django_assert_num_queries):
    from django.contrib import admin

    from services.admin.resources import service_resources

    service = deliver()
    request = rf.get("/")
    request.user = admin_user
    # The rows, then one query per kind of object (number allocations, VLANs, prefixes, interfaces, addresses).
    with django_assert_num_queries(6):
        described = service_resources(service, request=request, admin_site=admin.site)
    assert len(described) == 6 and all(resource.url for resource in described)


def test_a_resource_of_another_tenant_is_not_named(client, django_user_model, inventory):
    from tenancy.models import Tenant

    service = deliver()
    objects = delivered_objects(service)
    editor = django_user_model.objects.create_user("acme-editor", password="pw", is_staff=True)
    Membership.objects.create(user=editor, tenant=service.tenant, role=Membership.Role.EDITOR)
    client.force_login(editor)
    shown = resources_of(client.get(change_url(service)).content.decode())
    assert shown == expected_resources(objects)  # the customer's own objects and the shared ones, linked
    # Someone moved the VLAN to another customer: the service still holds it, the editor may not see it.
    VLAN.objects.filter(pk=objects.vlan.pk).update(tenant=Tenant.objects.get(slug="globex"))
    html = client.get(change_url(service)).content.decode()
    assert ("VLAN", "(not visible to you)", "") in resources_of(html)
    start = html.index('id="service-resources"')
    table = html[start:html.index("</table>", start)]
    assert objects.vlan.name not in table and admin_change(objects.vlan) not in table


def test_run_changes_link_to_the_documentation_instead_of_copying_it(admin_client, inventory):
    service = deliver()
    run = last_run(service)
    documentation = service.attributes["documentation"]
    html = admin_client.get(run_url(run)).content.decode()
    assert f'documentation: written, <a href="{change_url(service)}#documentation">see the Service documentation ' \
           "tab</a>" in html
    assert "```mermaid" not in html and documentation.splitlines()[0] not in html
    assert '<span title="ipam.vlan">VLAN</span>' in html  # the kind of each object, for people


def test_decommission_asks_for_confirmation_naming_what_goes_back(admin_client, inventory):
    service = deliver()
    objects = delivered_objects(service)
    page = admin_client.get(change_url(service)).content.decode()
    confirm_url = f"{transition_url(service)}?to=in-decommissioning"
    assert f'href="{confirm_url}" data-transition="in-decommissioning"' in page.replace("&amp;", "&")
    response = admin_client.get(confirm_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert resources_of(html) == expected_resources(objects)
    assert "Given back to its pool" in html and "Freed for other services" in html and "Deleted" in html
    assert 'name="csrfmiddlewaretoken"' in html and f'value="{service.version}"' in html
    assert f'href="{change_url(service)}" class="button cancel-link"' in html
    service.refresh_from_db()
    assert service.status == "active"  # showing the page changes nothing

    with committed():
        response = admin_client.post(transition_url(service), {"to": "in-decommissioning",
                                                                "version": service.version})
    service.refresh_from_db()
    assert response.status_code == 302 and service.status == "decommissioned"
    assert not service.resources.exists() and not VLAN.objects.filter(pk=objects.vlan.pk).exists()


def test_decommission_needs_a_csrf_token_and_a_legal_status(client, admin_user, inventory):
    from django.test import Client

    service = deliver()
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    response = csrf_client.post(transition_url(service), {"to": "in-decommissioning", "version": service.version})
    assert response.status_code == 403
    service.refresh_from_db()
    assert service.status == "active"
    client.force_login(admin_user)
    draft = order("DI-DRAFT")
    response = client.get(f"{transition_url(draft)}?to=in-decommissioning", follow=True)
    assert messages_of(response) == ["DI-DRAFT is draft: it cannot be decommissioned now."]
    assert client.get(f"{transition_url(draft)}?to=active").status_code == 405


def test_decommission_page_follows_the_tenant_rules(client, django_user_model, inventory):
    service = deliver()
    user = django_user_model.objects.create_user("someone", password="pw", is_staff=True)
    client.force_login(user)
    confirm_url = f"{transition_url(service)}?to=in-decommissioning"
    assert client.get(confirm_url).status_code == 404  # another tenant's service: not there
    membership = Membership.objects.create(user=user, tenant=service.tenant, role=Membership.Role.VIEWER)
    assert client.get(confirm_url).status_code == 403  # a viewer reads, does not decommission
    membership.role = Membership.Role.EDITOR
    membership.save()
    assert client.get(confirm_url).status_code == 200


def test_deleting_an_active_service_says_what_goes_back(admin_client, inventory):
    service = deliver()
    objects = delivered_objects(service)
    html = admin_client.get(reverse("admin:services_service_delete", args=[service.pk])).content.decode()
    assert "deleting it decommissions it first" in html
    assert resources_of(html) == expected_resources(objects)
    assert "finalizer" not in html.lower()  # said in people's words
    draft = order("DI-DRAFT")
    html = admin_client.get(reverse("admin:services_service_delete", args=[draft.pk])).content.decode()
    assert "decommissions it first" not in html


def test_deliver_with_a_queued_run_says_where_to_watch(admin_client, inventory):
    service = order()
    # The test's transaction never commits: the run is still queued when the page answers, as with a busy worker.
    response = admin_client.post(transition_url(service), {"to": "in-delivery", "version": 1}, follow=True)
    run = last_run(service)
    assert messages_of(response) == [
        f'DI-12345 is in delivery (version 2): its provision run <a href="{run_url(run)}">#{run.pk}</a> is queued. '
        "Follow it under Generator runs below, or on the run's page; the service moves on when the run ends."]


def transition_url(service):
    return reverse("admin:services_service_transition", args=[service.pk])


@pytest.mark.django_db(transaction=True)
def test_deliver_says_where_the_service_ended_up(admin_client, eager_tasks):
    from demo.inventory import load_inventory

    from .factories import dedicated_internet

    load_inventory()
    dedicated_internet()
    service = order()
    response = admin_client.post(transition_url(service), {"to": "in-delivery", "version": 1}, follow=True)
    service.refresh_from_db()
    assert service.status == "active"
    assert messages_of(response) == [f"DI-12345 is active (version {service.version})."]
    response = admin_client.post(transition_url(service), {"to": "in-decommissioning", "version": service.version},
                                 follow=True)
    service.refresh_from_db()
    assert messages_of(response) == [
        f"DI-12345 is decommissioned (version {service.version}): everything it held is given back."]


@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_says_why(admin_client, eager_tasks, monkeypatch):
    from demo.inventory import load_inventory
    from services.generators import GeneratorError
    from services.generators.dedicated_internet import DedicatedInternetGenerator

    from .factories import dedicated_internet

    load_inventory()
    dedicated_internet()
    service = order()

    def no_port(self, bandwidth):
        raise GeneratorError("No free customer port of 1000 Mbps or more on the core switches of Paris 1.")

    monkeypatch.setattr(DedicatedInternetGenerator, "customer_port", no_port)
    response = admin_client.post(transition_url(service), {"to": "in-delivery", "version": 1}, follow=True)
    service.refresh_from_db()
    run = last_run(service)
    assert service.status == "failed"
    assert messages_of(response) == [
        f'DI-12345 is failed (version {service.version}): its provision run <a href="{run_url(run)}">#{run.pk}</a> '
        "failed: No free customer port of 1000 Mbps or more on the core switches of Paris 1."]
