"""The admin's global search: each type, containment of addresses and prefixes, scoping, hostile input."""

import types

import pytest
from django.urls import reverse

from ipam.models import VLAN, IPAddress, L2Domain, Prefix
from services.models import Service
from tenancy.models import Membership, Tenant
from tests.dcim.factories import make_device, make_interface, make_site
from tests.services.factories import make_service

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:search")


@pytest.fixture
def world(django_user_model):
    """Tenant A (a member's) and tenant B, each with a service, a device, a VLAN, prefixes and addresses.

    Shared containers (no tenant) 10.0.0.0/8 and 10.1.0.0/16; A has 10.1.2.0/24 and 10.1.2.3,
    B has 10.1.3.0/24, 10.1.2.0/28 inside A's /24, and 10.1.2.9; B's objects carry "zzbeta".
    """
    tenant_a = Tenant.objects.create(name="Zzalpha Corp", slug="zzalpha")
    tenant_b = Tenant.objects.create(name="Zzbeta Holdings", slug="zzbeta")
    Prefix.objects.create(prefix="10.0.0.0/8", status="container")
    Prefix.objects.create(prefix="10.1.0.0/16", status="container")
    a_prefix = Prefix.objects.create(prefix="10.1.2.0/24", tenant=tenant_a)
    Prefix.objects.create(prefix="10.1.3.0/24", tenant=tenant_b, description="zzbeta")
    Prefix.objects.create(prefix="10.1.2.0/28", tenant=tenant_b, description="zzbeta")
    a_address = IPAddress.objects.create(address="10.1.2.3/24", tenant=tenant_a, dns_name="gw.zzalpha.example")
    IPAddress.objects.create(address="10.1.2.9/24", tenant=tenant_b, dns_name="gw.zzbeta.example")
    a_service = make_service(tenant=tenant_a, location=make_site())
    Service.objects.filter(pk=a_service.pk).update(service_identifier="DI-ZZALPHA-1", account_reference="ACC-ALPHA")
    b_service = make_service(tenant=tenant_b, location=make_site())
    Service.objects.filter(pk=b_service.pk).update(service_identifier="DI-ZZBETA-1", account_reference="ACC-BETA")
    site = make_site()
    a_device = make_device(location=site, name="zzalpha-core1", serial="SN-ALPHA", tenant=tenant_a)
    b_device = make_device(location=site, name="zzbeta-core1", serial="SN-BETA", tenant=tenant_b)
    a_interface = make_interface(a_device, name="Ethernet7")
    make_interface(b_device, name="Ethernet7")
    domain = L2Domain.objects.create(name="zz-domain")
    a_vlan = VLAN.objects.create(vid=1234, name="zzalpha-vlan", l2domain=domain, tenant=tenant_a)
    VLAN.objects.create(vid=1235, name="zzbeta-vlan", l2domain=domain, tenant=tenant_b)
    member = django_user_model.objects.create_user("alpha", password="pw", is_staff=True)
    Membership.objects.create(user=member, tenant=tenant_a, role="viewer")
    return types.SimpleNamespace(tenant_a=tenant_a, tenant_b=tenant_b, a_prefix=a_prefix, a_address=a_address,
                                 a_service=a_service, a_device=a_device, a_interface=a_interface, a_vlan=a_vlan,
                                 member=member)


def search(client, q, **params):
    response = client.get(SEARCH, {"q": q, **params})
    assert response.status_code == 200, response.content[:300]
    return response


def groups(response) -> dict:
    return {group.key: group for group in response.context["groups"]}


def labels(group) -> list[str]:
    return [hit.label for hit in group.hits]


def test_an_address_finds_itself_and_every_prefix_that_contains_it(admin_client, world):
    found = groups(search(admin_client, "10.1.2.3"))
    assert set(found) == {"ip-addresses", "prefixes-containing"}
    assert labels(found["ip-addresses"]) == ["10.1.2.3/24"]
    # The most specific first; 10.1.2.0/28 (0-15) contains .3 too; 10.1.3.0/24 does not.
    assert labels(found["prefixes-containing"]) == ["10.1.2.0/28", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]
    assert found["prefixes-containing"].count == 4
    assert found["ip-addresses"].hits[0].url == reverse("admin:ipam_ipaddress_change", args=[world.a_address.pk])


def test_an_address_with_its_length_is_searched_as_the_address(admin_client, world):
    found = groups(search(admin_client, "10.1.2.9/24"))
    assert labels(found["ip-addresses"]) == ["10.1.2.9/24"]
    assert "10.1.2.0/24" in labels(found["prefixes-containing"])


def test_a_prefix_finds_those_containing_it_and_those_inside_it(admin_client, world):
    response = search(admin_client, "10.1.0.0/16")
    found = groups(response)
    assert labels(found["prefixes-containing"]) == ["10.1.0.0/16", "10.0.0.0/8"]
    assert labels(found["prefixes-inside"]) == ["10.1.2.0/24", "10.1.2.0/28", "10.1.3.0/24"]
    assert labels(found["ip-addresses-inside"]) == ["10.1.2.3/24", "10.1.2.9/24"]
    html = response.content.decode()
    assert "Prefixes containing 10.1.0.0/16" in html and "Prefixes inside 10.1.0.0/16" in html
    assert reverse("admin:ipam_prefix_change", args=[world.a_prefix.pk]) in html


