"""The L2VPN scenario end to end, eager tasks: order between sites, deliver, add and remove terminations
while active, decommission; the refusals (point-to-point with three sites, a VLAN taken, no free port).

The generator kit (``services.testing``) checks the three properties every generator has: a second
run changes nothing, decommissioning gives back everything, a failed run leaves nothing.
"""

from dcim.models import Interface, Location
from demo.inventory import l2vpn
from ipam.models import VLAN, L2Domain, NumberAllocation
from services import runs, services
from services.generators.l2vpn import ID_POOL, L2DOMAIN_NAME
from services.models import Service, ServiceResource
from services.selectors import documentation_sections
from services.testing import (
    assert_failure_leaves_nothing,
    assert_gives_back_everything,
    assert_idempotent,
    footprint,
)
from tenancy.models import Tenant

from .generator_fixtures import deliver as deliver_dedicated_internet
from .generator_fixtures import (
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    last_run,
    port_is_free,
    transition,
    update,
)

SERVICES = "/api/services/services/"


def order(identifier="L2VPN-1", *, topology="point-to-point", bandwidth=1000,
          terminations=(("bru1", 100), ("par1", 200))) -> Service:
    """Order an L2VPN (draft) for Acme, whose demo provider serves every demo site; located at the first site."""
    return services.service_create(
        service_type=l2vpn(), service_identifier=identifier, tenant=Tenant.objects.get(slug="acme"),
        location=Location.objects.get(slug=terminations[0][0]),
        attributes={"topology": topology, "bandwidth": bandwidth,
                    "terminations": [{"site": site, "vlan": vlan} for site, vlan in terminations]},
    )


def deliver(identifier="L2VPN-1", **kwargs) -> Service:
    return transition(order(identifier, **kwargs), "in-delivery")


def port_at(service: Service, site: str) -> Interface | None:
    row = ServiceResource.objects.filter(service=service, role=f"port:{site}").first()
    return Interface.objects.select_related("device__location", "untagged_vlan").get(pk=row.object_id) if row else None


def vlan_at(site: str, vid: int) -> VLAN | None:
    return VLAN.objects.filter(l2domain__name=L2DOMAIN_NAME.format(slug=site), vid=vid).first()


def resources(service) -> dict[str, list[str]]:
    by_role: dict[str, list[str]] = {}
    for row in ServiceResource.objects.filter(service=service).prefetch_related("object").order_by("role", "pk"):
        by_role.setdefault(row.role, []).append(str(row.object))
    return by_role


def terminations(service) -> list[dict]:
    return [{"site": item["site"], "vlan": item["vlan"]} for item in service.attributes["terminations"]]


def snapshot(port: Interface) -> tuple:
    port.refresh_from_db()
    return port.status, port.enabled, port.mode, port.untagged_vlan_id, port.description, port.last_updated


def test_point_to_point_is_delivered_and_a_second_run_changes_nothing(inventory):
    service = deliver()
    run = last_run(service)
    assert (run.action, run.status, run.error, service.status) == ("provision", "succeeded", "", "active")

    vpls = NumberAllocation.objects.get(pool__name=ID_POOL, identifier="L2VPN-1")
    assert vpls.value == 10000
    for site, vid in (("bru1", 100), ("par1", 200)):
        port, vlan = port_at(service, site), vlan_at(site, vid)
        assert (port.device.location.slug, port.device.name, port.name, port.speed) == (site, "sw01", "Ethernet4", 1000)
        assert (port.status, port.enabled, port.mode, port.untagged_vlan) == ("active", True, "access", vlan)
        assert port.description == "L2VPN-1 VPLS 10000 (1000 Mbps)"
        assert (vlan.name, vlan.location.slug, vlan.tenant.slug) == (f"l2vpn__L2VPN-1__{site}", site, "acme")
    assert resources(service) == {
        "port:bru1": ["sw01 Ethernet4"], "port:par1": ["sw01 Ethernet4"],
        "vlan:bru1": ["l2vpn__L2VPN-1__bru1 (100)"], "vlan:par1": ["l2vpn__L2VPN-1__par1 (200)"],
        "vpls_id": ["L2VPN id pool: 10000 for L2VPN-1"],
    }
    # The generator fills in each termination's port; the rest of the list is as ordered.
    assert service.attributes["terminations"] == [{"site": "bru1", "vlan": 100, "port": "sw01 Ethernet4"},
                                                  {"site": "par1", "vlan": 200, "port": "sw01 Ethernet4"}]

    documentation = service.attributes["documentation"]
    assert "```mermaid" in documentation and 'vpls(("Pseudowire 10000"))' in documentation
    assert 't1["Brussels 1<br/>sw01 Ethernet4<br/>VLAN 100"] --- vpls' in documentation
    assert 't2["Paris 1<br/>sw01 Ethernet4<br/>VLAN 200"] --- vpls' in documentation
    port = port_at(service, "par1")
    assert f"[sw01 Ethernet4](/admin/dcim/interface/{port.pk}/change/)" in documentation
    assert '<pre class="mermaid">' in documentation_sections(service)[0]["html"]

    assert_idempotent(service)


