"""Reverting a generator run (``services.revert``): a Dedicated Internet provision and decommission undone and
redone, the pools' free space kept right, the refusals, the API action and the admin button."""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from catalog_site.models import ObjectChange, Token
from dcim.models import Interface
from ipam.models import VLAN, FreeBlock, IPAddress, NumberAllocation, NumberFreeRange, Prefix
from services import approvals, revert, runs
from services.models import GeneratorRun, LifecycleEvent, Service, ServiceResource
from tenancy.models import Membership

from .generator_fixtures import (
    committed,
    deliver,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    footprint,
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    last_run,
    nothing_left,
    order,
    port_is_free,
    port_of,
    transition,
    update,
)

RUNS = "/api/services/generator-runs/"


def revert_url(run):
    return f"{RUNS}{run.pk}/revert/"


def free_space() -> dict:
    """The pools' free space as the indexes hold it: number ranges and free blocks (by value, not by row)."""
    return {
        "numbers": sorted(NumberFreeRange.objects.values_list("pool_id", "start", "end")),
        "blocks": sorted((space, bytes(network), length) for space, network, length
                         in FreeBlock.objects.values_list("space_id", "network", "prefix_length")),
    }


def resources(service) -> list[tuple]:
    return sorted(ServiceResource.objects.filter(service=service).values_list(
        "pk", "role", "content_type_id", "object_id", "give_back"))


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


# -- reverting ------------------------------------------------------------------------------------

def test_revert_of_the_provision_leaves_a_draft_that_holds_nothing(inventory, admin_user):
    service = order("DI-12345")
    before = free_space()
    service = transition(service, "in-delivery")
    run, port = last_run(service), port_of(service)
    assert service.status == "active" and not port_is_free(port) and free_space() != before

    result = revert.revert_run(run=run, user=admin_user)

    service.refresh_from_db()
    run.refresh_from_db()
    assert (result.from_status, result.to_status, service.status) == ("active", "draft", "draft")
    assert result.undone == ObjectChange.objects.filter(run_id=run.pk).count()
    assert (run.reverted_by, run.reverted_at is not None) == (admin_user, True)
    assert nothing_left("DI-12345") and port_is_free(port)
    assert not ServiceResource.objects.filter(service=service).exists()
    assert not NumberAllocation.objects.filter(identifier="DI-12345").exists()
    assert "documentation" not in service.attributes
    assert free_space() == before  # the number and the prefix back in their pools' free space
    event = LifecycleEvent.objects.filter(service=service).first()
    assert (event.from_status, event.to_status, event.message) == ("active", "draft",
                                                                   f"Run #{run.pk} reverted by admin")
    # The revert's own changes are in the change log, by the reverting user, grouped by their own id.
    undone = ObjectChange.objects.filter(request_id=revert.revert_request_id(run))
    assert undone.count() >= result.undone - 6  # the service's updates are undone in one save
    assert set(undone.values_list("user_name", flat=True)) == {"admin"}

    # Allocating again hands out the same first values: VLAN 1000, the first /28, the same port.
    service = transition(service, "in-delivery")
    assert service.status == "active"
    assert VLAN.objects.get(name="vlan__DI-12345").vid == 1000
    assert Prefix.objects.get(pool_allocation__identifier="DI-12345").prefix == "203.0.113.0/28"
    assert port_of(service) == port


def test_revert_is_one_transaction(inventory):
    """A refusal found halfway (the VLAN is used by an interface made since) undoes nothing at all."""
    service = deliver()
    run, before, resources_before = last_run(service), footprint(), resources(service)
    spaces = free_space()
    vlan = VLAN.objects.get(name="vlan__DI-12345")
    other = Interface.objects.filter(device__location=inventory, role="customer", status="free").first()
    Interface.objects.filter(pk=other.pk).update(mode="access", untagged_vlan=vlan)  # another object, no record

    with pytest.raises(revert.RevertRefused) as refused:
        revert.revert_run(run=run, user=None)
    assert f"VLAN vlan__DI-12345 ({vlan.vid})" in refused.value.reason and str(other) in refused.value.reason

    service.refresh_from_db()
    run.refresh_from_db()
    assert (service.status, run.reverted_at) == ("active", None)
    assert (footprint(), resources(service), free_space()) == (before, resources_before, spaces)
    assert not ObjectChange.objects.filter(request_id=revert.revert_request_id(run)).exists()