def test_a_big_containment_group_is_capped_and_see_all_shows_it_alone(admin_client, world):
    for n in range(15):
        Prefix.objects.create(prefix=f"10.9.{n}.0/24")
    found = groups(search(admin_client, "10.9.0.0/16"))
    inside = found["prefixes-inside"]
    assert (inside.count, len(inside.hits)) == (15, 10)
    assert inside.see_all_url == f"{SEARCH}?q=10.9.0.0%2F16&group=prefixes-inside"
    alone = groups(admin_client.get(inside.see_all_url))
    assert list(alone) == ["prefixes-inside"]
    assert len(alone["prefixes-inside"].hits) == 15 and alone["prefixes-inside"].see_all_url is None


def test_text_finds_services_devices_interfaces_vlans_tenants(admin_client, world):
    found = groups(search(admin_client, "zzalpha"))
    assert labels(found["services"]) == ["DI-ZZALPHA-1"]
    assert labels(found["devices"]) == ["zzalpha-core1"]
    assert labels(found["vlans"]) == ["1234 zzalpha-vlan"]
    assert labels(found["tenants"]) == ["Zzalpha Corp"]
    assert labels(found["ip-addresses"]) == ["10.1.2.3/24"]  # by DNS name
    assert found["services"].hits[0].url == reverse("admin:services_service_change", args=[world.a_service.pk])
    # "See all" leads to the changelist searching the same term, which finds the same service.
    assert found["services"].see_all_url == reverse("admin:services_service_changelist") + "?q=zzalpha"
    listed = admin_client.get(found["services"].see_all_url)
    assert [service.pk for service in listed.context["cl"].result_list] == [world.a_service.pk]


def test_each_field_that_identifies_an_object(admin_client, world):
    assert labels(groups(search(admin_client, "acc-alpha"))["services"]) == ["DI-ZZALPHA-1"]
    assert labels(groups(search(admin_client, "SN-ALPHA"))["devices"]) == ["zzalpha-core1"]
    assert labels(groups(search(admin_client, "1234"))["vlans"]) == ["1234 zzalpha-vlan"]
    assert labels(groups(search(admin_client, "zzalpha-core1 Ethernet7"))["interfaces"]) == ["zzalpha-core1 Ethernet7"]
    assert sorted(labels(groups(search(admin_client, "Ethernet7"))["interfaces"])) == [
        "zzalpha-core1 Ethernet7", "zzbeta-core1 Ethernet7"]
    assert labels(groups(search(admin_client, "zzbeta"))["tenants"]) == ["Zzbeta Holdings"]


def test_a_member_finds_nothing_of_another_tenant(client, world):
    client.force_login(world.member)
    for q in ("zzbeta", "DI-ZZBETA-1", "ACC-BETA", "SN-BETA", "1235"):
        response = search(client, q)
        # What follows the summary line (which repeats the term): the groups.
        results = response.content.decode().split('class="search-summary"', 1)[1].split("</p>", 1)[1]
        assert "zzbeta" not in results.lower() and "10.1.2.9" not in results, q
        assert "Nothing found" in response.content.decode(), q
    found = groups(search(client, "10.1.2.9"))
    assert "ip-addresses" not in found  # B's address
    found = groups(search(client, "10.1.2.3"))
    # Shared containers and A's prefix; B's /28 that also contains the address stays hidden, and uncounted.
    assert labels(found["prefixes-containing"]) == ["10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]
    assert found["prefixes-containing"].count == 3
    inside = groups(search(client, "10.1.0.0/16"))
    assert labels(inside["prefixes-inside"]) == ["10.1.2.0/24"]
    assert labels(inside["ip-addresses-inside"]) == ["10.1.2.3/24"]
    found = groups(search(client, "Ethernet7"))
    assert (labels(found["interfaces"]), found["interfaces"].count) == (["zzalpha-core1 Ethernet7"], 1)
    assert labels(groups(search(client, "zz"))["services"]) == ["DI-ZZALPHA-1"]


def test_staff_without_rights_finds_nothing_and_anonymous_must_log_in(client, world, django_user_model):
    assert client.get(SEARCH, {"q": "zzalpha"}).status_code == 302
    client.force_login(django_user_model.objects.create_user("nobody", password="pw", is_staff=True))
    response = search(client, "zzalpha")
    assert response.context["groups"] == []
    assert "Nothing found" in response.content.decode()
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))  # not staff
    assert client.get(SEARCH, {"q": "zzalpha"}).status_code == 302


@pytest.mark.parametrize("q, error", [
    ("10.1.2.3\x00", "Null characters are not allowed."),
    ("x" * 201, "Ensure this value has at most 200 characters"),
    ("   ", "This field is required."),
])
def test_bad_input_is_an_error_on_the_field(admin_client, world, q, error):
    response = search(admin_client, q)
    assert response.context["groups"] == []
    assert error in response.content.decode()
    assert "\x00" not in response.content.decode()


@pytest.mark.parametrize("q", [
    "10.1.2.300", "10.1.0.0/33", "10.1", "::ffff:zz", "fe80::1%eth0", "2001:db8::/200", "%", "_", "\\",
    "' OR 1=1 --", "99999999999999999999999", "4095", "²", "١٢", "0", "é😀", "<script>alert(1)</script>",
    "::/0", "0.0.0.0/0",
])
def test_hostile_or_odd_input_never_fails(admin_client, world, q):
    response = search(admin_client, q)
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_the_whole_address_space_is_a_network_like_any_other(admin_client, world):
    found = groups(search(admin_client, "0.0.0.0/0"))
    assert "prefixes-containing" not in found  # no 0.0.0.0/0 prefix: an empty group is not shown
    assert (found["prefixes-inside"].count, found["ip-addresses-inside"].count) == (5, 2)


def test_no_search_term_shows_the_empty_form(admin_client):
    response = admin_client.get(SEARCH)
    assert response.status_code == 200
    assert response.context["groups"] == [] and not response.context["form"].is_bound