def test_terminations_added_and_removed_while_active(inventory):
    before = footprint()
    service = deliver(topology="multipoint", terminations=(("bru1", 100), ("par1", 200)))
    bru1, par1 = port_at(service, "bru1"), port_at(service, "par1")
    untouched = snapshot(bru1), snapshot(par1), vlan_at("bru1", 100).pk, vlan_at("par1", 200).pk

    # A third site: only its port and VLAN are added (and the documentation and port written).
    service = update(service, terminations=[*terminations(service), {"site": "nyc1", "vlan": 300}])
    run = last_run(service)
    assert (run.action, run.status, service.status) == ("provision", "succeeded", "active")
    nyc1 = port_at(service, "nyc1")
    assert (nyc1.device.location.slug, nyc1.untagged_vlan, nyc1.status) == ("nyc1", vlan_at("nyc1", 300), "active")
    assert sorted((c["action"], c["model"], c["id"]) for c in run.changes) == sorted([
        ("created", "ipam.vlan", vlan_at("nyc1", 300).pk), ("updated", "dcim.interface", nyc1.pk),
        ("updated", "services.service", service.pk)])
    assert (snapshot(bru1), snapshot(par1), vlan_at("bru1", 100).pk, vlan_at("par1", 200).pk) == untouched
    assert [item.get("port") for item in service.attributes["terminations"]] == ["sw01 Ethernet4"] * 3
    assert "t3[\"New York 1<br/>sw01 Ethernet4<br/>VLAN 300\"] --- vpls" in service.attributes["documentation"]
    assert 'vpls(("VPLS 10000"))' in service.attributes["documentation"]
    assert_idempotent(service)

    # Paris 1 removed: exactly its port is given back and its VLAN deleted; the others stay as they were.
    par1_vlan = vlan_at("par1", 200).pk
    service = update(service, terminations=[t for t in terminations(service) if t["site"] != "par1"])
    run = last_run(service)
    assert (run.status, service.status) == ("succeeded", "active")
    assert sorted((c["action"], c["model"], c["id"]) for c in run.changes) == sorted([
        ("released", "dcim.interface", par1.pk), ("deleted", "ipam.vlan", par1_vlan),
        ("updated", "services.service", service.pk)])
    assert port_is_free(par1) and not VLAN.objects.filter(pk=par1_vlan).exists()
    assert (snapshot(bru1), vlan_at("bru1", 100).pk) == (untouched[0], untouched[2])
    assert nyc1.untagged_vlan == vlan_at("nyc1", 300) and port_at(service, "nyc1") == nyc1
    assert sorted(resources(service)) == ["port:bru1", "port:nyc1", "vlan:bru1", "vlan:nyc1", "vpls_id"]
    assert "Paris 1" not in service.attributes["documentation"]

    # A termination's VLAN changes (rw+): a new VLAN on the same port, the old one deleted.
    old_vlan = vlan_at("bru1", 100).pk
    # (sent back as read, ports included: a client may return what the generator wrote)
    read = service.attributes["terminations"]
    service = update(service, terminations=[{**read[0], "vlan": 150}, read[1]])
    assert last_run(service).status == "succeeded"
    assert port_at(service, "bru1") == bru1 and port_at(service, "bru1").untagged_vlan == vlan_at("bru1", 150)
    assert not VLAN.objects.filter(pk=old_vlan).exists()

    # Decommissioned: everything given back (ports free, VLANs gone, the VPLS id back in the pool).
    run = assert_gives_back_everything(service, before)
    assert run.status == "succeeded"
    service.refresh_from_db()
    assert service.status == "decommissioned" and "documentation" not in service.attributes
    assert [item.get("port") for item in service.attributes["terminations"]] == [None, None]
    assert not NumberAllocation.objects.filter(pool__name=ID_POOL).exists()
    assert not ServiceResource.objects.filter(service=service).exists()
    assert all(port_is_free(port) for port in (bru1, par1, nyc1))


