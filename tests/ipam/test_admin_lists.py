"""The IPAM lists as a NetBox user expects them: the prefix tree with utilisation bars, the free blocks of
a prefix's page, the assigned device and interface of an address, the interfaces that carry a VLAN, the
site and tenant filters; all within the viewer's reach, and in a number of queries that does not grow
with the page."""

import re
import types
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dcim.models import Interface
from ipam import admin as ipam_admin
from ipam.models import VLAN, IPAddress, Namespace, Prefix
from tenancy.models import Membership, Tenant
from tests.dcim.factories import make_device, make_interface, make_location, make_site

from .factories import make_ip, make_l2domain, make_namespace, make_prefix, make_vlan

pytestmark = pytest.mark.django_db

PREFIXES = reverse("admin:ipam_prefix_changelist")
ADDRESSES = reverse("admin:ipam_ipaddress_changelist")
VLANS = reverse("admin:ipam_vlan_changelist")



@pytest.fixture
def world(django_user_model):
    """Tenant A (with a sub-tenant) and tenant B, each with a site; an editor and a viewer of A."""
    country = make_location("country")
    sites = types.SimpleNamespace(a=make_site(parent=country), b=make_location("site", parent=country))
    tenant_a = Tenant.objects.create(name="Alpha", slug="alpha")
    sub_a = Tenant.objects.create(name="Alpha Branch", slug="alpha-branch", parent=tenant_a)
    tenant_b = Tenant.objects.create(name="Zzbeta", slug="zzbeta")
    sites.b.tenant = tenant_b
    sites.b.name = "Zzbeta site"
    sites.b.save()

    def user(name, role):
        member = django_user_model.objects.create_user(name, password="pw", is_staff=True)
        Membership.objects.create(user=member, tenant=tenant_a, role=role)
        return member

    return types.SimpleNamespace(tenant_a=tenant_a, sub_a=sub_a, tenant_b=tenant_b, sites=sites,
                                 editor=user("alpha-editor", "editor"), viewer=user("alpha-viewer", "viewer"))


def rows(response):
    return list(response.context["cl"].result_list)


def cell(html: str, css_class: str) -> list[str]:
    return re.findall(rf'class="{css_class}[^"]*"', html)


# -- the prefix tree ------------------------------------------------------------------------------

def test_prefixes_are_indented_by_depth_within_their_namespace(admin_client):
    namespace, other = make_namespace(), make_namespace()
    for text in ("10.0.0.0/8", "10.1.0.0/16", "10.1.1.0/24", "10.1.1.0/26", "10.2.0.0/16", "192.0.2.0/24",
                 "2001:db8::/32", "2001:db8:1::/48"):
        make_prefix(text, namespace=namespace, status="container" if text.endswith(("/8", "/32")) else "active")
    make_prefix("10.1.1.0/24", namespace=other)  # another namespace: its own tree

    response = admin_client.get(PREFIXES, {"namespace__id__exact": namespace.pk})
    assert [(p.prefix, p.depth) for p in rows(response)] == [
        ("10.0.0.0/8", 0), ("10.1.0.0/16", 1), ("10.1.1.0/24", 2), ("10.1.1.0/26", 3), ("10.2.0.0/16", 1),
        ("192.0.2.0/24", 0), ("2001:db8::/32", 0), ("2001:db8:1::/48", 1),
    ]
    html = response.content.decode()
    assert 'data-depth="3" style="--ipam-depth: 3">10.1.1.0/26' in html
    assert "ipam/admin.css" in html
    response = admin_client.get(PREFIXES, {"namespace__id__exact": other.pk})
    assert [(p.prefix, p.depth) for p in rows(response)] == [("10.1.1.0/24", 0)]


def test_depth_counts_ancestors_off_the_page_and_filtered_out(admin_client, monkeypatch):
    monkeypatch.setattr(admin.site._registry[Prefix], "list_per_page", 2)
    namespace = make_namespace()
    for text in ("10.0.0.0/8", "10.1.0.0/16", "10.1.1.0/24", "10.1.2.0/24", "10.1.2.128/25"):
        make_prefix(text, namespace=namespace, status="container" if "/8" in text else "active")
    second_page = admin_client.get(PREFIXES, {"namespace__id__exact": namespace.pk, "p": 2})
    assert [(p.prefix, p.depth) for p in rows(second_page)] == [("10.1.1.0/24", 2), ("10.1.2.0/24", 2)]
    # The container is filtered out of the list, yet it still holds its children.
    active = admin_client.get(PREFIXES, {"namespace__id__exact": namespace.pk, "status__exact": "active", "p": 2})
    assert [(p.prefix, p.depth) for p in rows(active)] == [("10.1.2.0/24", 2), ("10.1.2.128/25", 3)]


