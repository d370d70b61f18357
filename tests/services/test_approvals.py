"""Approvals end to end, eager tasks: a 10 Gbps Dedicated Internet order waits for a second person's approval
of its plan; approved it is delivered, rejected it goes back; a plan that no longer holds asks again."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from catalog_site import events
from dcim.models import Interface
from services import approvals, services
from services.lifecycle import DEFAULT, Status
from services.models import Approval, GeneratorRun, Service, ServiceType
from services.schema import DefinitionErrors, normalise_type_definition
from tenancy.models import Membership, Tenant

from .factories import make_tenant
from .generator_fixtures import (
    committed,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    last_run,
    order,
    port_is_free,
    port_of,
)

APPROVALS = "/api/services/approvals/"


def approval_url(approval, decision=""):
    return f"{APPROVALS}{approval.pk}/" + (f"{decision}/" if decision else "")


def make_user(django_user_model, name, *, tenant=None, role="editor", approver=False, staff=False):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", "pw", is_staff=staff)
    if tenant is not None:
        Membership.objects.create(user=user, tenant=tenant, role=role)
    if approver:
        user.user_permissions.add(Permission.objects.get(codename="approve_service",
                                                         content_type__app_label="services"))
    return django_user_model.objects.get(pk=user.pk)  # permissions are cached on the instance


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def people(inventory, django_user_model):
    """Acme's requester (an editor), an approver of Acme (editor with the permission), a stranger approver."""
    acme = Tenant.objects.get(slug="acme")
    return {
        "requester": make_user(django_user_model, "requester", tenant=acme, staff=True),
        "approver": make_user(django_user_model, "approver", tenant=acme, approver=True, staff=True),
        "stranger": make_user(django_user_model, "stranger", tenant=make_tenant(), approver=True, staff=True),
    }


def ask_delivery(service: Service, user) -> Service:
    service.refresh_from_db()
    with committed():
        services.service_transition(service=service, to=Status.IN_DELIVERY, version=service.version, user=user)
    service.refresh_from_db()
    return service


def decide(client, approval, decision, comment=None):
    with committed():
        return client.post(approval_url(approval, decision), {} if comment is None else {"comment": comment},
                           format="json")


def planned_port(approval) -> Interface:
    claimed = next(c for c in approval.plan_run.changes if c["action"] == "updated" and c["model"] == "dcim.interface")
    return Interface.objects.get(pk=claimed["id"])


# -- the rule -------------------------------------------------------------------------------------

BASE = {"slug": "x", "name": "X", "attributes": [
    {"name": "bandwidth", "kind": "choice", "choices": [100, 1000, 10000]}, {"name": "note"}]}


@pytest.mark.parametrize("rule, message", [
    ("yes", 'requires_approval: must be true, false or {"when": {attribute: [values]}}'),
    ({"when": {}}, "requires_approval: must be true"),
    ({"if": {"bandwidth": [10000]}}, "requires_approval: must be true"),
    ({"when": {"speed": [10000]}}, "requires_approval: 'speed' is not an attribute of this type"),
    ({"when": {"bandwidth": 10000}}, "requires_approval: bandwidth: give a non-empty list of values"),
    ({"when": {"bandwidth": ["10g"]}}, "requires_approval: bandwidth: '10g' is not one of the choices"),
])
def test_rule_is_validated(rule, message):
    with pytest.raises(DefinitionErrors) as caught:
        normalise_type_definition({**BASE, "requires_approval": rule})
    assert message in str(caught.value)


def test_rule_is_normalised_and_matched():
    assert normalise_type_definition(BASE)["requires_approval"] is False
    assert normalise_type_definition({**BASE, "requires_approval": True})["requires_approval"] is True
    rule = normalise_type_definition({**BASE, "requires_approval": {"when": {"bandwidth": ["10000", 10000]}}})
    assert rule["requires_approval"] == {"when": {"bandwidth": [10000]}}
    service_type = ServiceType(approval_rule=rule["requires_approval"])
    assert service_type.requires_approval({"bandwidth": 10000})
    assert not service_type.requires_approval({"bandwidth": 1000})
    assert ServiceType(approval_rule=True).requires_approval({}) and not ServiceType().requires_approval({})