def test_revert_of_the_decommission_gives_the_resources_back(inventory):
    service = deliver()
    port, before, owned = port_of(service), footprint(), resources(service)
    prefix = Prefix.objects.get(pool_allocation__identifier="DI-12345")
    gateway = prefix.gateway
    service = transition(service, "in-decommissioning")
    decommission = last_run(service)
    assert (decommission.action, service.status) == ("decommission", "decommissioned")
    assert nothing_left() and port_is_free(port)
    spaces = free_space()

    result = revert.revert_run(run=decommission, user=None)

    service.refresh_from_db()
    assert (result.from_status, result.to_status, service.status) == ("decommissioned", "active", "active")
    assert footprint() == before and resources(service) == owned  # the same rows, with their old ids
    assert port_of(service) == port and not port_is_free(port)
    restored = Prefix.objects.get(pk=prefix.pk)
    assert (restored.prefix, restored.gateway_id, restored.network) == (prefix.prefix, gateway.pk, prefix.network)
    assert IPAddress.objects.get(pk=gateway.pk).host == gateway.host
    assert "documentation" in service.attributes
    assert free_space() != spaces  # the number and the prefix taken out of the pools again
    assert not NumberFreeRange.objects.filter(pool__name="Customer vlan pool", start__lte=1000,
                                              end__gte=1000).exists()

    # The pools do not hand the restored values out again, and the generator finds everything in place.
    other = deliver("DI-99999")
    assert VLAN.objects.get(name="vlan__DI-99999").vid == 1001
    assert Prefix.objects.get(pool_allocation__identifier="DI-99999").prefix == "203.0.113.16/28"
    assert port_of(other) != port
    reconcile = runs.execute_run(runs.request_run(service=service, action="reconcile").pk)
    assert (reconcile.status, reconcile.changes) == ("succeeded", [])


def test_runs_are_reverted_newest_first(inventory):
    service = order("DI-12345")
    before = free_space()
    service = transition(service, "in-delivery")
    provision = last_run(service)
    service = transition(service, "in-decommissioning")
    decommission = last_run(service)

    with pytest.raises(revert.RevertRefused) as refused:
        revert.revert_run(run=provision, user=None)
    assert f"Run #{decommission.pk} (decommission)" in refused.value.reason and "revert" in refused.value.reason

    assert revert.revert_run(run=decommission, user=None).to_status == "active"
    assert revert.revert_run(run=provision, user=None).to_status == "draft"  # the reverted run is no obstacle
    service.refresh_from_db()
    assert service.status == "draft" and nothing_left() and free_space() == before


def test_revert_of_an_approved_delivery_goes_back_to_before_the_approval(inventory, admin_user):
    """10 Gbps needs an approval: draft -> pending-approval -> in-delivery -> active; reverted, a draft again."""
    service = order("DI-12345", bandwidth=10000)
    service = transition(service, "in-delivery")
    assert service.status == "pending-approval"
    with committed():
        approvals.approve(approval=approvals.pending_approval(service), user=admin_user)
    service.refresh_from_db()
    provision = last_run_of(service, "provision")
    assert (service.status, provision.status) == ("active", "succeeded")

    assert revert.revert_run(run=provision, user=admin_user).to_status == "draft"
    service.refresh_from_db()
    assert service.status == "draft" and nothing_left()


# -- refusals ------------------------------------------------------------------------------------

def test_a_hand_edit_through_the_api_blocks_the_revert_and_is_named(inventory, api):
    service = deliver()
    run = last_run(service)
    vlan = VLAN.objects.get(name="vlan__DI-12345")
    assert api.patch(f"/api/ipam/vlans/{vlan.pk}/", {"name": "renamed"}, format="json").status_code == 200
    before = footprint("DI-12345"), resources(service)

    response = api.post(revert_url(run))

    assert response.status_code == 409, response.data
    detail = response.data["detail"]
    assert f"VLAN renamed ({vlan.vid}) (#{vlan.pk}) was updated by admin (API)" in detail
    assert f"after run #{run.pk}" in detail
    service.refresh_from_db()
    assert service.status == "active" and (footprint("DI-12345"), resources(service)) == before
    assert GeneratorRun.objects.get(pk=run.pk).reverted_at is None


def test_a_hand_save_blocks_the_revert(inventory):
    service = deliver()
    port = port_of(service)
    port.description = "patched by hand"
    port.save()
    with pytest.raises(revert.RevertRefused) as refused:
        revert.revert_run(run=last_run(service), user=None)
    assert f"Interface {port} (#{port.pk}) was updated by the system" in refused.value.reason


def test_another_services_run_on_the_same_port_blocks_the_revert(inventory):
    """Decommissioned, its port and VLAN id went to another service: the decommission cannot be undone."""
    service = deliver()
    port = port_of(service)
    service = transition(service, "in-decommissioning")
    other = deliver("DI-99999")
    assert port_of(other) == port
    with pytest.raises(revert.RevertRefused) as refused:
        revert.revert_run(run=last_run_of(service, "decommission"), user=None)
    assert f"Interface {port} (#{port.pk}) was updated by run #{last_run(other).pk} of DI-99999" in \
        refused.value.reason
    assert Service.objects.get(pk=service.pk).status == "decommissioned"


