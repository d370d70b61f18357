"""Small builders of dcim rows for the tests; every name comes from next_number() so tests can call them freely."""

from dcim.models import Device, Interface, Location, Manufacturer
from ipam.models import VLAN
from tenancy.models import Tenant
from tests.api_mixins import next_number


def make_tenant(parent=None):
    n = next_number()
    return Tenant.objects.create(name=f"Tenant {n}", slug=f"tenant-{n}", parent=parent)


def make_location(kind, parent=None, tenant=None, name=None):
    n = next_number()
    return Location.objects.create(
        name=name or f"{kind.title()} {n}", slug=f"{kind}-{n}", kind=kind, parent=parent, tenant=tenant
    )


def make_site(parent=None, tenant=None):
    """A site under a metro under a country, unless a parent is given."""
    if parent is None:
        parent = make_location("metro", parent=make_location("country"))
    return make_location("site", parent=parent, tenant=tenant)


def make_manufacturer():
    n = next_number()
    return Manufacturer.objects.create(name=f"Maker {n}", slug=f"maker-{n}")


def make_device(location=None, role=Device.Role.CORE, **fields):
    n = next_number()
    fields.setdefault("name", f"device-{n}")
    return Device.objects.create(location=location or make_site(), role=role, **fields)


def make_interface(device=None, **fields):
    n = next_number()
    fields.setdefault("name", f"eth{n}")
    return Interface.objects.create(device=device or make_device(), **fields)


def make_vlan(**fields):
    n = next_number()
    fields.setdefault("vid", n % 4000 + 1)
    fields.setdefault("name", f"vlan-{n}")
    return VLAN.objects.create(**fields)
