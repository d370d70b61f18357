"""The Dedicated Internet scenario end to end, eager tasks: order, deliver, re-run, change, repair, decommission."""

import pytest
from django.contrib.auth import get_user_model

from dcim.models import Device, Interface
from ipam.models import VLAN, IPAddress, NumberAllocation, Prefix, PrefixAllocation
from services import approvals, runs
from services.models import GeneratorRun, ServiceResource
from services.selectors import documentation_sections

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


def approve(service):
    """Approve the plan the service waits for (10 Gbps needs one: ``services.approvals``), as a second person."""
    assert service.status == "pending-approval"
    approver = get_user_model().objects.get_or_create(username="approver", defaults={"is_superuser": True})[0]
    with committed():
        approvals.approve(approval=approvals.pending_approval(service), user=approver)
    service.refresh_from_db()
    return service


def resources(service) -> dict[str, list[str]]:
    by_role: dict[str, list[str]] = {}
    for row in ServiceResource.objects.filter(service=service).prefetch_related("object").order_by("role", "pk"):
        by_role.setdefault(row.role, []).append(str(row.object))
    return by_role


def test_provision(inventory):
    service = deliver("DI-12345", bandwidth=1000, ip_package="medium")
    run = last_run(service)
    assert (run.action, run.status, run.error, run.attempts) == ("provision", "succeeded", "", 1)
    assert service.status == "active"

    vlan = VLAN.objects.get(name="vlan__DI-12345")
    assert (vlan.vid, vlan.l2domain.name, vlan.tenant.slug) == (1000, "default", "acme")
    assert NumberAllocation.objects.get(identifier="DI-12345").value == 1000

    prefix = Prefix.objects.get(pool_allocation__identifier="DI-12345")
    assert (prefix.prefix, prefix.vlan, prefix.location, prefix.status) == ("203.0.113.0/28", vlan, inventory, "active")

    port = port_of(service)
    assert (port.device.name, port.device.location, port.name, port.speed) == ("sw01", inventory, "Ethernet4", 1000)
    assert (port.status, port.enabled, port.mode, port.untagged_vlan) == ("active", True, "access", vlan)
    assert port.description == "DI-12345 (1000 Mbps)"

    router_interface = Interface.objects.get(device__location=inventory, device__name="rb01", name="vlan_1000")
    assert (router_interface.layer, router_interface.untagged_vlan, router_interface.mode) == (3, vlan, "")
    gateway = IPAddress.objects.get(interface=router_interface)
    assert (gateway.address, gateway.role) == ("203.0.113.1/28", "gateway")
    assert prefix.gateway == gateway

    assert resources(service) == {
        "dedicated_interfaces": ["sw01 Ethernet4"],
        "gateway_interface": ["rb01 vlan_1000"],
        "gateway_ip_address": ["203.0.113.1/28"],
        "prefix": ["203.0.113.0/28"],
        "vlan": ["vlan__DI-12345 (1000)"],
        "vlan_id": ["Customer vlan pool: 1000 for DI-12345"],
    }
    assert ServiceResource.objects.get(service=service, role="dedicated_interfaces").give_back == {
        "status": "free", "enabled": False, "mode": "", "untagged_vlan": None, "description": ""}

    # The changes name every object created or claimed, with the fields set.
    made = {(c["action"], c["model"]) for c in run.changes}
    assert made == {("created", "ipam.numberallocation"), ("created", "ipam.vlan"), ("created", "ipam.prefix"),
                    ("updated", "dcim.interface"), ("created", "dcim.interface"), ("created", "ipam.ipaddress"),
                    ("updated", "ipam.prefix"), ("updated", "services.service")}
    claimed = next(c for c in run.changes if c["action"] == "updated" and c["model"] == "dcim.interface")
    assert claimed["id"] == port.pk and claimed["fields"]["untagged_vlan"] == [None, vlan.pk]
    assert claimed["fields"]["status"] == ["free", "active"]
    assert any("Customer port sw01 Ethernet4" in line for line in run.log)

    # The documentation: markdown with a mermaid diagram and links to the admin pages.
    documentation = service.attributes["documentation"]
    assert "```mermaid" in documentation and "graph LR" in documentation
    for text in ("Site Paris 1", "sw01 Ethernet4", "VLAN 1000", "rb01 vlan_1000", "Gateway 203.0.113.1/28",
                 "Prefix 203.0.113.0/28"):
        assert text in documentation
    for obj in (inventory, port, vlan, router_interface, gateway, prefix):
        assert f"(/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/)" in documentation
    html = documentation_sections(service)[0]["html"]
    assert '<pre class="mermaid">' in html and f'href="/admin/dcim/interface/{port.pk}/change/"' in html


