"""NetBox tooling works unchanged: pynetbox itself, driving a live server of the catalog.

Each test starts the server (pytest-django's ``live_server``, which needs a transactional database) and
talks to it only through pynetbox, as a NetBox script would. The NetBox names that come with the dcim
and ipam work (sites, device types and roles, VRFs, VLAN groups...) are tested where the route exists;
a test whose route is not there yet is skipped, naming the route.
"""

import pynetbox
import pytest
import requests
from django.conf import settings

from catalog_site.models import Token
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(admin_user):
    return Token.issue(user=admin_user, description="pynetbox")[1]


@pytest.fixture
def connect(live_server, token):
    """``connect(**options)``: a pynetbox API on the live server. Its HTTP sessions are closed before the
    server stops: a kept-alive connection would close after it, on a database connection no longer shared."""
    apis = []

    def connect(**options):
        apis.append(pynetbox.api(live_server.url, **{"token": token, **options}))
        return apis[-1]

    yield connect
    for api in apis:
        api.http_session.close()


@pytest.fixture
def nb(connect):
    return connect()


def require(nb, app: str, *endpoints: str) -> None:
    """Skip the test while one of ``/api/<app>/<endpoint>/`` does not exist yet."""
    root = requests.get(f"{nb.base_url}/{app}/", headers={"Authorization": f"Token {nb.token}"}, timeout=30)
    root.raise_for_status()
    missing = [endpoint for endpoint in endpoints if endpoint not in root.json()]
    if missing:
        pytest.skip(f"not there yet: {', '.join(f'/api/{app}/{endpoint}/' for endpoint in missing)}")


def value(choice):
    """A choice as pynetbox reads it: NetBox's ``{value, label}`` object, or a plain value."""
    return getattr(choice, "value", None) or (choice.get("value") if isinstance(choice, dict) else choice)


# -- connecting -----------------------------------------------------------------------------------------


def test_status_and_version(nb, connect):
    status = nb.status()
    assert status["netbox-version"] == settings.NETBOX_VERSION
    assert {"django-version", "installed-apps", "python-version", "plugins", "rq-workers-running"} <= set(status)
    assert nb.version == settings.API_VERSION
    # Without a token the root answers 403, whose API-Version header pynetbox still reads.
    assert connect(token=None).version == settings.API_VERSION


def test_strict_filters_read_the_schema(connect):
    nb = connect(strict_filters=True)
    Tenant.objects.create(name="Strict", slug="strict")
    assert "/api/tenancy/tenants/" in nb.openapi()["paths"]
    assert [t.slug for t in nb.tenancy.tenants.filter(name__ic="stri", slug__n="other")] == ["strict"]
    with pytest.raises(pynetbox.core.query.ParameterValidationError):
        nb.tenancy.tenants.filter(colour="red")
    assert nb.tenancy.tenants.count(name__isw="str") == 1


def test_an_unknown_filter_is_refused_without_strict_filters(nb):
    with pytest.raises(pynetbox.RequestError) as refused:
        list(nb.tenancy.tenants.filter(colour="red"))
    assert refused.value.req.status_code == 400 and "colour" in refused.value.req.json()


# -- tenants: CRUD, save() diffs, count, filter, brief ----------------------------------------------------


def test_tenant_crud_and_save_diffs(nb):
    parent = nb.tenancy.tenants.create(name="Acme", slug="acme")
    child = nb.tenancy.tenants.create(name="Acme Europe", slug="acme-europe", parent=parent.id)
    assert child.parent.id == parent.id and child.parent.slug == "acme"
    fetched = nb.tenancy.tenants.get(slug="acme-europe")
    assert fetched.id == child.id
    assert fetched.save() is False  # nothing changed: nothing sent
    fetched.description = "Europe"
    assert fetched.updates() == {"description": "Europe"}
    assert fetched.save() is True
    assert Tenant.objects.get(pk=child.id).description == "Europe"
    assert fetched.update({"name": "Acme EU"}) is True
    assert nb.tenancy.tenants.get(child.id).name == "Acme EU"
    assert nb.tenancy.tenants.count() == 2
    assert nb.tenancy.tenants.count(parent_id=parent.id) == 1
    assert [t.name for t in nb.tenancy.tenants.filter("Acme EU")] == ["Acme EU"]  # ?q=
    assert fetched.delete() is True
    assert nb.tenancy.tenants.get(slug="acme-europe") is None