def test_utilisation_of_each_row_is_the_prefix_own(admin_client):
    namespace, other = make_namespace(), make_namespace()
    made = [make_prefix(text, namespace=namespace, status=status) for text, status in (
        ("10.0.0.0/16", "container"), ("10.0.0.0/24", "container"), ("10.0.0.0/26", "active"),
        ("10.0.0.0/28", "active"), ("10.0.1.0/24", "active"), ("10.0.2.0/29", "active"), ("10.0.3.0/31", "active"),
        ("2001:db8::/48", "container"), ("2001:db8::/64", "active"), ("2001:db8:0:1::/64", "reserved"),
    )]
    for address in ("10.0.0.1/26", "10.0.0.2/26", "10.0.2.1/29", "10.0.3.0/31", "2001:db8::1/64"):
        make_ip(address, namespace=namespace)
    make_ip("10.0.0.3/26", namespace=other)  # the same space in another namespace counts nowhere here
    make_prefix("10.0.4.0/24", namespace=other)

    response = admin_client.get(PREFIXES, {"namespace__id__exact": namespace.pk})
    shown = {p.pk: p.usage for p in rows(response)}
    assert shown == {p.pk: p.get_utilization() for p in made}
    assert shown[made[2].pk]["used"] == 2  # two addresses of its namespace, not the other's
    assert shown[made[1].pk]["used"] == 64  # the /26, with the /28 inside it counted once
    assert shown[made[0].pk]["used"] == 256 + 256 + 8 + 2  # the /24s, the /29 and the /31 of the /16


def test_bars_turn_to_warning_at_80_and_danger_at_95_percent(admin_client):
    namespace = make_namespace()
    make_prefix("10.9.0.0/29", namespace=namespace)  # 6 usable addresses
    make_prefix("10.9.1.0/29", namespace=namespace)
    make_prefix("10.9.2.0/30", namespace=namespace)  # 2 usable
    for host in range(1, 6):
        make_ip(f"10.9.0.{host}/29", namespace=namespace)  # 5 of 6: 83 %
    make_ip("10.9.2.1/30", namespace=namespace)
    make_ip("10.9.2.2/30", namespace=namespace)  # 2 of 2: 100 %
    html = admin_client.get(PREFIXES, {"namespace__id__exact": namespace.pk}).content.decode()
    bars = re.findall(r'ipam-utilization--(\w+)" title="(\d+) of (\d+) addresses used">.*?'
                      r'style="width: ([\d.]+)%".*?__text">([^<]+)<', html)
    assert bars == [("warning", "5", "6", "83.33", "83%"), ("ok", "0", "6", "0.00", "0%"),
                    ("danger", "2", "2", "100.00", "100%")]


# -- the prefix page: free blocks -----------------------------------------------------------------

def test_prefix_page_lists_free_blocks_between_children_with_allocate_links(admin_client):
    site = make_site()
    tenant = Tenant.objects.create(name="Customer", slug="customer")
    parent = make_prefix("10.70.0.0/24", status="container", tenant=tenant, location=site)
    make_prefix("10.70.0.0/26")
    make_prefix("10.70.0.0/28")
    make_prefix("10.70.0.192/27")
    html = admin_client.get(reverse("admin:ipam_prefix_change", args=[parent.pk])).content.decode()
    listed = re.findall(r'data-depth="(\d)"[^>]*>(?:<a [^>]*>)?([\d./]+)', html)
    assert listed == [("0", "10.70.0.0/26"), ("1", "10.70.0.0/28"), ("0", "10.70.0.64/26"), ("0", "10.70.0.128/26"),
                      ("0", "10.70.0.192/27"), ("0", "10.70.0.224/27")]
    assert html.count('class="ipam-available"') == 3
    links = [parse_qs(urlparse(link.replace("&amp;", "&")).query)
             for link in re.findall(r'<a href="([^"]+)">allocate here</a>', html)]
    assert links[0] == {"namespace": [str(parent.namespace_id)], "prefix": ["10.70.0.64/26"],
                        "tenant": [str(tenant.pk)], "location": [str(site.pk)]}
    assert [link["prefix"] for link in links] == [["10.70.0.64/26"], ["10.70.0.128/26"], ["10.70.0.224/27"]]
    # The link opens the add form with those values.
    add = admin_client.get(re.findall(r'<a href="([^"]+)">allocate here</a>', html)[0].replace("&amp;", "&"))
    assert add.context["adminform"].form.initial["prefix"] == "10.70.0.64/26"


