"""The services list in the admin: its columns, and a query count that does not grow with the rows."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from services.models import Service
from tenancy.models import Membership, Tenant

from .factories import dedicated_internet, make_site, make_tenant, offer

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:services_service_changelist")
STATUSES = ("draft", "active", "failed", "decommissioned")


def many_services(count: int, places: list[tuple[Tenant, object]], prefix: str = "DI-LIST") -> None:
    """``count`` services spread over ``places`` (tenant, site), each place with its own provider."""
    service_type = dedicated_internet()
    providers = [offer(service_type, tenant=tenant, location=site) for tenant, site in places]
    Service.objects.bulk_create(
        Service(service_identifier=f"{prefix}-{n:05d}", service_type=service_type, tenant=places[n % len(places)][0],
                location=places[n % len(places)][1], provider=providers[n % len(places)],
                status=STATUSES[n % len(STATUSES)], attributes={"bandwidth": 1000, "ip_package": "small"})
        for n in range(count))


@pytest.fixture
def all_rows(monkeypatch):
    """Every service on one page, so that the count covers the rows drawn."""
    monkeypatch.setattr(admin.site._registry[Service], "list_per_page", 5000)


def page_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def places(count: int, parent=None) -> list[tuple[Tenant, object]]:
    return [(make_tenant(parent), make_site()) for _ in range(count)]


def test_columns_for_people(admin_client, all_rows):
    tenant, site = places(1)[0]
    many_services(4, [(tenant, site)])
    html = page_queries(admin_client)[1]
    for text in (tenant.name, site.name, "Dedicated Internet", f"Dedicated Internet by {tenant.name}"):
        assert f">{text}<" in html or f"{text}</" in html, text
    assert '<span class="service-status service-status-active">Active</span>' in html
    assert '<span class="service-status service-status-decommissioned">Decommissioned</span>' in html
    assert "services/service-admin.css" in html


def test_superuser_list_queries_do_not_grow_with_the_rows(admin_client, all_rows):
    spots = places(5)
    many_services(10, spots)
    small, html = page_queries(admin_client)
    assert html.count("DI-LIST-") >= 10
    many_services(990, spots, prefix="DI-MORE")
    large, html = page_queries(admin_client)
    assert html.count("DI-MORE-") >= 990
    assert large == small, (small, large)


def test_member_list_queries_do_not_grow_and_show_nothing_else(client, django_user_model, all_rows):
    root = Tenant.objects.create(name="Zzalpha Corp", slug="zzalpha")
    mine = places(3, parent=root)
    theirs = [(Tenant.objects.create(name="Zzbeta Holdings", slug="zzbeta"), make_site())]
    user = django_user_model.objects.create_user("alpha-viewer", password="pw", is_staff=True)
    Membership.objects.create(user=user, tenant=root, role="viewer")
    client.force_login(user)
    many_services(10, mine)
    many_services(10, theirs, prefix="DI-ZZBETA")
    small, html = page_queries(client)
    many_services(990, mine, prefix="DI-MORE")
    many_services(20, theirs, prefix="DI-ZZBETA-MORE")
    large, html = page_queries(client)
    assert large == small, (small, large)
    assert html.count("DI-MORE-") >= 990
    assert "zzbeta" not in html.lower()
