"""Small builders of dcim rows for the tests; every name comes from next_number() so tests can call them freely."""

from dcim.models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer
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


def make_device_type(manufacturer=None, **fields):
    n = next_number()
    fields.setdefault("model", f"Model {n}")
    fields.setdefault("slug", f"model-{n}")
    return DeviceType.objects.create(manufacturer=manufacturer or make_manufacturer(), **fields)


def device_role(slug="core"):
    """The role with this slug: the migration creates core, edge... but a flushed database has none."""
    return DeviceRole.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


def make_device_role(**fields):
    n = next_number()
    fields.setdefault("name", f"Role {n}")
    fields.setdefault("slug", f"role-{n}")
    return DeviceRole.objects.create(**fields)


def default_device_type():
    """One device type shared by the devices of a test that does not care which."""
    manufacturer = Manufacturer.objects.get_or_create(slug="test-maker", defaults={"name": "Test maker"})[0]
    return DeviceType.objects.get_or_create(manufacturer=manufacturer, slug="test-model",
                                            defaults={"model": "Test model"})[0]


def make_device(location=None, role="core", **fields):
    """A device; ``role`` is a role or a role's slug."""
    n = next_number()
    fields.setdefault("name", f"device-{n}")
    fields.setdefault("device_type", default_device_type())
    role = device_role(role) if isinstance(role, str) else role
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
