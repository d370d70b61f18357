"""The device and interface admin as a NetBox user expects it: natural interface order (stored, so that pages
are right), site and region filters over the location tree, the site and the holding service as columns,
speeds as 10G, the device page's interface table; a fixed number of queries per list, whatever its size;
nothing of another tenant anywhere.
"""

import importlib
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models.functions import Collate
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dcim.models import NAME_KEY_LENGTH, Device, Interface, format_speed, natural_name_key
from services.models import ServiceResource
from tenancy.models import Membership
from tests.services.factories import make_service

from .factories import (
    make_device,
    make_device_role,
    make_device_type,
    make_interface,
    make_location,
    make_tenant,
    make_vlan,
)

pytestmark = pytest.mark.django_db

DEVICES = reverse("admin:dcim_device_changelist")
INTERFACES = reverse("admin:dcim_interface_changelist")



def shown(response) -> list:
    return list(response.context["cl"].result_list)


def hold(service, interface, role="dedicated_interfaces"):
    """Record ``interface`` as held by ``service``, as a generator's claim does."""
    return ServiceResource.objects.create(service=service, role=role, object_id=interface.pk,
                                          content_type=ContentType.objects.get_for_model(Interface))


# -- the natural sort key ------------------------------------------------------------------------------

NATURAL = ["et-0/0/2", "et-0/0/10", "et-0/1/0", "Ethernet1", "Ethernet1/1", "Ethernet1/2", "Ethernet1/10",
           "Ethernet2", "Ethernet10", "ge-0/0/9", "ge-0/0/10", "lo0", "vlan_99", "vlan_1000", "xe-1/0/0"]


def test_keys_sort_names_as_people_read_them():
    assert sorted(NATURAL, key=natural_name_key) == NATURAL
    assert natural_name_key("Ethernet10") == "ethernet0210"
    assert natural_name_key("Ethernet010") == natural_name_key("ethernet10")  # ties broken by the name