def test_a_prefix_without_children_offers_to_add_one(admin_client):
    parent = make_prefix("10.71.0.0/24")
    html = admin_client.get(reverse("admin:ipam_prefix_change", args=[parent.pk])).content.decode()
    assert "No child prefixes." in html and "Add a child prefix" in html
    assert "ipam-available" not in html  # the parent itself is not offered as its own child


def test_free_blocks_stop_at_the_last_listed_child(admin_client, monkeypatch):
    monkeypatch.setattr(ipam_admin, "CHILD_LIMIT", 2)
    parent = make_prefix("10.72.0.0/24", status="container")
    for text in ("10.72.0.0/26", "10.72.0.128/26", "10.72.0.192/27"):
        make_prefix(text)
    html = admin_client.get(reverse("admin:ipam_prefix_change", args=[parent.pk])).content.decode()
    assert "The first 2 of 3" in html
    assert "10.72.0.64/26" in html and "10.72.0.224/27" not in html


# -- addresses and VLANs --------------------------------------------------------------------------

def test_addresses_show_their_device_and_interface_as_links(admin_client):
    interface = make_interface(make_device(name="edge-01"), name="et-0/0/3", layer=Interface.Layer.L3)
    namespace = make_namespace()
    make_ip("192.0.2.1/24", namespace=namespace, interface=interface)
    make_ip("192.0.2.2/24", namespace=namespace)
    html = admin_client.get(ADDRESSES, {"namespace__id__exact": namespace.pk}).content.decode()
    device_url = reverse("admin:dcim_device_change", args=[interface.device_id])
    interface_url = reverse("admin:dcim_interface_change", args=[interface.pk])
    assert f'<td class="field-assigned_device"><a href="{device_url}">edge-01</a></td>' in html
    assert f'<td class="field-assigned_interface"><a href="{interface_url}">et-0/0/3</a></td>' in html
    assert html.count('<td class="field-assigned_device">-</td>') == 1  # the unassigned address


def test_vlans_show_up_to_three_carrying_interfaces_then_how_many_more(admin_client):
    domain = make_l2domain()
    crowded, lonely, unused = (make_vlan(vid, l2domain=domain) for vid in (100, 200, 300))
    switch = make_device(name="core-01")
    for n in range(5):
        make_interface(switch, name=f"Ethernet{n}", mode="access", untagged_vlan=crowded)
    trunk = make_interface(make_device(name="core-02"), name="Port-Channel1", mode="tagged")
    trunk.tagged_vlans.add(crowded, lonely)
    response = admin_client.get(VLANS, {"l2domain__id__exact": domain.pk})
    carried = {vlan.vid: ([(i.device.name, i.name, tagged) for i, tagged in vlan.carriers[0]], vlan.carriers[1])
               for vlan in rows(response)}
    assert carried == {
        100: ([("core-01", "Ethernet0", False), ("core-01", "Ethernet1", False), ("core-01", "Ethernet2", False)], 6),
        200: ([("core-02", "Port-Channel1", True)], 1),
        300: ([], 0),
    }
    html = response.content.decode()
    assert "+3 more" in html
    assert f'href="{reverse("admin:dcim_interface_change", args=[trunk.pk])}">Port-Channel1</a>' in html
    assert unused.pk


# -- filters --------------------------------------------------------------------------------------

def test_site_filter_matches_the_site_and_what_lies_in_it(admin_client):
    site, elsewhere = make_site(), make_site()
    building = make_location("building", parent=site)
    namespace = make_namespace()
    inside = [make_prefix("10.80.0.0/24", namespace=namespace, location=site),
              make_prefix("10.80.1.0/24", namespace=namespace, location=building)]
    make_prefix("10.80.2.0/24", namespace=namespace, location=elsewhere)
    make_prefix("10.80.3.0/24", namespace=namespace)
    response = admin_client.get(PREFIXES, {"namespace__id__exact": namespace.pk, "site_id": site.pk})
    assert [p.pk for p in rows(response)] == [p.pk for p in inside]

    device = make_device(location=building)
    address = make_ip("10.80.1.1/24", namespace=namespace, interface=make_interface(device))
    make_ip("10.80.2.1/24", namespace=namespace, interface=make_interface(make_device(location=elsewhere)))
    response = admin_client.get(ADDRESSES, {"namespace__id__exact": namespace.pk, "site_id": site.pk})
    assert [a.pk for a in rows(response)] == [address.pk]

    vlan = make_vlan(10, l2domain=make_l2domain(), location=building)
    make_vlan(11, l2domain=vlan.l2domain, location=elsewhere)
    response = admin_client.get(VLANS, {"l2domain__id__exact": vlan.l2domain_id, "site_id": site.pk})
    assert [v.pk for v in rows(response)] == [vlan.pk]
    # Nonsense is no error: it matches nothing.
    assert admin_client.get(PREFIXES, {"site_id": "x"}).context["cl"].result_count == 0