def test_brief(nb):
    Tenant.objects.create(name="Brief", slug="brief")
    rows = list(nb.tenancy.tenants.filter(brief=True))
    assert set(dict(rows[0])) == {"id", "url", "display", "name", "slug", "depth"}


def test_pagination_and_threading(connect):
    Tenant.objects.bulk_create([Tenant(name=f"Page {n:03}", slug=f"page-{n:03}", lft=0, rght=0, tree_id=n, level=0)
                                for n in range(120)])
    Tenant.objects.rebuild()
    for threading in (False, True):
        nb = connect(threading=threading)
        names = [t.name for t in nb.tenancy.tenants.all()]
        assert sorted(names) == [f"Page {n:03}" for n in range(120)], threading
        assert len(nb.tenancy.tenants.filter(name__isw="page 00")) == 10
        assert len(list(nb.tenancy.tenants.all(limit=25))) == 120
    page = list(nb.tenancy.tenants.all(limit=10, offset=20))
    assert [t.name for t in page] == [f"Page {n:03}" for n in range(20, 30)]


def test_bulk_update_and_delete(nb):
    tenants = nb.tenancy.tenants.create([{"name": f"Bulk {n}", "slug": f"bulk-{n}"} for n in range(3)])
    for tenant in tenants:
        tenant.description = f"changed {tenant.slug}"
    updated = nb.tenancy.tenants.update(tenants)
    assert sorted(t.description for t in updated) == [f"changed bulk-{n}" for n in range(3)]
    assert nb.tenancy.tenants.update([{"id": tenants[0].id, "description": "by dict"}])[0].description == "by dict"
    with pytest.raises(pynetbox.RequestError):  # all or none: one unknown id
        nb.tenancy.tenants.update([{"id": tenants[1].id, "description": "no"}, {"id": 10**9, "description": "no"}])
    assert nb.tenancy.tenants.get(tenants[1].id).description == "changed bulk-1"
    assert nb.tenancy.tenants.delete([tenants[0], tenants[1].id]) is True
    assert [t.slug for t in nb.tenancy.tenants.all()] == ["bulk-2"]
    assert nb.tenancy.tenants.filter(slug="bulk-2").delete() is True
    assert nb.tenancy.tenants.count() == 0


# -- dcim -----------------------------------------------------------------------------------------------


def make_device(nb, name="sw1", **fields):
    """A site, a device type and a role, and a device of them (through the NetBox names)."""
    require(nb, "dcim", "sites", "device-types", "device-roles")
    site = nb.dcim.sites.get(slug="par1") or nb.dcim.sites.create(name="PAR1", slug="par1", status="active")
    manufacturer = (nb.dcim.manufacturers.get(slug="acme")
                    or nb.dcim.manufacturers.create(name="Acme", slug="acme"))
    device_type = (nb.dcim.device_types.get(slug="acme-9000")
                   or nb.dcim.device_types.create(manufacturer=manufacturer.id, model="9000", slug="acme-9000"))
    role = (nb.dcim.device_roles.get(slug="core")
            or nb.dcim.device_roles.create(name="Core", slug="core", color="ff0000"))
    return nb.dcim.devices.create(name=name, device_type=device_type.id, role=role.id, site=site.id,
                                  status="active", **fields)


def test_sites_and_regions(nb):
    require(nb, "dcim", "sites", "regions")
    region = nb.dcim.regions.create(name="Europe", slug="europe")
    site = nb.dcim.sites.create(name="AMS1", slug="ams1", region=region.id, status="active")
    assert site.region.id == region.id
    assert [s.slug for s in nb.dcim.sites.filter(region_id=region.id)] == ["ams1"]
    site.description = "Amsterdam"
    assert site.save()
    assert nb.dcim.sites.get(slug="ams1").description == "Amsterdam"
    assert nb.dcim.sites.count(slug__n="ams1", region_id=region.id) == 0


