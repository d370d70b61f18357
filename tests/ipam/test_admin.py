"""Admin smoke tests: every ipam page renders for a superuser, and a prefix shows what lies inside it."""

import pytest
from django.urls import reverse

from ipam import admin as ipam_admin
from ipam.models import VLAN, IPAddress, L2Domain, Namespace, Prefix

from .factories import make_interface, make_ip, make_l2domain, make_namespace, make_prefix, make_tenant, make_vlan


def make_one(model):
    tenant = make_tenant()
    if model is Namespace:
        return make_namespace(tenant=tenant)
    if model is L2Domain:
        return make_l2domain(tenant=tenant)
    if model is VLAN:
        return make_vlan(42, tenant=tenant)
    if model is IPAddress:
        return make_ip("192.0.2.1/24", tenant=tenant, interface=make_interface())
    return make_prefix("192.0.2.0/24", tenant=tenant, vlan=make_vlan(43))


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Namespace, Prefix, IPAddress, L2Domain, VLAN])
def test_changelist_add_and_change_pages_render(admin_client, model):
    obj = make_one(model)
    name = model._meta.model_name
    changelist = admin_client.get(reverse(f"admin:ipam_{name}_changelist"))
    assert changelist.status_code == 200
    assert str(obj) in changelist.content.decode()
    assert admin_client.get(reverse(f"admin:ipam_{name}_add")).status_code == 200
    assert admin_client.get(reverse(f"admin:ipam_{name}_change", args=[obj.pk])).status_code == 200
    searched = admin_client.get(reverse(f"admin:ipam_{name}_changelist"), {"q": str(obj)[:6]})
    assert searched.status_code == 200


@pytest.mark.django_db
def test_prefix_page_shows_utilization_and_children(admin_client):
    parent = make_prefix("10.60.0.0/24")
    child = make_prefix("10.60.0.0/26")
    address = make_ip("10.60.0.9/24", dns_name="<b>host</b>.example.com")
    make_prefix("10.61.0.0/24")
    make_ip("10.61.0.1/24")
    page = admin_client.get(reverse("admin:ipam_prefix_change", args=[parent.pk])).content.decode()
    assert "1 of 254 addresses in use" in page
    assert reverse("admin:ipam_prefix_change", args=[child.pk]) in page
    assert reverse("admin:ipam_ipaddress_change", args=[address.pk]) in page
    assert "10.60.0.9/24" in page
    assert "&lt;b&gt;host&lt;/b&gt;.example.com" in page  # escaped, not rendered
    assert "10.61.0.1/24" not in page and "10.61.0.0/24" not in page
    assert f"?parent_prefix={parent.pk}" in page


@pytest.mark.django_db
def test_add_page_has_no_contents_section(admin_client):
    page = admin_client.get(reverse("admin:ipam_prefix_add")).content.decode()
    assert "Child prefixes" not in page


@pytest.mark.django_db
def test_children_listing_is_capped_with_a_link_to_all(admin_client, monkeypatch):
    monkeypatch.setattr(ipam_admin, "CHILD_LIMIT", 2)
    parent = make_prefix("10.62.0.0/16", status="container")
    children = [make_prefix(f"10.62.{i}.0/24") for i in range(3)]
    page = admin_client.get(reverse("admin:ipam_prefix_change", args=[parent.pk])).content.decode()
    assert "The first 2 of 3" in page
    assert reverse("admin:ipam_prefix_change", args=[children[1].pk]) in page
    assert reverse("admin:ipam_prefix_change", args=[children[2].pk]) not in page
    assert "768 of 65536 addresses covered by child prefixes" in page


@pytest.mark.django_db
def test_changelists_filter_by_parent_prefix(admin_client):
    parent = make_prefix("10.63.0.0/24")
    inside_prefix = make_prefix("10.63.0.128/25")
    outside_prefix = make_prefix("10.64.0.0/24")
    inside_address = make_ip("10.63.0.7/24")
    outside_address = make_ip("10.64.0.7/24")
    other = make_namespace()
    make_prefix("10.63.0.0/25", namespace=other)

    response = admin_client.get(reverse("admin:ipam_prefix_changelist"), {"parent_prefix": parent.pk})
    assert response.status_code == 200
    assert [p.pk for p in response.context["cl"].result_list] == [inside_prefix.pk]
    assert outside_prefix.pk not in [p.pk for p in response.context["cl"].result_list]

    response = admin_client.get(reverse("admin:ipam_ipaddress_changelist"), {"parent_prefix": parent.pk})
    assert [a.pk for a in response.context["cl"].result_list] == [inside_address.pk]
    assert outside_address.pk not in [a.pk for a in response.context["cl"].result_list]

    # A stale or bogus id lists everything rather than failing.
    response = admin_client.get(reverse("admin:ipam_prefix_changelist"), {"parent_prefix": "nope"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_prefix_changelist_is_in_address_order(admin_client):
    namespace = make_namespace()
    for text in ("10.0.0.0/8", "9.0.0.0/8", "100.0.0.0/8"):
        make_prefix(text, namespace=namespace)
    response = admin_client.get(reverse("admin:ipam_prefix_changelist"), {"namespace__id__exact": namespace.pk})
    assert [p.prefix for p in response.context["cl"].result_list] == ["9.0.0.0/8", "10.0.0.0/8", "100.0.0.0/8"]


@pytest.mark.django_db
def test_autocomplete_targets_answer(admin_client):
    make_vlan(77, name="autocomplete-me")
    for model, field in ((Prefix, "vlan"), (Prefix, "gateway"), (IPAddress, "namespace")):
        response = admin_client.get(reverse("admin:autocomplete"), {
            "app_label": "ipam", "model_name": model._meta.model_name, "field_name": field, "term": "a",
        })
        assert response.status_code == 200, (model, field)