def test_tenant_filter_matches_the_tenant_and_its_subtree(admin_client, world):
    mine = make_prefix("10.81.0.0/24", tenant=world.tenant_a)
    branch = make_prefix("10.81.1.0/24", tenant=world.sub_a)
    make_prefix("10.81.2.0/24", tenant=world.tenant_b)
    response = admin_client.get(PREFIXES, {"tenant_id": world.tenant_a.pk})
    assert [p.pk for p in rows(response)] == [mine.pk, branch.pk]
    assert "— Alpha Branch" in response.content.decode()  # the choices drawn as the tree
    ip = make_ip("10.81.0.1/24", tenant=world.sub_a)
    assert [a.pk for a in rows(admin_client.get(ADDRESSES, {"tenant_id": world.tenant_a.pk}))] == [ip.pk]
    vlan = make_vlan(12, tenant=world.tenant_a)
    assert [v.pk for v in rows(admin_client.get(VLANS, {"tenant_id": world.tenant_a.pk}))] == [vlan.pk]


# -- isolation ------------------------------------------------------------------------------------

def test_another_tenants_prefixes_stay_out_of_the_tree_filters_and_free_blocks(client, world):
    shared = make_prefix("198.51.0.0/16", status="container")
    hidden_parent = make_prefix("198.51.100.0/24", status="container", tenant=world.tenant_b)
    mine = make_prefix("198.51.100.0/25", tenant=world.sub_a, location=world.sites.b)
    make_prefix("198.51.100.64/26", tenant=world.tenant_b, description="zzbeta child")
    client.force_login(world.editor)

    response = client.get(PREFIXES)
    html = response.content.decode()
    assert [(p.pk, p.depth) for p in rows(response)] == [(shared.pk, 0), (mine.pk, 1)]  # B's /24 indents nothing
    assert "zzbeta" not in html.lower()  # neither B's prefixes, nor its tenant or site among the choices
    assert "Alpha Branch" in html
    for parameter, value in (("tenant_id", world.tenant_b.pk), ("site_id", world.sites.b.pk)):
        assert client.get(PREFIXES, {parameter: value}).context["cl"].result_count == 0

    page = client.get(reverse("admin:ipam_prefix_change", args=[mine.pk])).content.decode()
    assert "zzbeta" not in page.lower()
    links = [parse_qs(urlparse(link.replace("&amp;", "&")).query)
             for link in re.findall(r'<a href="([^"]+)">allocate here</a>', page)]
    # B's /26 is taken space (no link offers it), but neither listed nor named; B's site is not inherited.
    assert [link["prefix"] for link in links] == [["198.51.100.0/26"]]
    assert links[0] == {"namespace": [str(mine.namespace_id)], "prefix": ["198.51.100.0/26"],
                        "tenant": [str(world.sub_a.pk)]}
    assert hidden_parent.pk not in [p.pk for p in rows(client.get(PREFIXES, {"q": "198.51.100"}))]

    # The shared container: B's /24 is not listed, nor offered as free; a shared parent passes on no tenant.
    page = client.get(reverse("admin:ipam_prefix_change", args=[shared.pk])).content.decode()
    assert "zzbeta" not in page.lower() and reverse("admin:ipam_prefix_change", args=[mine.pk]) in page
    offered = [parse_qs(urlparse(link.replace("&amp;", "&")).query)
               for link in re.findall(r'<a href="([^"]+)">allocate here</a>', page)]
    assert "198.51.100.0/24" not in str(offered) and "198.51.101.0/24" in str(offered)
    assert all(set(link) == {"namespace", "prefix"} for link in offered)


def test_viewers_get_no_allocate_links(client, world):
    parent = make_prefix("10.90.0.0/24", tenant=world.tenant_a)
    make_prefix("10.90.0.0/25", tenant=world.tenant_a)
    client.force_login(world.viewer)
    page = client.get(reverse("admin:ipam_prefix_change", args=[parent.pk])).content.decode()
    assert "10.90.0.128/25" in page and "Available" in page
    assert "allocate here" not in page


