"""load_demo builds the demo inventory, and running it again changes nothing."""

import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from dcim.models import Device, Interface, Location
from ipam.allocation import allocate_ip_address, allocate_prefix
from ipam.models import IPAddressPool, L2Domain, NumberPool, PrefixPool
from services.models import Parameter, Provider, Service
from services.providers import choose_provider
from tenancy.models import Membership, Tenant


def printed_logins(output: str) -> dict[str, str]:
    """username -> password, as load_demo prints them (a ``username:`` line, then ``password:``)."""
    return dict(re.findall(r"^  username: (\S+)\n  password: (\S+)$", output, flags=re.MULTILINE))


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
    assert set(Device.objects.filter(location=paris).values_list("name", "role__slug", "index")) == {
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
    l2vpn_ids = NumberPool.objects.get(name="L2VPN id pool")
    assert (l2vpn_ids.start, l2vpn_ids.end, l2vpn_ids.l2domain) == (10000, 19999, None)
    assert L2Domain.objects.filter(name__startswith="Customer VLANs of ").count() == 5  # one per site
    management = IPAddressPool.objects.get(name="Management IP pool")
    assert allocate_ip_address(pool=management, identifier="sw01").resource.address == "172.16.1.1/24"


@pytest.mark.django_db
def test_load_demo_creates_customer_tenants_users_and_services(django_user_model):
    first, second = StringIO(), StringIO()
    call_command("load_demo", stdout=first)
    counts = {model: model.objects.count() for model in (Tenant, Membership, Service, django_user_model)}
    call_command("load_demo", stdout=second)
    assert {model: model.objects.count() for model in counts} == counts  # idempotent: no duplicates

    acme, globex = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="globex")
    assert [(t.name, t.parent.name) for t in acme.get_children()] == [("Acme Paris", "Acme Corp")]
    assert [(t.name, t.parent.name) for t in globex.get_children()] == [("Globex Labs", "Globex")]
    assert acme.parent == globex.parent  # two customers of the same provider tenant

    logins = [printed_logins(output.getvalue()) for output in (first, second)]
    for run in logins:
        assert set(run) == {"admin", "acme", "globex"}
    for username, tenant in (("acme", acme), ("globex", globex)):
        user = django_user_model.objects.get(username=username)
        assert user.is_staff and user.is_active and not user.is_superuser
        assert not user.user_permissions.exists() and not user.get_all_permissions()
        assert list(user.memberships.values_list("tenant", "role")) == [(tenant.pk, "editor")]
        assert logins[0][username] != logins[1][username]  # a new password each run
        assert user.check_password(logins[1][username])
        assert not user.check_password(logins[0][username])

    # The customers' services sit on their tenant and sub-tenant; shared infrastructure has no tenant.
    tenants = set(Service.objects.values_list("tenant__slug", flat=True))
    assert tenants == {"acme", "acme-paris", "globex", "globex-labs"}
    assert set(Service.objects.values_list("status", flat=True)) == {"draft"}
    assert not Device.objects.exclude(tenant=None).exists()
    assert not Location.objects.exclude(tenant=None).exists()
    for pool in (NumberPool, PrefixPool, IPAddressPool):
        assert not pool.objects.exclude(tenant=None).exists()

    # One provider serves them all: Demo Telecom's, available at every site, authorized by both customers
    # for their subtrees; Initech, to which it is not available, cannot order.
    provider = Provider.objects.get()
    assert provider.owner.slug == "demo-telecom"
    assert set(Service.objects.values_list("provider", flat=True)) == {provider.pk}
    assert set(provider.available_in.all()) == set(Location.objects.filter(kind="site"))
    assert set(provider.authorizations.values_list("tenant__slug", "scope")) == {
        ("acme", "subtree"), ("globex", "subtree")}
    assert set(provider.service_types.values_list("slug", flat=True)) == {"dedicated-internet", "l2vpn"}
    with pytest.raises(ValidationError, match="has not authorized"):
        choose_provider(service_type=provider.service_types.get(slug="dedicated-internet"),
                        tenant=Tenant.objects.get(slug="initech"), location=Location.objects.get(slug="par1"))

    # One L2VPN, Acme's, between Brussels 1 and Paris 1 (a draft like the others); the MTUs it suggests.
    l2vpn = Service.objects.get(service_type__slug="l2vpn")
    assert (l2vpn.service_identifier, l2vpn.tenant.slug, l2vpn.location.slug) == ("L2VPN-ACME-001", "acme", "bru1")
    assert l2vpn.attributes["terminations"] == [{"site": "bru1", "vlan": 100}, {"site": "par1", "vlan": 200}]
    assert Parameter.objects.get(name="l2vpn-mtus").values == [1500, 9000]


@pytest.mark.django_db
def test_admin_name_cannot_be_a_customer_user():
    with pytest.raises(CommandError):
        call_command("load_demo", "--username", "acme", stdout=StringIO())