def test_keys_fit_their_column_and_hold_only_what_every_collation_orders_alike():
    longest = max(("1a" * 32, "1." * 32, "9" * 64, "é-1/2:3" * 9), key=lambda name: len(natural_name_key(name)))
    assert len(natural_name_key(longest)) <= NAME_KEY_LENGTH
    assert all(re.fullmatch(r"[0-9a-z]*", natural_name_key(name)) for name in [*NATURAL, "Port-Ä 7", "⌘"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a linguistic collation of PostgreSQL (ICU)")
def test_a_linguistic_collation_orders_the_keys_alike():
    """Production databases often sort by a language's rules (which skip punctuation): the keys do not care."""
    device = make_device()
    for name in reversed(NATURAL):
        make_interface(device, name=name)
    for collation in ("und-x-icu", "en-x-icu"):
        ordered = device.interfaces.order_by(Collate("name_key", collation), "name")
        assert [i.name for i in ordered] == NATURAL, collation


def test_every_write_path_keeps_the_key():
    device = make_device()
    interface = make_interface(device, name="Ethernet7")
    assert interface.name_key == natural_name_key("Ethernet7")
    interface.name = "Ethernet12"
    interface.save(update_fields=["name"])
    Interface.objects.bulk_create([Interface(device=device, name="Ethernet3")])
    bulk = Interface.objects.get(name="Ethernet3")
    bulk.name = "Ethernet30"
    Interface.objects.bulk_update([bulk], ["name"])
    Interface.objects.filter(pk=interface.pk).update(name="Ethernet2")
    assert {i.name: i.name_key for i in Interface.objects.filter(device=device)} == {
        "Ethernet2": natural_name_key("Ethernet2"), "Ethernet30": natural_name_key("Ethernet30")}


def test_update_refuses_a_name_it_cannot_key():
    from django.db.models import F

    with pytest.raises(TypeError, match="sort key"):
        Interface.objects.update(name=F("description"))


def test_the_migration_fills_the_key_of_existing_rows():
    device = make_device()
    for name in ("Ethernet10", "Ethernet9"):
        make_interface(device, name=name)
    Interface.objects.update(name_key="")
    importlib.import_module("dcim.migrations.0007_interface_natural_name_key").fill_name_keys(apps, None)
    assert [i.name for i in Interface.objects.filter(device=device)] == ["Ethernet9", "Ethernet10"]
    assert not Interface.objects.filter(name_key="").exists()


def test_the_database_orders_and_pages_interfaces_naturally(admin_client, api):
    device = make_device(name="sw01")
    for name in reversed(NATURAL):
        make_interface(device, name=name)
    assert [i.name for i in device.interfaces.all()] == NATURAL
    model_admin = admin.site._registry[Interface]
    model_admin.list_per_page = 5
    try:
        pages = [shown(admin_client.get(INTERFACES, {"p": page})) for page in (1, 2, 3)]
    finally:
        del model_admin.list_per_page
    assert [i.name for page in pages for i in page] == NATURAL
    response = api.get("/api/dcim/interfaces/", {"device_id": device.pk, "limit": 5, "offset": 5})
    assert [row["name"] for row in response.json()["results"]] == NATURAL[5:10]


# -- columns and filters -------------------------------------------------------------------------------

@pytest.mark.parametrize(("mbps", "text"), [(None, ""), (10, "10M"), (100, "100M"), (1000, "1G"), (2500, "2.5G"),
                                            (10000, "10G"), (25000, "25G"), (100000, "100G"), (400000, "400G"),
                                            (1600000, "1.6T")])
def test_speeds_read_as_people_write_them(mbps, text):
    assert format_speed(mbps) == text


@pytest.fixture
def geography():
    """France (Paris: par1 with a building and a zone) and Belgium (Brussels: bru1), a device in each place."""
    france = make_location("country", name="France")
    paris = make_location("metro", parent=france, name="Paris")
    par1 = make_location("site", parent=paris, name="Paris 1")
    building = make_location("building", parent=par1, name="Paris 1 hall A")
    zone = make_location("zone", parent=building, name="Paris 1 cage 3")
    bru1 = make_location("site", parent=make_location("metro", parent=make_location("country", name="Belgium"),
                                                      name="Brussels"), name="Brussels 1")
    juniper = make_device_type()
    devices = {
        "par-sw": make_device(location=par1, name="par-sw"),
        "par-hall": make_device(location=building, name="par-hall", role=make_device_role(name="Hall leaf")),
        "par-cage": make_device(location=zone, name="par-cage", device_type=juniper, status="planned"),
        "bru-sw": make_device(location=bru1, name="bru-sw"),
    }
    return {"france": france, "paris": paris, "par1": par1, "building": building, "zone": zone, "bru1": bru1,
            "juniper": juniper, **devices}


def names(response) -> set:
    return {obj.name for obj in shown(response)}


def test_devices_filter_by_region_site_and_location_subtree(admin_client, geography):
    g = geography
    assert names(admin_client.get(DEVICES, {"region_id": g["france"].pk})) == {"par-sw", "par-hall", "par-cage"}
    assert names(admin_client.get(DEVICES, {"site_id": g["par1"].pk})) == {"par-sw", "par-hall", "par-cage"}
    assert names(admin_client.get(DEVICES, {"location_id": g["building"].pk})) == {"par-hall", "par-cage"}
    assert names(admin_client.get(DEVICES, {"site_id": g["bru1"].pk})) == {"bru-sw"}
    assert names(admin_client.get(DEVICES, {"site_id": g["building"].pk})) == set()  # not a site
    assert names(admin_client.get(DEVICES, {"site_id": "paris"})) == set()


def test_devices_filter_by_role_manufacturer_and_status(admin_client, geography):
    g = geography
    hall = g["par-hall"]
    assert names(admin_client.get(DEVICES, {"role__id__exact": hall.role_id})) == {"par-hall"}
    assert names(admin_client.get(DEVICES, {"device_type__manufacturer__id__exact":
                                            g["juniper"].manufacturer_id})) == {"par-cage"}
    assert names(admin_client.get(DEVICES, {"status__exact": "planned"})) == {"par-cage"}


def test_device_list_shows_the_site_of_every_device(admin_client, geography):
    g = geography
    response = admin_client.get(DEVICES)
    html = response.content.decode()
    rows = {device.name: device.shown_site for device in shown(response)}
    assert rows == {"par-sw": g["par1"], "par-hall": g["par1"], "par-cage": g["par1"], "bru-sw": g["bru1"]}
    assert f'<a href="?site_id={g["par1"].pk}">Paris 1</a>' in html
    locations = {device.name: admin.site._registry[Device].location_column(device) for device in shown(response)}
    assert locations == {"par-sw": "", "par-hall": "Paris 1 hall A", "par-cage": "Paris 1 cage 3", "bru-sw": ""}
    filters = {spec.title: [choice["display"] for choice in spec.choices(response.context["cl"])][1:]
               for spec in response.context["cl"].filter_specs}
    indent = "\u00a0" * 3
    assert filters["region"] == ["Belgium", f"{indent}Brussels", "France", f"{indent}Paris"]  # the tree's order
    assert filters["site"] == ["Brussels 1", "Paris 1"]
    assert filters["location"] == ["Paris 1 hall A", f"{indent}Paris 1 cage 3"]


def test_interface_list_shows_device_site_speed_and_service(admin_client, geography):
    g = geography
    port = make_interface(g["par-sw"], name="Ethernet4", speed=1000)
    other = make_interface(g["bru-sw"], name="Ethernet4", speed=2500)
    service = make_service(location=g["par1"])
    hold(service, port)
    hold(service, port, role="another_role")  # shown once
    response = admin_client.get(INTERFACES)
    html = response.content.decode()
    device_url = reverse("admin:dcim_device_change", args=[g["par-sw"].pk])
    service_url = reverse("admin:services_service_change", args=[service.pk])
    assert f'<a href="{device_url}">par-sw</a>' in html
    assert f'<a href="?site_id={g["par1"].pk}">Paris 1</a>' in html
    assert '<td class="field-speed_column">1G</td>' in html and '<td class="field-speed_column">2.5G</td>' in html
    assert html.count(f'<a href="{service_url}">{service.service_identifier}</a>') == 1
    rows = {(i.device.name, i.name): list(i.shown_services) for i in shown(response)}
    assert rows == {("par-sw", "Ethernet4"): [service], ("bru-sw", "Ethernet4"): []}
    change = admin_client.get(reverse("admin:dcim_interface_change", args=[port.pk])).content.decode()
    assert f'<a href="{service_url}">{service.service_identifier}</a>' in change
    assert service.service_identifier not in admin_client.get(
        reverse("admin:dcim_interface_change", args=[other.pk])).content.decode()


def test_interfaces_filter_by_site_and_device(admin_client, geography):
    g = geography
    for device in ("par-sw", "par-cage", "bru-sw"):
        make_interface(g[device], name="Ethernet1")

    def devices_of(response):
        return {i.device.name for i in shown(response)}

    assert devices_of(admin_client.get(INTERFACES, {"site_id": g["par1"].pk})) == {"par-sw", "par-cage"}
    assert devices_of(admin_client.get(INTERFACES, {"location_id": g["zone"].pk})) == {"par-cage"}
    assert devices_of(admin_client.get(INTERFACES, {"device_id": g["bru-sw"].pk})) == {"bru-sw"}
    for bad in ("x", "²", "-1", "9" * 40):
        assert devices_of(admin_client.get(INTERFACES, {"device_id": bad})) == set()
        assert devices_of(admin_client.get(INTERFACES, {"site_id": bad})) == set()

    def device_choices(params):
        response = admin_client.get(INTERFACES, params)
        spec = next((spec for spec in response.context["cl"].filter_specs if spec.title == "device"), None)
        return spec and [choice["display"] for choice in spec.choices(response.context["cl"])][1:]

    # Every device would be too many: those of the site chosen, or the device chosen.
    assert device_choices({}) is None
    assert device_choices({"site_id": g["par1"].pk}) == ["par-cage", "par-hall", "par-sw"]
    assert device_choices({"device_id": g["bru-sw"].pk}) == ["bru-sw"]


# -- the device page -------------------------------------------------------------------------------------

def test_device_page_lists_interfaces_naturally_with_links(admin_client, geography):
    device = geography["par-sw"]
    for name in ("Ethernet10", "Ethernet2", "Ethernet1"):
        make_interface(device, name=name, speed=10000)
    held = device.interfaces.get(name="Ethernet10")
    service = make_service(location=geography["par1"])
    hold(service, held)
    response = admin_client.get(reverse("admin:dcim_device_change", args=[device.pk]))
    html = response.content.decode()
    assert not response.context["inline_admin_formsets"]
    assert [row["name"] for row in response.context["interface_rows"]] == ["Ethernet1", "Ethernet2", "Ethernet10"]
    positions = [html.index(f'">{name}</a>') for name in ("Ethernet1", "Ethernet2", "Ethernet10")]
    assert positions == sorted(positions)
    assert f'<a href="{reverse("admin:dcim_interface_change", args=[held.pk])}">Ethernet10</a>' in html
    assert f'<a href="{reverse("admin:services_service_change", args=[service.pk])}">' in html
    assert f'href="{INTERFACES}?device_id={device.pk}"' in html  # edit them in the list
    assert f'href="{reverse("admin:dcim_interface_add")}?device={device.pk}"' in html
    assert ">10G<" in html
    add = admin_client.get(reverse("admin:dcim_interface_add"), {"device": device.pk})
    assert add.context["adminform"].form.initial["device"] == str(device.pk)


def test_device_page_shows_tagged_vlans_and_what_has_none(admin_client):
    device = make_device()
    trunk = make_interface(device, name="Ethernet1", mode="tagged", untagged_vlan=make_vlan(vid=10, name="native"))
    trunk.tagged_vlans.add(make_vlan(vid=30), make_vlan(vid=20))
    html = admin_client.get(reverse("admin:dcim_device_change", args=[device.pk])).content.decode()
    assert "native (10)" in html and "tagged 20, 30" in html
    empty = admin_client.get(reverse("admin:dcim_device_change", args=[make_device().pk])).content.decode()
    assert "This device has no interfaces yet." in empty


# -- queries: as many for 1,000 rows as for 10 ---------------------------------------------------------------

def fill(count: int, batch: str) -> None:
    """``count`` devices over a few sites, each with one interface held by a service."""
    sites = [make_location("site", parent=make_location("metro", parent=make_location("country")))
             for _ in range(3)]
    role, device_type = make_device_role(), make_device_type()
    devices = Device.objects.bulk_create(Device(name=f"{batch}-{n}", location=sites[n % 3], role=role,
                                                device_type=device_type) for n in range(count))
    interfaces = Interface.objects.bulk_create(Interface(device=device, name="Ethernet1", speed=1000)
                                               for device in devices)
    service = ServiceResource.objects.first().service if ServiceResource.objects.exists() else \
        make_service(location=sites[0])
    content_type = ContentType.objects.get_for_model(Interface)
    ServiceResource.objects.bulk_create(ServiceResource(service=service, role=f"port-{i.pk}", content_type=content_type,
                                                        object_id=i.pk) for i in interfaces)


def count_queries(client, url, rows: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"all": ""})
    assert response.status_code == 200
    assert len(shown(response)) == rows
    return len(queries)


@pytest.fixture
def member_client(client, django_user_model):
    """A viewer of the tenant that holds the devices' services: rows, sites and services go through the scoping."""
    def log_in(tenant):
        user = django_user_model.objects.create_user("member", password="pw", is_staff=True)
        Membership.objects.create(user=user, tenant=tenant, role="viewer")
        client.force_login(user)
        return client
    return log_in


@pytest.mark.parametrize("as_member", [False, True])
@pytest.mark.parametrize(("model", "url", "expected"), [(Device, DEVICES, {False: 10, True: 14}),
                                                        (Interface, INTERFACES, {False: 8, True: 12})])
def test_list_queries_do_not_grow_with_rows(client, admin_user, member_client, monkeypatch, model, url, expected,
                                            as_member):
    model_admin = admin.site._registry[model]
    monkeypatch.setattr(model_admin, "list_max_show_all", 5000)
    fill(10, "small")
    logged_in = member_client(ServiceResource.objects.first().service.tenant) if as_member else client
    if not as_member:
        client.force_login(admin_user)
    small = count_queries(logged_in, url, 10)
    fill(990, "large")
    assert count_queries(logged_in, url, 1000) == small == expected[as_member]


# -- another tenant --------------------------------------------------------------------------------------------

@pytest.fixture
def tenants(django_user_model):
    """Tenant A and tenant B (everything of B carries "zzbeta"), a shared switch at a shared site whose port B's
    service holds, in B's VLAN, and a viewer of A."""
    tenant_a, tenant_b = make_tenant(), make_tenant()
    shared_site = make_location("site", parent=make_location("metro", parent=make_location("country")),
                                name="Shared site")
    b_site = make_location("site", parent=shared_site.parent, tenant=tenant_b, name="zzbeta-site")
    switch = make_device(location=shared_site, name="shared-switch")
    a_device = make_device(location=shared_site, name="alpha-device", tenant=tenant_a)
    b_device = make_device(location=b_site, name="zzbeta-device", tenant=tenant_b)
    a_port = make_interface(switch, name="Ethernet1")
    b_port = make_interface(switch, name="Ethernet2", mode="access",
                            untagged_vlan=make_vlan(name="zzbeta-vlan", tenant=tenant_b))
    make_interface(a_device, name="Ethernet1")
    make_interface(b_device, name="zzbeta-eth0")
    a_service = make_service(tenant=tenant_a, location=shared_site)
    b_service = make_service(tenant=tenant_b, location=shared_site)
    ServiceResource.objects.filter(service=b_service).delete()
    hold(a_service, a_port)
    hold(b_service, b_port)
    # A device of A standing at B's site: A sees the device, never the site.
    a_at_b = make_device(location=b_site, name="alpha-at-b", tenant=tenant_a)
    viewer = django_user_model.objects.create_user("alpha-viewer", password="pw", is_staff=True)
    Membership.objects.create(user=viewer, tenant=tenant_a, role="viewer")
    return {"viewer": viewer, "switch": switch, "a_device": a_device, "b_device": b_device, "b_site": b_site,
            "a_service": a_service, "b_service": b_service, "a_at_b": a_at_b, "b_port": b_port}


def leaks(html: str, world) -> list:
    markers = ["zzbeta", world["b_service"].service_identifier,
               reverse("admin:services_service_change", args=[world["b_service"].pk])]
    return [marker for marker in markers if marker.lower() in html.lower()]


def test_another_tenants_devices_sites_and_services_never_show(client, tenants):
    client.force_login(tenants["viewer"])
    for url in (DEVICES, INTERFACES, f"{INTERFACES}?site_id={tenants['switch'].location_id}",
                reverse("admin:dcim_device_change", args=[tenants["switch"].pk]),
                reverse("admin:dcim_device_change", args=[tenants["a_at_b"].pk]),
                reverse("admin:dcim_interface_change", args=[tenants["b_port"].pk])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not leaks(response.content.decode(), tenants), (url, leaks(response.content.decode(), tenants))
    devices = client.get(DEVICES)
    assert {d.name for d in shown(devices)} == {"shared-switch", "alpha-device", "alpha-at-b"}
    assert next(d for d in shown(devices) if d.name == "alpha-at-b").shown_site is None
    interfaces = client.get(INTERFACES)
    held = {i.name: [s.service_identifier for s in i.shown_services] for i in shown(interfaces)
            if i.device_id == tenants["switch"].pk}
    assert held == {"Ethernet1": [tenants["a_service"].service_identifier], "Ethernet2": []}
    page = client.get(reverse("admin:dcim_device_change", args=[tenants["switch"].pk]))
    assert [row["services"] for row in page.context["interface_rows"]][1] == ""
    assert "Add interface" not in page.content.decode() and "Edit interfaces" not in page.content.decode()
    assert (f'href="{INTERFACES}?device_id={tenants["switch"].pk}" class="device-interfaces-edit">Interface list</a>'
            in page.content.decode())


def test_another_tenants_locations_and_devices_are_neither_offered_nor_obeyed(client, tenants):
    client.force_login(tenants["viewer"])
    b_site, b_device = tenants["b_site"], tenants["b_device"]
    for url, params in ((DEVICES, {"site_id": b_site.pk}), (INTERFACES, {"site_id": b_site.pk}),
                        (INTERFACES, {"device_id": b_device.pk})):
        response = client.get(url, params)
        assert response.status_code == 200
        assert shown(response) == [], (url, params)
        assert not leaks(response.content.decode(), tenants)
    response = client.get(INTERFACES, {"region_id": b_site.parent_id})
    spec = next(spec for spec in response.context["cl"].filter_specs if spec.title == "device")
    assert [c["display"] for c in spec.choices(response.context["cl"])][1:] == ["alpha-at-b", "alpha-device",
                                                                    "shared-switch"]
    assert not leaks(response.content.decode(), tenants)