def test_second_run_changes_nothing(inventory, django_assert_max_num_queries):
    service = deliver()
    before = footprint(), service.version, resources(service)
    run = runs.request_run(service=service, action="reconcile")
    with django_assert_max_num_queries(40):
        run = runs.execute_run(run.pk)
    service.refresh_from_db()
    assert (run.status, run.changes) == ("succeeded", [])
    assert (footprint(), service.version, resources(service)) == before
    assert service.status == "active"


def test_bandwidth_change_moves_to_a_10g_port_and_frees_the_old_one(inventory):
    service = deliver()
    old_port = port_of(service)
    service = approve(update(service, bandwidth=10000))
    run = last_run(service)
    assert (run.action, run.status, service.status) == ("provision", "succeeded", "active")
    new_port = port_of(service)
    assert (new_port.device.name, new_port.name, new_port.speed, new_port.status) == ("sw01", "Ethernet10", 10000,
                                                                                     "active")
    assert port_is_free(old_port)
    # Only what had to change: the port claimed, the old one given back, the documentation.
    assert sorted((c["action"], c["model"], c["id"]) for c in run.changes) == sorted([
        ("updated", "dcim.interface", new_port.pk), ("released", "dcim.interface", old_port.pk),
        ("updated", "services.service", service.pk)])
    assert VLAN.objects.get(name="vlan__DI-12345").vid == 1000
    assert Interface.objects.filter(name="vlan_1000", device__location=inventory).count() == 1

    # Down to 100 Mbps: the 10G port can carry it, so only its description (and the documentation) change.
    service = update(service, bandwidth=100)
    run = last_run(service)
    assert port_of(service) == new_port
    assert [(c["action"], c["model"], sorted(c.get("fields", {}))) for c in run.changes] == [
        ("updated", "dcim.interface", ["description"]), ("updated", "services.service", ["documentation"])]


def test_decommission_gives_everything_back_and_the_next_order_reuses_it(inventory):
    service = deliver()
    port = port_of(service)
    prefix_id = Prefix.objects.get(pool_allocation__identifier="DI-12345").pk
    service = transition(service, "in-decommissioning")
    run = last_run(service)
    assert (run.action, run.status, service.status) == ("decommission", "succeeded", "decommissioned")
    assert nothing_left("DI-12345") and port_is_free(port)
    assert not ServiceResource.objects.filter(service=service).exists()
    assert not Prefix.objects.filter(pk=prefix_id).exists()
    assert "documentation" not in service.attributes
    actions = sorted((c["action"], c["model"]) for c in run.changes)
    assert actions == [("deleted", "dcim.interface"), ("deleted", "ipam.ipaddress"), ("deleted", "ipam.prefix"),
                       ("deleted", "ipam.vlan"), ("released", "dcim.interface"), ("released", "ipam.numberallocation"),
                       ("updated", "services.service")]

    other = deliver("DI-67890", ip_package="medium")
    assert VLAN.objects.get(name="vlan__DI-67890").vid == 1000
    assert Prefix.objects.get(pool_allocation__identifier="DI-67890").prefix == "203.0.113.0/28"
    assert port_of(other) == port
    assert IPAddress.objects.get(description="Gateway of DI-67890").address == "203.0.113.1/28"


def test_second_service_at_the_site_gets_the_next_resources(inventory):
    first = deliver("DI-1", ip_package="small")
    second = deliver("DI-2", ip_package="large")
    assert (VLAN.objects.get(name="vlan__DI-2").vid, port_of(second).device.name, port_of(second).name) == (
        1001, "sw02", "Ethernet4")  # sw02 now has more free capable ports than sw01
    assert Prefix.objects.get(pool_allocation__identifier="DI-1").prefix == "203.0.113.0/29"
    assert Prefix.objects.get(pool_allocation__identifier="DI-2").prefix == "203.0.113.32/27"
    assert Interface.objects.filter(device__name="rb02", device__location=inventory, name="vlan_1001").exists()
    assert first.status == second.status == "active"


def test_no_free_port_fails_the_run_and_leaves_nothing(inventory):
    Interface.objects.filter(device__location=inventory, speed__gte=10000, role="customer").update(status="reserved")
    service = approve(deliver(bandwidth=10000))
    run = last_run(service)
    assert (run.status, service.status) == ("failed", "failed")
    assert run.error == "No free customer port of 10000 Mbps or more on the core switches of Paris 1."
    assert run.changes == []
    assert nothing_left("DI-12345")
    assert not ServiceResource.objects.filter(service=service).exists()
    assert service.events.first().message == f"Run #{run.pk} (provision) failed: {run.error}"

    # Given up: decommissioning a failed service (it owns nothing) ends it.
    given_up = transition(approve(deliver("DI-GIVEN-UP", bandwidth=10000)), "in-decommissioning")
    assert (last_run(given_up).action, last_run(given_up).changes, given_up.status) == (
        "decommission", [], "decommissioned")

    # Retrying once a port is free delivers it, from the same (rolled back, so reused) VLAN id.
    Interface.objects.filter(device__location=inventory, name="Ethernet11").update(status="free")
    service = approve(transition(service, "in-delivery"))
    assert (last_run(service).status, service.status) == ("succeeded", "active")
    assert VLAN.objects.get(name="vlan__DI-12345").vid == 1000


