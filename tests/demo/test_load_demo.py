"""load_demo builds the demo inventory, and running it again changes nothing."""

from io import StringIO

import pytest
from django.core.management import call_command

from dcim.models import Device, Interface, Location
from ipam.allocation import allocate_ip_address, allocate_prefix
from ipam.models import IPAddressPool, NumberPool, PrefixPool


@pytest.mark.django_db
def test_load_demo_is_idempotent_and_prints_credentials(django_user_model):
    out = StringIO()
    call_command("load_demo", stdout=out)
    counts = (Location.objects.count(), Device.objects.count(), Interface.objects.count())
    call_command("load_demo", "--password", "fixed-password", stdout=StringIO())
    assert (Location.objects.count(), Device.objects.count(), Interface.objects.count()) == counts
    assert "username: admin" in out.getvalue()
    assert django_user_model.objects.get(username="admin").check_password("fixed-password")
    paris = Location.objects.get(slug="par1")
    assert paris.kind == "site" and paris.parent.parent.name == "France"
    assert set(Device.objects.filter(location=paris).values_list("name", "role", "index")) == {
        ("sw01", "core", 1), ("sw02", "core", 2), ("rb01", "edge", 1), ("rb02", "edge", 2),
    }
    ports = Interface.objects.filter(device__location=paris, device__name="sw01", role="customer")
    assert ports.filter(speed=1000, status="free", enabled=False).count() == 6
    assert ports.filter(speed=10000).count() == 2
    vlans = NumberPool.objects.get(name="Customer vlan pool")
    assert (vlans.start, vlans.end, vlans.l2domain.name) == (1000, 2000, "default")
    customer = PrefixPool.objects.get(name="Customer prefixes pool")
    assert [str(r.prefix) for r in customer.pool_resources.all()] == ["203.0.113.0/24", "100.64.0.0/16"]
    assert allocate_prefix(pool=customer, identifier="DI-1").resource.prefix == "203.0.113.0/28"
    management = IPAddressPool.objects.get(name="Management IP pool")
    assert allocate_ip_address(pool=management, identifier="sw01").resource.address == "172.16.1.1/24"