def test_point_to_point_with_three_terminations_is_refused(inventory, api):
    service_type = l2vpn()
    payload = {
        "service_identifier": "L2VPN-3", "service_type": service_type.slug,
        "tenant": Tenant.objects.get(slug="acme").pk, "location": Location.objects.get(slug="bru1").pk,
        "attributes": {"topology": "point-to-point", "bandwidth": 1000, "terminations": [
            {"site": "bru1", "vlan": 100}, {"site": "par1", "vlan": 200}, {"site": "nyc1", "vlan": 300}]},
    }
    response = api.post(SERVICES, payload, format="json")
    assert response.status_code == 400, response.data
    assert response.data["attributes"]["terminations"] == [
        "A point-to-point L2VPN has exactly two terminations; 3 given."]
    assert not Service.objects.filter(service_identifier="L2VPN-3").exists()

    # Multipoint takes three; a point-to-point one cannot grow a third site later either.
    payload["attributes"]["topology"] = "multipoint"
    assert api.post(SERVICES, payload, format="json").status_code == 201
    service = order("L2VPN-4")
    response = api.patch(f"{SERVICES}{service.pk}/", {"version": service.version, "attributes": {
        "terminations": [*terminations(service), {"site": "nyc1", "vlan": 300}]}}, format="json")
    assert response.status_code == 400, response.data
    assert response.data["attributes"]["terminations"] == [
        "A point-to-point L2VPN has exactly two terminations; 3 given."]
    service.refresh_from_db()
    assert len(service.attributes["terminations"]) == 2 and service.version == 1


def test_no_free_port_at_a_site_fails_the_run_and_leaves_nothing(inventory):
    Interface.objects.filter(device__location__slug="par1", role="customer").update(status="reserved")
    before = footprint()
    service = deliver()
    run = last_run(service)
    assert (run.status, service.status) == ("failed", "failed")
    assert run.error == "No free customer port of 1000 Mbps or more on the core switches of Paris 1."
    assert run.changes == [] and not ServiceResource.objects.filter(service=service).exists()
    assert footprint() == before
    assert "documentation" not in service.attributes
    assert [item.get("port") for item in service.attributes["terminations"]] == [None, None]


def test_a_failure_partway_leaves_nothing(inventory):
    before = footprint()
    run = assert_failure_leaves_nothing(order(), before)
    assert run.action == "provision"