def test_a_later_run_must_be_reverted_first(inventory):
    service = deliver()
    first = last_run(service)
    service = update(service, bandwidth=100)  # a new provision run: the port's description, the documentation
    second = last_run(service)
    with pytest.raises(revert.RevertRefused) as refused:
        revert.revert_run(run=first, user=None)
    assert refused.value.reason == (f"Run #{second.pk} (provision) of DI-12345 succeeded after run #{first.pk} "
                                    f"and changed things: revert run #{second.pk} first.")


def test_refused_twice_for_a_plan_a_failed_run_no_changes_and_a_run_under_way(inventory, api):
    service = deliver()
    provision = last_run(service)
    assert api.post(revert_url(provision)).status_code == 200
    again = api.post(revert_url(provision))
    assert again.status_code == 409 and again.data["detail"].startswith(
        f"Run #{provision.pk} was already reverted by admin at ")

    plan = runs.plan_run(service=service)
    response = api.post(revert_url(plan))
    assert (response.status_code, response.data) == (400, {"detail": (
        f"Run #{plan.pk} is a plan (a dry run): it changed nothing, there is nothing to revert.")})

    failed = GeneratorRun.objects.create(service=service, action="reconcile", status="failed", error="boom")
    assert api.post(revert_url(failed)).status_code == 400

    service = deliver("DI-2")
    reconcile = runs.execute_run(runs.request_run(service=service, action="reconcile").pk)
    response = api.post(revert_url(reconcile))
    assert (response.status_code, response.data["detail"]) == (
        400, f"Run #{reconcile.pk} changed nothing: there is nothing to revert.")

    unrecorded = GeneratorRun.objects.create(service=service, action="reconcile", status="succeeded", changes=[
        {"action": "updated", "model": "ipam.vlan", "id": 1, "display": "v"}])  # its records purged, say
    response = api.post(revert_url(unrecorded))
    assert response.status_code == 400 and "has no records in the change log" in response.data["detail"]
    GeneratorRun.objects.filter(pk=unrecorded.pk).delete()

    queued = GeneratorRun.objects.create(service=service, action="reconcile", task_id="t-queued")
    response = api.post(revert_url(last_run_of(service, "provision")))
    assert response.status_code == 409
    assert response.data["detail"] == (f"Service DI-2 has run #{queued.pk} (reconcile) queued: wait for it to end, "
                                       "then revert.")
    assert api.post(revert_url(queued)).data["detail"] == (f"Run #{queued.pk} is queued: only a succeeded run can "
                                                            "be reverted.")


def last_run_of(service, action) -> GeneratorRun:
    return GeneratorRun.objects.filter(service=service, action=action).latest("pk")


# -- the API ---------------------------------------------------------------------------------------

def test_api_answers_the_reverted_run_and_needs_write_access(django_user_model, inventory):
    service = deliver()
    run = last_run(service)
    user = django_user_model.objects.create_user("viewer")
    user.user_permissions.add(Permission.objects.get(codename="change_service"))  # no help: roles decide
    client = token_client(user)
    assert client.post(revert_url(run)).status_code == 404  # another tenant's run: hidden
    Membership.objects.create(user=user, tenant=service.tenant, role=Membership.Role.VIEWER)
    assert client.get(f"{RUNS}{run.pk}/").data["reverted_at"] is None
    assert client.post(revert_url(run)).status_code == 403
    assert GeneratorRun.objects.get(pk=run.pk).reverted_at is None

    Membership.objects.filter(user=user).update(role=Membership.Role.EDITOR)
    response = client.post(revert_url(run))
    assert response.status_code == 200, response.data
    assert (response.data["id"], response.data["reverted_by"]) == (run.pk, "viewer")
    assert response.data["reverted_at"] is not None
    assert Service.objects.get(pk=service.pk).status == "draft"
    assert client.post(RUNS, {"action": "plan"}, format="json").status_code == 405  # POST is for the revert only


# -- the admin -------------------------------------------------------------------------------------

def run_page(run):
    return reverse("admin:services_generatorrun_change", args=[run.pk])


