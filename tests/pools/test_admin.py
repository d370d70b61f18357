"""Pool admin pages: utilisation, the ledger inline and the Allocate page."""

import pytest
from django.urls import reverse

from ipam.models import L2Domain, NumberPool, Prefix, PrefixAllocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(client, admin_user):
    client.force_login(admin_user)
    return client


def test_prefix_pool_pages_and_allocate(admin_client_logged, make_prefix_pool):
    pool = make_prefix_pool("203.0.113.0/24")
    changelist = admin_client_logged.get(reverse("admin:ipam_prefixpool_changelist"))
    assert changelist.status_code == 200 and b"Allocate" in changelist.content
    url = reverse("admin:ipam_prefixpool_allocate", args=[pool.pk])
    assert admin_client_logged.get(url).status_code == 200
    response = admin_client_logged.post(url, {"identifier": "DI-12345", "prefix_length": ""})
    assert response.status_code == 302
    allocation = PrefixAllocation.objects.get(pool=pool, identifier="DI-12345")
    assert allocation.prefix.prefix == "203.0.113.0/28"
    change = admin_client_logged.get(reverse("admin:ipam_prefixpool_change", args=[pool.pk]))
    assert change.status_code == 200
    assert b"16 of 256 used" in change.content and b"DI-12345" in change.content


def test_allocate_page_shows_service_errors(admin_client_logged, make_prefix_pool):
    pool = make_prefix_pool("192.0.2.0/28", length=29)
    url = reverse("admin:ipam_prefixpool_allocate", args=[pool.pk])
    admin_client_logged.post(url, {"identifier": "a"})
    admin_client_logged.post(url, {"identifier": "b"})
    exhausted = admin_client_logged.post(url, {"identifier": "c"})
    assert exhausted.status_code == 200 and b"no free /29 left" in exhausted.content
    wrong = admin_client_logged.post(url, {"identifier": "d", "prefix_length": 8})
    assert wrong.status_code == 200 and b"does not fit" in wrong.content
    assert Prefix.objects.count() == 3


def test_number_pool_admin(admin_client_logged):
    pool = NumberPool.objects.create(name="Customer vlan pool", start=1000, end=2000, l2domain=L2Domain.get_default())
    url = reverse("admin:ipam_numberpool_allocate", args=[pool.pk])
    assert admin_client_logged.post(url, {"identifier": "DI-1"}).status_code == 302
    change = admin_client_logged.get(reverse("admin:ipam_numberpool_change", args=[pool.pk]))
    assert b"1 of 1001 used" in change.content
    for name in ("numberpool", "prefixpool", "ipaddresspool"):
        assert admin_client_logged.get(reverse(f"admin:ipam_{name}_add")).status_code == 200