def test_a_vlan_id_taken_at_the_site_fails_the_run(inventory):
    deliver("L2VPN-1")
    clash = deliver("L2VPN-2", terminations=(("nyc1", 300), ("par1", 200)))
    run = last_run(clash)
    assert run.status == "failed"
    assert run.error == ("Termination at Paris 1: VLAN 200 is already used at Paris 1 (l2vpn__L2VPN-1__par1); "
                         "choose another VLAN.")
    assert not ServiceResource.objects.filter(service=clash).exists() and vlan_at("nyc1", 300) is None

    # The same id at another site is another VLAN (one L2 domain per site).
    other = deliver("L2VPN-3", terminations=(("nyc1", 200), ("dal1", 200)))
    assert last_run(other).status == "succeeded"
    assert vlan_at("nyc1", 200).l2domain != vlan_at("dal1", 200).l2domain != vlan_at("par1", 200).l2domain

    # An id a Dedicated Internet service uses on the site's devices (the global VLAN pool) is taken too.
    deliver_dedicated_internet("DI-1")  # VLAN 1000 at Paris 1
    taken = deliver("L2VPN-4", terminations=(("bru1", 1000), ("par1", 1000)))
    assert last_run(taken).error.startswith("Termination at Paris 1: VLAN 1000 is already used at Paris 1 (")
    assert last_run(taken).error.endswith(", vlan__DI-1); choose another VLAN.")


def test_the_site_domains_and_the_pool_are_shared_infrastructure(inventory):
    """The demo creates them; a service neither owns nor removes them."""
    before = footprint()
    service = deliver()
    assert L2Domain.objects.filter(name=L2DOMAIN_NAME.format(slug="par1")).exists()
    assert not ServiceResource.objects.filter(service=service, content_type__model="l2domain").exists()
    assert_gives_back_everything(service, before)
    assert L2Domain.objects.filter(name=L2DOMAIN_NAME.format(slug="par1")).exists()


def test_plan_of_an_order_rolls_back(inventory):
    service = order()
    before = footprint()
    run = runs.plan_run(service=service)
    assert run.status == "succeeded"
    assert {(c["action"], c["model"]) for c in run.changes} == {
        ("created", "ipam.numberallocation"), ("created", "ipam.vlan"), ("updated", "dcim.interface"),
        ("updated", "services.service")}
    assert footprint() == before


def test_the_admin_catalog_offers_both_types(inventory, admin_client):
    page = admin_client.get("/admin/services/service/catalog/")
    assert page.status_code == 200
    html = page.content.decode()
    for slug, name in (("dedicated-internet", "Dedicated Internet"), ("l2vpn", "L2VPN")):
        assert f'data-service-type="{slug}"' in html and name in html
    assert "services/icons/l2vpn.svg" in html
    form = admin_client.get("/admin/services/service/add/", {"service_type": "l2vpn"})
    assert form.status_code == 200 and "Terminations" in form.content.decode()
    # A delivered one: its page shows the terminations' ports and the documentation's diagram.
    service = deliver()
    page = admin_client.get(f"/admin/services/service/{service.pk}/change/")
    assert page.status_code == 200
    assert "sw01 Ethernet4" in page.content.decode() and '<pre class="mermaid">' in page.content.decode()


def test_a_termination_at_a_site_that_is_gone_fails_the_run(inventory):
    service = order()
    Location.objects.filter(slug="par1").update(slug="par9")  # renamed behind the service's back
    service = transition(service, "in-delivery")
    run = last_run(service)
    assert (run.status, run.error) == ("failed", "Termination at par1: there is no site 'par1' (any more).")
    assert not ServiceResource.objects.filter(service=service).exists()


def test_more_bandwidth_moves_every_termination_to_a_port_that_carries_it(inventory):
    service = deliver()
    old_ports = port_at(service, "bru1"), port_at(service, "par1")
    vlans = vlan_at("bru1", 100).pk, vlan_at("par1", 200).pk
    service = update(service, bandwidth=10000)  # L2VPN asks no approval
    assert (last_run(service).status, service.status) == ("succeeded", "active")
    for site in ("bru1", "par1"):
        port = port_at(service, site)
        assert (port.name, port.speed, port.description) == ("Ethernet10", 10000, "L2VPN-1 VPLS 10000 (10000 Mbps)")
    assert all(port_is_free(port) for port in old_ports)
    assert (vlan_at("bru1", 100).pk, vlan_at("par1", 200).pk) == vlans  # the VLANs stay
    assert [item["port"] for item in service.attributes["terminations"]] == ["sw01 Ethernet10"] * 2