def admin_revert_url(run):
    return reverse("admin:services_generatorrun_revert", args=[run.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_admin_button_confirmation_and_revert(admin_client, inventory):
    service = deliver()
    run = last_run(service)
    page = admin_client.get(run_page(run)).content.decode()
    assert "Revert this run" in page and f'href="{admin_revert_url(run)}"' in page

    confirmation = admin_client.get(admin_revert_url(run))
    html = confirmation.content.decode()
    assert confirmation.status_code == 200 and f"Yes, revert run #{run.pk}" in html
    assert "<span data-revert-from>active</span>" in html and "<strong data-revert-to>draft</strong>" in html
    assert "vlan__DI-12345" in html  # the run's changes are listed
    assert Service.objects.get(pk=service.pk).status == "active"  # a GET changes nothing
    assert GeneratorRun.objects.get(pk=run.pk).reverted_at is None
    assert not ObjectChange.objects.filter(request_id=revert.revert_request_id(run)).exists()

    response = admin_client.post(admin_revert_url(run), follow=True)
    assert response.redirect_chain[-1][0] == run_page(run)
    assert any(f"Run #{run.pk} reverted" in message and "from active to draft" in message
               for message in messages_of(response))
    assert "Revert this run" not in response.content.decode()
    assert Service.objects.get(pk=service.pk).status == "draft"

    refused = admin_client.post(admin_revert_url(run), follow=True)
    assert any(f"Run #{run.pk} was already reverted by admin" in m for m in messages_of(refused))


def test_admin_refusal_names_the_reason(admin_client, inventory):
    service = deliver()
    run = last_run(service)
    VLAN.objects.filter(name="vlan__DI-12345").get().save()  # nothing changed: no record, no obstacle
    vlan = VLAN.objects.get(name="vlan__DI-12345")
    vlan.description = "by hand"
    vlan.save()
    for response in (admin_client.get(admin_revert_url(run), follow=True),  # the confirmation says so at once
                     admin_client.post(admin_revert_url(run), follow=True)):
        assert response.redirect_chain[-1][0] == run_page(run)
        assert any(f"VLAN vlan__DI-12345 ({vlan.vid})" in m and "was updated" in m for m in messages_of(response))
    assert Service.objects.get(pk=service.pk).status == "active"


def test_admin_button_only_for_writers(django_user_model, as_user, inventory):
    service = deliver()
    run = last_run(service)
    user = django_user_model.objects.create_user("staff-viewer", is_staff=True)
    Membership.objects.create(user=user, tenant=service.tenant, role=Membership.Role.VIEWER)
    client = as_user(user)
    page = client.get(run_page(run))
    assert page.status_code == 200 and "Revert this run" not in page.content.decode()
    assert client.get(admin_revert_url(run)).status_code == 403
    assert client.post(admin_revert_url(run)).status_code == 403
    assert GeneratorRun.objects.get(pk=run.pk).reverted_at is None

    Membership.objects.filter(user=user).update(role=Membership.Role.EDITOR)
    assert "Revert this run" in client.get(run_page(run)).content.decode()
    client.post(admin_revert_url(run))
    assert GeneratorRun.objects.get(pk=run.pk).reverted_by == user


@pytest.mark.django_db(transaction=True)
def test_reverts_commit(eager_tasks):
    """Outside a test transaction: the runs and the reverts commit, deferred foreign keys checked (a prefix
    recreated before the gateway address it points at)."""
    from demo.inventory import load_inventory

    load_inventory()
    service = deliver()
    before, owned = footprint(), resources(service)
    service = transition(service, "in-decommissioning")
    assert service.status == "decommissioned" and nothing_left()

    revert.revert_run(run=last_run_of(service, "decommission"), user=None)
    service.refresh_from_db()
    assert (service.status, footprint(), resources(service)) == ("active", before, owned)
    assert Prefix.objects.get(pool_allocation__identifier="DI-12345").gateway.address == "203.0.113.1/28"

    revert.revert_run(run=last_run_of(service, "provision"), user=None)
    service.refresh_from_db()
    assert service.status == "draft" and nothing_left()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reverts_at_once_revert_once(eager_tasks):
    """The service's row lock serialises them: the second finds the run reverted and changes nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only meaningful on PostgreSQL")
    from demo.inventory import load_inventory

    load_inventory()
    service = deliver()
    run = last_run(service)
    barrier, outcomes = threading.Barrier(2), []

    def revert_it():
        try:
            barrier.wait()
            revert.revert_run(run=GeneratorRun.objects.get(pk=run.pk), user=None)
            outcomes.append("reverted")
        except revert.RevertRefused as exc:
            outcomes.append(exc.reason.split(" by ")[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=revert_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [f"Run #{run.pk} was already reverted", "reverted"]
    service.refresh_from_db()
    assert service.status == "draft" and nothing_left()
    assert LifecycleEvent.objects.filter(service=service, message__startswith=f"Run #{run.pk} reverted").count() == 1