def test_site_without_edge_router_fails_cleanly(inventory):
    Device.objects.filter(location=inventory, role__slug="edge", index=1).update(index=3)
    service = deliver()
    run = last_run(service)
    assert run.status == "failed" and "Paris 1 has no edge router with index 1" in run.error
    assert nothing_left("DI-12345")
    assert Interface.objects.filter(device__location=inventory, status="active", role="customer").count() == 0


def test_plan_computes_the_changes_and_rolls_back(inventory):
    service = order()
    run = runs.plan_run(service=service)
    assert (run.action, run.status) == ("plan", "succeeded")
    assert {(c["action"], c["model"]) for c in run.changes} >= {("created", "ipam.vlan"), ("created", "ipam.prefix")}
    assert nothing_left("DI-12345")
    service.refresh_from_db()
    assert (service.status, service.version, service.attributes.get("documentation")) == ("draft", 1, None)

    # The same plan on a delivered service: nothing to do. On a decommissioning one: every resource back.
    service = deliver("DI-2")
    assert runs.plan_run(service=service).changes == []
    before = footprint("DI-2")
    type(service).objects.filter(pk=service.pk).update(status="in-decommissioning")
    planned = runs.plan_run(service=service)
    assert sum(c["action"] in ("deleted", "released") for c in planned.changes) == 6
    assert footprint("DI-2") == before


def test_reconcile_repairs_drift(inventory):
    service = deliver()
    port = port_of(service)
    stray = VLAN.objects.create(vid=3000, name="stray")
    Interface.objects.filter(pk=port.pk).update(untagged_vlan=stray, description="changed by hand")
    IPAddress.objects.get(description="Gateway of DI-12345").delete()
    prefix = Prefix.objects.get(pool_allocation__identifier="DI-12345")
    assert prefix.gateway is None

    run = runs.execute_run(runs.request_run(service=service, action="reconcile").pk)
    assert run.status == "succeeded"
    port.refresh_from_db()
    assert (port.untagged_vlan.name, port.description) == ("vlan__DI-12345", "DI-12345 (1000 Mbps)")
    repaired = {(c["action"], c["model"]): c.get("fields", {}) for c in run.changes}
    assert repaired[("updated", "dcim.interface")] == {
        "untagged_vlan": [stray.pk, port.untagged_vlan_id], "description": ["changed by hand", "DI-12345 (1000 Mbps)"]}
    gateway = IPAddress.objects.get(description="Gateway of DI-12345")
    prefix.refresh_from_db()
    assert prefix.gateway == gateway and gateway.address == "203.0.113.1/28"
    assert ("created", "ipam.ipaddress") in repaired and ("updated", "ipam.prefix") in repaired
    assert any("is already gone" in line for line in run.log)
    assert sorted(resources(service)) == ["dedicated_interfaces", "gateway_interface", "gateway_ip_address",
                                          "prefix", "vlan", "vlan_id"]
    # Repaired: the next run finds nothing to do.
    assert runs.execute_run(runs.request_run(service=service, action="reconcile").pk).changes == []


def test_a_port_held_by_another_service_is_not_taken(inventory):
    first = deliver("DI-1")
    port = port_of(first)
    Interface.objects.filter(pk=port.pk).update(status="free")  # a hand edit: the port looks free again
    Interface.objects.filter(device__location=inventory, role="customer").exclude(pk=port.pk).update(status="reserved")
    second = deliver("DI-2")
    run = last_run(second)
    assert run.status == "failed"
    assert run.error == f"{port} is already held by service DI-1 (dedicated_interfaces)."
    assert nothing_left("DI-2")


@pytest.mark.parametrize("package, length", [("small", 29), ("medium", 28), ("large", 27)])
def test_ip_package_sets_the_prefix_length(inventory, package, length):
    deliver(ip_package=package)
    prefix = Prefix.objects.get(pool_allocation__identifier="DI-12345")
    assert prefix.prefix_length == length
    assert PrefixAllocation.objects.filter(identifier="DI-12345").count() == 1


def test_run_rows_are_kept_newest_first(inventory):
    service = deliver()
    runs.execute_run(runs.request_run(service=service, action="reconcile").pk)
    assert list(GeneratorRun.objects.filter(service=service).values_list("action", "status")) == [
        ("reconcile", "succeeded"), ("provision", "succeeded")]