def test_device_types_roles_devices_and_interfaces(nb):
    device = make_device(nb)
    assert device.device_type.slug == "acme-9000" and device.role.slug == "core" and device.site.slug == "par1"
    assert (device.status.value, device.status.label) == ("active", "Active")  # NetBox's {value, label}
    device.status = "planned"  # written back as the plain value, as NetBox takes it
    device.description = "edited"
    assert device.save()
    assert nb.dcim.devices.get(device.id).status.value == "planned"
    assert [d.name for d in nb.dcim.devices.filter(role="core", site="par1")] == ["sw1"]
    assert nb.dcim.devices.count(site_id=device.site.id) == 1
    interface = nb.dcim.interfaces.create(device=device.id, name="xe-0/0/0", type="10gbase-x-sfpp")
    assert (interface.type.value, interface.type.label) == ("10gbase-x-sfpp", "SFP+ (10GE)")
    assert [i.name for i in nb.dcim.interfaces.filter(device="sw1")] == ["xe-0/0/0"]
    assert "status" in nb.dcim.devices.choices()


def test_bulk_update_and_delete_devices(nb):
    devices = [make_device(nb, name=f"leaf{n}") for n in range(3)]
    for device in devices:
        device.serial = f"SN-{device.name}"
    assert len(nb.dcim.devices.update(devices)) == 3
    assert sorted(d.serial for d in nb.dcim.devices.filter(name__isw="leaf")) == ["SN-leaf0", "SN-leaf1", "SN-leaf2"]
    assert nb.dcim.devices.delete(devices[:2]) is True
    assert [d.name for d in nb.dcim.devices.all()] == ["leaf2"]


# -- ipam -----------------------------------------------------------------------------------------------


def test_vrfs_prefixes_and_available_prefixes_and_ips(nb):
    require(nb, "ipam", "vrfs")
    vrf = nb.ipam.vrfs.create(name="Customers", rd="65000:1")
    container = nb.ipam.prefixes.create(prefix="10.40.0.0/16", vrf=vrf.id, status="container")
    assert container.vrf.id == vrf.id
    assert [free.prefix for free in container.available_prefixes.list()] == ["10.40.0.0/16"]
    child = container.available_prefixes.create({"prefix_length": 24, "status": "active"})
    assert child.prefix == "10.40.0.0/24"
    two = container.available_prefixes.create([{"prefix_length": 28}, {"prefix_length": 28}])
    assert [p.prefix for p in two] == ["10.40.1.0/28", "10.40.1.16/28"]
    address = child.available_ips.create()
    assert address.address == "10.40.0.1/24"
    addresses = child.available_ips.create([{} for _ in range(2)])
    assert [a.address for a in addresses] == ["10.40.0.2/24", "10.40.0.3/24"]
    assert str(child.available_ips.list()[0]) == "10.40.0.4/24"
    assert nb.ipam.prefixes.count(vrf_id=vrf.id, mask_length=24) == 1
    assert nb.ipam.ip_addresses.count(parent="10.40.0.0/24") == 3
    assert "status" in nb.ipam.prefixes.choices()


def test_a_full_prefix_is_an_allocation_error(nb):
    container = nb.ipam.prefixes.create(prefix="10.41.0.0/30", status="container")
    container.available_prefixes.create([{"prefix_length": 31}, {"prefix_length": 31}])
    with pytest.raises(pynetbox.core.query.AllocationError):  # NetBox's 409
        container.available_prefixes.create({"prefix_length": 31})


def test_vlan_groups_and_available_vlans(nb):
    require(nb, "ipam", "vlan-groups")
    group = nb.ipam.vlan_groups.create(name="Access", slug="access")
    free = group.available_vlans.list()
    assert len(free) > 100
    vlan = group.available_vlans.create({"name": "first"})
    assert vlan.vid == 1 and vlan.name == "first"
    assert [v.vid for v in nb.ipam.vlans.filter(group_id=group.id)] == [1]


def test_an_ip_address_assigned_to_an_interface(nb):
    require(nb, "ipam", "vrfs")
    device = make_device(nb, name="edge1")
    interface = nb.dcim.interfaces.create(device=device.id, name="ge-0/0/0", type="1000base-t")
    address = nb.ipam.ip_addresses.create(address="192.0.2.1/24", status="active",
                                          assigned_object_type="dcim.interface", assigned_object_id=interface.id)
    assert address.assigned_object_type == "dcim.interface" and address.assigned_object_id == interface.id
    assert address.assigned_object.id == interface.id and address.assigned_object.device.id == device.id
    assert [a.address for a in nb.ipam.ip_addresses.filter(device="edge1")] == ["192.0.2.1/24"]
    assert nb.ipam.ip_addresses.count(interface_id=interface.id) == 1