def test_rule_through_the_api(api, db):
    payload = {"slug": "approved-thing", "name": "Approved thing", "attributes": BASE["attributes"],
               "requires_approval": {"when": {"bandwidth": ["fast"]}}}
    response = api.post("/api/services/service-types/", payload, format="json")
    assert response.status_code == 400
    assert "bandwidth: 'fast' is not one of the choices" in response.data["requires_approval"][0]
    response = api.post("/api/services/service-types/", {**payload, "requires_approval": {"when": {
        "bandwidth": [10000]}}}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["requires_approval"] == {"when": {"bandwidth": [10000]}}
    assert ServiceType.objects.get(slug="approved-thing").requires_approval({"bandwidth": 10000})


def test_lifecycle_describes_the_approval():
    described = DEFAULT.describe()
    assert described["approval"] == {"status": "pending-approval", "gated": ["in-delivery"],
                                     "approve": ["in-delivery"], "reject": ["active", "draft", "failed"]}
    assert described["transitions"]["pending-approval"] == []


# -- the flow -------------------------------------------------------------------------------------

def test_1g_order_is_delivered_without_approval(people):
    service = ask_delivery(order(bandwidth=1000), people["requester"])
    assert service.status == "active" and last_run(service).status == "succeeded"
    assert not Approval.objects.filter(service=service).exists()


def test_10g_order_waits_for_approval_with_a_plan(people):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    assert service.status == "pending-approval"
    approval = Approval.objects.get(service=service)
    assert (approval.status, approval.from_status, approval.requested_by) == ("pending", "draft", people["requester"])
    plan = approval.plan_run
    assert (plan.action, plan.status) == ("plan", "succeeded")
    assert planned_port(approval).speed == 10000 and port_is_free(planned_port(approval))  # rolled back
    assert not GeneratorRun.objects.filter(service=service, action="provision").exists()
    assert service.events.first().message == "Deliver: waiting for approval"

    response = client_for(people["requester"]).get(f"/api/services/services/{service.pk}/")
    assert (response.data["status"], response.data["pending_approval"]) == ("pending-approval", approval.pk)
    # Nobody moves it by hand, and its rw+ attributes wait for the decision.
    with pytest.raises(services.IllegalTransition, match="Legal transitions: none"):
        services.service_transition(service=service, to="in-delivery", version=service.version)
    with pytest.raises(services.ServiceValidationError, match="waiting for the approval of a plan"):
        services.service_update(service=service, version=service.version, attributes={"bandwidth": 1000})


def test_requester_cannot_approve_even_as_superuser(people, django_user_model):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    response = decide(client_for(people["requester"]), approval, "approve")
    assert response.status_code == 403
    assert "services.approve_service" in response.data["detail"]

    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    service = ask_delivery(order("DI-BOSS", bandwidth=10000), boss)
    approval = Approval.objects.get(service=service)
    response = decide(client_for(boss), approval, "approve")
    assert response.status_code == 409
    assert response.data["detail"] == f"You requested approval #{approval.pk}: another person must approve it."
    service.refresh_from_db()
    assert service.status == "pending-approval"


def test_second_user_approves_and_the_service_is_delivered(people):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    port = planned_port(approval)

    response = decide(client_for(people["approver"]), approval, "approve", "ok for the 10G")
    assert response.status_code == 200, response.data
    assert (response.data["status"], response.data["decided_by"], response.data["comment"]) == (
        "approved", "approver", "ok for the 10G")
    # In a test transaction the run executes once the answer is made (on "commit"): it said in-delivery.
    assert response.data["service_status"] == "in-delivery"
    service.refresh_from_db()
    run = last_run(service)
    assert (service.status, run.action, run.status) == ("active", "provision", "succeeded")
    approval.refresh_from_db()
    assert approval.apply_run == run and approval.decided_by == people["approver"]
    assert port_of(service) == port  # what the plan showed
    assert any(f"approved in approval #{approval.pk}" in line for line in run.log)
    assert service.events.filter(message__startswith=f"Approval #{approval.pk} approved by approver").exists()

    # Decided once: a second decision is a conflict.
    response = decide(client_for(people["approver"]), approval, "reject", "too late")
    assert response.status_code == 409 and "is approved already" in response.data["detail"]


def test_reject_sends_the_service_back_with_the_reason(people):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    client = client_for(people["approver"])
    response = decide(client, approval, "reject")
    assert response.status_code == 400
    assert response.data == {"comment": ["Give the reason of the rejection: the requester needs to know it."]}
    response = decide(client, approval, "reject", "x" * 2001)
    assert response.status_code == 400 and "comment" in response.data
    response = client.post(approval_url(approval, "reject"), {"reason": "typo"}, format="json")
    assert response.status_code == 400 and "reason" in response.data
    response = decide(client, approval, "reject", "No 10G ports left this quarter")
    assert response.status_code == 200, response.data
    assert (response.data["status"], response.data["service_status"]) == ("rejected", "draft")
    service.refresh_from_db()
    assert service.status == "draft"
    assert service.events.first().message == (f"Approval #{approval.pk} rejected by approver: "
                                              "No 10G ports left this quarter")
    assert not GeneratorRun.objects.filter(service=service, action="provision").exists()
    # Back in draft it can be changed and ordered at 1 Gbps, which needs no approval.
    service = services.service_update(service=service, version=service.version, attributes={"bandwidth": 1000})
    assert ask_delivery(service, people["requester"]).status == "active"


def test_active_service_update_to_10g_waits_and_rejection_returns_to_active(people):
    service = ask_delivery(order(bandwidth=1000), people["requester"])
    with committed():
        services.service_update(service=service, version=service.version, attributes={"bandwidth": 10000},
                                user=people["requester"])
    service.refresh_from_db()
    assert service.status == "pending-approval"
    approval = Approval.objects.get(service=service)
    assert approval.from_status == "active"
    approvals.reject(approval=approval, user=people["requester"], reason="withdrawn")  # the requester withdraws
    service.refresh_from_db()
    assert service.status == "active"


def test_drifted_plan_is_not_applied_and_asks_again(people):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    port = planned_port(approval)
    # Someone takes the planned port by hand after the plan was made, before the run.
    Interface.objects.filter(pk=port.pk).update(status="active", description="taken by hand")

    response = decide(client_for(people["approver"]), approval, "approve")
    assert response.status_code == 200, response.data
    assert client_for(people["approver"]).get(approval_url(approval)).data["status"] == "superseded"

    service.refresh_from_db()
    run = approval.apply_run = Approval.objects.get(pk=approval.pk).apply_run
    assert (run.action, run.status, run.changes) == ("provision", "failed", [])
    assert run.error.startswith("The plan changed since it was approved: ")
    assert f"planned updated dcim.interface {port}, not done now; updated dcim.interface " in run.error
    assert "Ethernet10 was not planned" in run.error  # the other 10G port it would take instead
    assert service.status == "pending-approval" and port_of(service) is None  # nothing applied

    approval.refresh_from_db()
    assert approval.status == "superseded" and approval.superseded_reason == run.error
    new = Approval.objects.filter(service=service).exclude(pk=approval.pk).get()
    assert (new.status, new.requested_by, new.from_status) == ("pending", people["requester"], "draft")
    assert planned_port(new) != port and new.plan_run.pk > run.pk

    # The new plan, approved, is applied.
    response = decide(client_for(people["approver"]), new, "approve")
    assert response.status_code == 200
    assert Service.objects.get(pk=service.pk).status == "active"
    assert port_of(Service.objects.get(pk=service.pk)) == planned_port(new)


def test_events_are_published(people, monkeypatch):
    published = []
    monkeypatch.setattr(events, "publish", lambda event, payload, *, tenant_id: published.append(
        (event, json.loads(json.dumps(payload)), tenant_id)))  # plain JSON
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    decide(client_for(people["approver"]), approval, "approve")
    acme = service.tenant_id
    names = [event for event, _, _ in published]
    assert names == ["service.status_changed", "approval.requested", "service.status_changed", "approval.approved",
                     "service.status_changed", "run.succeeded"]
    assert all(tenant_id == acme for _, _, tenant_id in published)
    changed = [payload for event, payload, _ in published if event == "service.status_changed"]
    assert [(p["from"], p["to"], p["user"]) for p in changed] == [
        ("draft", "pending-approval", "requester"), ("pending-approval", "in-delivery", "approver"),
        ("in-delivery", "active", None)]
    assert changed[0]["service"] == service.pk and changed[0]["service_identifier"] == service.service_identifier
    requested = published[1][1]
    assert (requested["approval"], requested["plan_run"], requested["requested_by"]) == (
        approval.pk, approval.plan_run_id, "requester")
    run = last_run(service)
    assert published[-1][1] == {"run": run.pk, "action": "provision", "status": "succeeded", "service": service.pk,
                                "service_identifier": service.service_identifier, "error": "",
                                "change_count": len(run.changes)}


def test_drift_check_ignores_ids_of_created_objects():
    planned = [
        {"action": "created", "model": "ipam.vlan", "id": 7, "display": "vlan__X (1000)",
         "fields": {"vid": [None, 1000]}},
        {"action": "updated", "model": "dcim.interface", "id": 3, "display": "sw01 Ethernet10",
         "fields": {"untagged_vlan": [None, 7]}},
        {"action": "updated", "model": "services.service", "id": 1, "display": "X",
         "fields": {"documentation": [None, "[VLAN](/admin/ipam/vlan/7/change/) "
                                            "[port](/admin/dcim/interface/3/change/)"]}},
    ]
    applied = [
        {**planned[0], "id": 9},
        {**planned[1], "fields": {"untagged_vlan": [None, 9]}},
        {**planned[2], "fields": {"documentation": [None, "[VLAN](/admin/ipam/vlan/9/change/) "
                                                          "[port](/admin/dcim/interface/3/change/)"]}},
    ]
    assert approvals.plan_differences(planned, list(reversed(applied))) == []
    other_port = [applied[0], {**applied[1], "id": 4, "display": "sw01 Ethernet11"}, applied[2]]
    assert approvals.plan_differences(planned, other_port) == [
        "planned updated dcim.interface sw01 Ethernet10, not done now",
        "updated dcim.interface sw01 Ethernet11 was not planned"]
    other_vid = [{**applied[0], "fields": {"vid": [None, 1001]}}, applied[1], applied[2]]
    assert approvals.plan_differences(planned, other_vid) == [
        "created ipam.vlan vlan__X (1000): vid planned 1000, now 1001"]


# -- who sees and decides -------------------------------------------------------------------------

def test_other_tenant_sees_no_approval(people):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    stranger = client_for(people["stranger"])
    assert stranger.get(APPROVALS).data["count"] == 0
    assert stranger.get(approval_url(approval)).status_code == 404
    assert decide(stranger, approval, "approve").status_code == 404
    assert approvals.decision_refusal(approval, people["stranger"]).kind == "permission"
    with pytest.raises(PermissionDenied):
        approvals.approve(approval=approval, user=people["stranger"])

    mine = client_for(people["approver"]).get(APPROVALS, {"status": "pending", "service_id": service.pk}).data
    assert [row["id"] for row in mine["results"]] == [approval.pk]
    assert mine["results"][0]["plan_changes"] == approval.plan_run.changes
    assert client_for(people["approver"]).get(APPROVALS, {"status": "approved"}).data["count"] == 0


def test_viewer_with_the_permission_cannot_decide(people, django_user_model):
    viewer = make_user(django_user_model, "viewer", tenant=Tenant.objects.get(slug="acme"), role="viewer",
                       approver=True)
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    response = decide(client_for(viewer), approval, "approve")
    assert response.status_code == 403 and "editor role" in response.data["detail"]


def test_approvals_cannot_be_created_through_the_api(people):
    response = client_for(people["approver"]).post(APPROVALS, {}, format="json")
    assert response.status_code == 405


# -- the admin ------------------------------------------------------------------------------------

def test_admin_shows_the_plan_and_approves(people, as_user):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    port = planned_port(approval)
    page = reverse("admin:services_service_change", args=[service.pk])

    html = as_user(people["requester"]).get(page).content.decode()
    assert "Waiting for approval" in html and str(port) in html and "generator-run-changes" in html
    assert 'data-approval-decision="approve"' not in html  # the requester may only withdraw
    assert 'data-approval-decision="reject"' in html and "Withdraw" in html

    client = as_user(people["approver"])
    html = client.get(page).content.decode()
    assert 'data-approval-decision="approve"' in html and 'data-approval-decision="reject"' in html
    assert "status: &#x27;free&#x27; → &#x27;active&#x27;" in html  # the claimed port, before -> after

    decide_url = reverse("admin:services_service_approval", args=[service.pk])
    with committed():
        response = client.post(decide_url, {"approval": approval.pk, "decision": "approve", "comment": "fine"},
                               follow=True)
    assert response.status_code == 200
    assert f"Approval #{approval.pk} approved" in response.content.decode()
    service.refresh_from_db()
    assert service.status == "active" and port_of(service) == port


def test_admin_reject_needs_a_reason_and_the_approvals_list(people, as_user, admin_client):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    client = as_user(people["approver"])
    decide_url = reverse("admin:services_service_approval", args=[service.pk])
    response = client.post(decide_url, {"approval": approval.pk, "decision": "reject", "comment": ""}, follow=True)
    assert "Give the reason of the rejection" in response.content.decode()
    response = client.post(decide_url, {"approval": approval.pk, "decision": "reject", "comment": "not now"},
                           follow=True)
    assert f"Approval #{approval.pk} rejected" in response.content.decode()
    service.refresh_from_db()
    assert service.status == "draft"

    listing = admin_client.get(reverse("admin:services_approval_changelist"), {"status__exact": "rejected"})
    assert listing.status_code == 200 and service.service_identifier in listing.content.decode()
    stranger_list = as_user(people["stranger"]).get(reverse("admin:services_approval_changelist"))
    assert service.service_identifier not in stranger_list.content.decode()
    assert as_user(people["stranger"]).post(decide_url, {"approval": approval.pk, "decision": "approve"}
                                            ).status_code == 404


def test_admin_refuses_a_decision_without_the_permission(people, as_user, django_user_model):
    editor = make_user(django_user_model, "editor", tenant=Tenant.objects.get(slug="acme"), staff=True)
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    approval = Approval.objects.get(service=service)
    client = as_user(editor)
    html = client.get(reverse("admin:services_service_change", args=[service.pk])).content.decode()
    assert "Waiting for approval" in html and "data-approval-decision" not in html
    assert "Can approve service plans" in html
    response = client.post(reverse("admin:services_service_approval", args=[service.pk]),
                           {"approval": approval.pk, "decision": "approve"})
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_a_service_waiting_for_approval_is_not_deleted(people):
    service = ask_delivery(order(bandwidth=10000), people["requester"])
    response = client_for(people["requester"]).delete(f"/api/services/services/{service.pk}/")
    assert response.status_code == 409
    assert "waiting for approval: have the approval rejected first" in response.data["detail"]
    assert Service.objects.filter(pk=service.pk, status="pending-approval").exists()


def test_delivery_asked_through_the_api_answers_pending_approval(people):
    service = order(bandwidth=10000)
    client = client_for(people["requester"])
    with committed():
        response = client.post(f"/api/services/services/{service.pk}/transition/",
                               {"to": "in-delivery", "version": service.version}, format="json")
    assert response.status_code == 200, response.data
    approval = Approval.objects.get(service=service)
    assert (response.data["status"], response.data["pending_approval"]) == ("pending-approval", approval.pk)
    assert approval.requested_by == people["requester"]

    catalog = client.get("/api/services/service-types/", {"slug": "dedicated-internet"}).data["results"][0]
    assert catalog["requires_approval"] == {"when": {"bandwidth": [10000]}}
