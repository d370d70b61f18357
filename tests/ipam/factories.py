"""Small constructors for ipam tests: each call makes distinct names, so tests can call them freely."""

from dcim.models import Device, Interface, Location
from ipam.models import VLAN, IPAddress, L2Domain, Namespace, Prefix
from tenancy.models import Tenant
from tests.api_mixins import next_number
from tests.dcim.factories import default_device_type, device_role


def make_tenant(parent=None):
    n = next_number()
    return Tenant.objects.create(name=f"Tenant {n}", slug=f"tenant-{n}", parent=parent)


def make_namespace(**fields):
    return Namespace.objects.create(name=f"Namespace {next_number()}", **fields)


def make_l2domain(**fields):
    return L2Domain.objects.create(name=f"Domain {next_number()}", **fields)


def make_prefix(prefix, **fields):
    return Prefix.objects.create(prefix=prefix, **fields)


def make_ip(address, **fields):
    return IPAddress.objects.create(address=address, **fields)


def make_vlan(vid, **fields):
    fields.setdefault("name", f"vlan-{vid}")
    return VLAN.objects.create(vid=vid, **fields)


def make_location(kind="site", parent=None):
    n = next_number()
    return Location.objects.create(name=f"Location {n}", slug=f"location-{n}", kind=kind, parent=parent)


def make_interface(device=None, name="et-0/0/0"):
    if device is None:
        n = next_number()
        device = Device.objects.create(name=f"router-{n}", location=make_location(), role=device_role("edge"),
                                       device_type=default_device_type())
    return Interface.objects.create(device=device, name=name, layer=Interface.Layer.L3)