def test_another_tenants_devices_and_interfaces_stay_out_of_addresses_and_vlans(client, world):
    hidden_device = make_device(location=world.sites.b, name="zzbeta-router", tenant=world.tenant_b)
    hidden = make_interface(hidden_device, name="zzbeta-eth0", mode="access")
    shared_switch = make_device(name="shared-switch")
    mine = make_ip("10.91.0.1/24", tenant=world.tenant_a, interface=hidden)
    make_ip("10.91.0.2/24", tenant=world.tenant_b, dns_name="zzbeta.example.com")
    vlan = make_vlan(30, tenant=world.tenant_a)
    hidden.untagged_vlan = vlan
    hidden.save()
    make_interface(shared_switch, name="Ethernet7", mode="access", untagged_vlan=vlan)
    make_vlan(31, tenant=world.tenant_b, name="zzbeta-vlan")
    client.force_login(world.editor)

    response = client.get(ADDRESSES)
    assert [a.pk for a in rows(response)] == [mine.pk]
    html = response.content.decode()
    assert "zzbeta" not in html.lower()
    assert '<td class="field-assigned_device">-</td><td class="field-assigned_interface">-</td>' in html
    assert client.get(ADDRESSES, {"site_id": world.sites.b.pk}).context["cl"].result_count == 0

    response = client.get(VLANS)
    assert [(v.pk, [i.name for i, _ in v.carriers[0]], v.carriers[1]) for v in rows(response)] == [
        (vlan.pk, ["Ethernet7"], 1)]
    assert "zzbeta" not in response.content.decode().lower()


# -- query counts ---------------------------------------------------------------------------------

def bulk_prefixes(count: int, tenant) -> None:
    """``count`` prefixes in a tree: /16 containers, each holding /24s with a /26 inside."""
    namespace = Namespace.get_default()
    made = []
    for n in range(count):
        if n % 50 == 0:
            text, status = f"10.{n // 50}.0.0/16", "container"
        elif n % 2:
            text, status = f"10.{n // 50}.{n % 50}.0/24", "active"
        else:
            text, status = f"10.{n // 50}.{n % 50 - 1}.0/26", "active"
        prefix = Prefix(namespace=namespace, prefix=text, status=status, tenant=tenant)
        prefix.set_derived_fields()
        made.append(prefix)
    Prefix.objects.bulk_create(made)


def bulk_addresses(count: int, tenant, interfaces) -> None:
    made = []
    for n in range(count):
        address = IPAddress(address=f"10.{n // 250}.{n % 250}.1/24", tenant=tenant,
                            interface=interfaces[n % len(interfaces)])
        address.set_derived_fields()
        made.append(address)
    IPAddress.objects.bulk_create(made)


def bulk_vlans(count: int, tenant, interfaces) -> None:
    domain = make_l2domain()
    vlans = VLAN.objects.bulk_create(VLAN(l2domain=domain, vid=n + 1, name=f"v{n}", tenant=tenant)
                                     for n in range(count))
    through = Interface.tagged_vlans.through
    for n, interface in enumerate(interfaces):
        interface.untagged_vlan = vlans[n % count]
        interface.save()
        through.objects.bulk_create(through(interface=interface, vlan=vlan) for vlan in vlans[::max(1, count // 10)])


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("user", ["superuser", "editor"])
def test_list_queries_do_not_grow_with_the_rows(client, world, admin_user, monkeypatch, user):
    for model in (Prefix, IPAddress, VLAN):
        monkeypatch.setattr(admin.site._registry[model], "list_per_page", 2000)
    device = make_device(location=world.sites.a, tenant=world.tenant_a)
    interfaces = [make_interface(device, name=f"xe-0/0/{n}", mode="tagged") for n in range(6)]
    client.force_login(admin_user if user == "superuser" else world.editor)
    counts = []
    for size in (10, 1000):
        Prefix.objects.all().delete()
        IPAddress.objects.all().delete()
        Interface.objects.update(untagged_vlan=None)
        VLAN.objects.all().delete()
        bulk_prefixes(size, world.sub_a)
        bulk_addresses(size, world.sub_a, interfaces)
        bulk_vlans(size, world.sub_a, interfaces)
        counts.append([queries_of(client, url) for url in (PREFIXES, ADDRESSES, VLANS)])
        assert [client.get(url).context["cl"].result_count for url in (PREFIXES, ADDRESSES, VLANS)] == [size] * 3
    assert counts[0] == counts[1], counts
    # The figures themselves, so that a new query per page is a decision, not an accident.
    assert counts[1] == ({"superuser": [14, 10, 12], "editor": [19, 16, 17]}[user]), counts
