"""The dashboard of the admin index: its figures, their scoping, and a query count that does not grow."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog_site import dashboard
from dcim.models import Interface, Location
from ipam import allocation
from ipam.models import IPAddressPool, IPAddressPoolResource, NumberPool, Prefix, PrefixPool, PrefixPoolResource
from ipam.selectors import pool_utilization
from services.models import GeneratorRun, Service
from tenancy.models import Membership, Tenant
from tests.api_mixins import next_number
from tests.dcim.factories import make_device, make_interface, make_site
from tests.services.factories import dedicated_internet
from tests.services.generator_fixtures import (
    deliver,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory": the demo inventory, Paris 1
    order,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def free_ports_as_the_generator_counts(site) -> int:
    return Interface.objects.filter(device__location=site, device__role__slug="core", role="customer",
                                    status="free").count()


def index(client):
    response = client.get(INDEX)
    assert response.status_code == 200
    return response.context["dashboard"], response.content.decode()


def test_figures_of_a_delivered_service(admin_client, inventory):
    free_before = free_ports_as_the_generator_counts(inventory)
    service = deliver("DI-DASH-1")
    order("DI-DASH-2")  # a draft
    failed = GeneratorRun.objects.create(service=service, action="reconcile", status="failed",
                                         error="Switch sw01 unreachable\nTraceback...")
    old = GeneratorRun.objects.create(service=service, action="reconcile", status="failed", error="old")
    GeneratorRun.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(hours=25))

    figures, html = index(admin_client)

    services = figures["services"]
    assert [row["name"] for row in services["rows"]] == ["Dedicated Internet"]
    by_status = dict(zip(services["statuses"], [cell["count"] for cell in services["rows"][0]["cells"]], strict=True))
    assert (by_status["Active"], by_status["Draft"], by_status["Failed"], services["total"]) == (1, 1, 0, 2)
    # Each count links to the changelist filtered on its type and status, which lists as many.
    active_cell = services["rows"][0]["cells"][services["statuses"].index("Active")]
    listed = admin_client.get(active_cell["url"]).context["cl"]
    assert [obj.service_identifier for obj in listed.result_list] == ["DI-DASH-1"]

    runs = {status["value"]: status["count"] for status in figures["runs"]["statuses"]}
    assert (runs["succeeded"], runs["failed"]) == (1, 1)  # the old failure is outside the 24 hours
    assert [failure["url"] for failure in figures["runs"]["failures"]] == [
        reverse("admin:services_generatorrun_change", args=[failed.pk])]
    assert figures["runs"]["failures"][0]["error"] == "Switch sw01 unreachable"
    failed_url = next(status["url"] for status in figures["runs"]["statuses"] if status["value"] == "failed")
    assert [run.pk for run in admin_client.get(failed_url).context["cl"].result_list] == [failed.pk]
    assert reverse("admin:services_generatorrun_change", args=[failed.pk]) in html

    # Each pool's figures are those of its own page (ipam.selectors.pool_utilization).
    for pool in figures["pools"]:
        model = {"Numbers": NumberPool, "Prefixes": PrefixPool, "IP addresses": IPAddressPool}[pool.kind]
        expected = pool_utilization(model.objects.get(name=pool.name))
        assert (pool.used, pool.total) == (expected["used"], expected["total"]), pool.name
    vlan_pool = next(pool for pool in figures["pools"] if pool.name == "Customer vlan pool")
    assert (vlan_pool.used, vlan_pool.total) == (1, 1001)

    ports = {site["name"]: site for site in figures["ports"]}
    assert ports["Paris 1"]["free"] == free_before - 1 == free_ports_as_the_generator_counts(inventory)
    assert ports["Paris 1"]["total"] == free_before
    assert sorted(ports) == sorted(Location.objects.filter(kind="site").values_list("name", flat=True))
    # The site's link lists those free ports.
    listed = admin_client.get(ports["Paris 1"]["url"]).context["cl"]
    assert listed.result_count == ports["Paris 1"]["free"]
    assert {(port.status, port.role) for port in listed.result_list} == {("free", "customer")}
    for section in ("dashboard-services", "dashboard-runs", "dashboard-pools", "dashboard-ports"):
        assert f'id="{section}"' in html


def test_pools_fullest_first_with_warnings_at_80_and_95(admin_client, db):
    for name, size, taken in (("Half", 10, 5), ("Eighty", 10, 8), ("Full", 20, 19), ("Empty", 10, 0)):
        pool = NumberPool.objects.create(name=name, start=1, end=size)
        for n in range(taken):
            allocation.allocate_number(pool=pool, identifier=f"{name}-{n}")
    container = Prefix.objects.create(prefix="192.0.2.0/29", status="container")
    ip_pool = IPAddressPool.objects.create(name="Tiny addresses")
    IPAddressPoolResource.objects.create(pool=ip_pool, prefix=container)  # 6 usable addresses
    for n in range(6):
        allocation.allocate_ip_address(pool=ip_pool, identifier=f"host-{n}")

    figures, html = index(admin_client)

    assert [(pool.name, pool.percent, pool.level) for pool in figures["pools"]] == [
        ("Tiny addresses", 100.0, "critical"), ("Full", 95.0, "critical"), ("Eighty", 80.0, "warning"),
        ("Half", 50.0, "ok"), ("Empty", 0.0, "ok")]
    assert html.index("Tiny addresses") < html.index("Eighty") < html.index("Half")
    assert 'class="pool-warning"' in html and 'class="pool-critical"' in html


def make_world(n: int, marker: str, *, tenant: Tenant) -> None:
    """``n`` services (each with a failed and a succeeded run), pools and sites with customer ports."""
    service_type = dedicated_internet()
    site = make_site(tenant=tenant)
    services = Service.objects.bulk_create(
        Service(service_identifier=f"DI-{marker}-{i}", tenant=tenant, location=site, service_type=service_type,
                status=["draft", "active", "failed"][i % 3]) for i in range(n))
    GeneratorRun.objects.bulk_create(
        GeneratorRun(service=service, action="provision", status=status, error="boom" if status == "failed" else "")
        for service in services for status in ("failed", "succeeded"))
    for i in range(n):
        NumberPool.objects.create(name=f"{marker} numbers {i}", start=1, end=100, tenant=tenant)
        k = next_number() % 65536
        container = Prefix.objects.create(prefix=f"10.{k // 256}.{k % 256}.0/24", status="container", tenant=tenant,
                                          description=marker)
        prefix_pool = PrefixPool.objects.create(name=f"{marker} prefixes {i}", tenant=tenant)
        PrefixPoolResource.objects.create(pool=prefix_pool, prefix=container)
        ip_pool = IPAddressPool.objects.create(name=f"{marker} addresses {i}", tenant=tenant)
        IPAddressPoolResource.objects.create(pool=ip_pool, prefix=container)
        switch = make_device(location=make_site(tenant=tenant), role="core", tenant=tenant)
        make_interface(switch, role="customer", status="free", speed=1000)
        make_interface(switch, role="customer", status="active", speed=10000)


def test_a_member_sees_only_what_is_theirs(client, django_user_model, db):
    tenant_a, tenant_b = Tenant.objects.create(name="A", slug="a"), Tenant.objects.create(name="B", slug="b")
    make_world(2, "alpha", tenant=tenant_a)
    make_world(3, "zzbeta", tenant=tenant_b)
    shared = NumberPool.objects.create(name="Shared numbers", start=1, end=10)  # no tenant: every member sees it
    member = django_user_model.objects.create_user("member", password="pw", is_staff=True)
    Membership.objects.create(user=member, tenant=tenant_a, role="viewer")
    client.force_login(member)

    figures, html = index(client)

    assert "zzbeta" not in html.lower()
    assert figures["services"]["total"] == 2
    runs = {status["value"]: status["count"] for status in figures["runs"]["statuses"]}
    assert (runs["failed"], runs["succeeded"]) == (2, 2)
    assert {failure["run"].split(" of ")[1] for failure in figures["runs"]["failures"]} == {"DI-alpha-0", "DI-alpha-1"}
    names = {pool.name for pool in figures["pools"]}
    assert names == {shared.name} | {f"alpha {kind} {i}" for kind in ("numbers", "prefixes", "addresses")
                                     for i in range(2)}
    assert sum(site["total"] for site in figures["ports"]) == 4
    assert sum(site["free"] for site in figures["ports"]) == 2


def test_staff_without_rights_sees_no_section(client, django_user_model, db):
    make_world(1, "zzbeta", tenant=Tenant.objects.create(name="B", slug="b"))
    client.force_login(django_user_model.objects.create_user("nobody", password="pw", is_staff=True))
    figures, html = index(client)
    assert figures == dict.fromkeys(("services", "runs", "pools", "ports"))
    assert 'id="dashboard-' not in html and "zzbeta" not in html.lower()


def count_index_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(INDEX).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_data(client, admin_client, admin_user, django_user_model, rf):
    tenant = Tenant.objects.create(name="A", slug="a")
    member = django_user_model.objects.create_user("member", password="pw", is_staff=True)
    Membership.objects.create(user=member, tenant=tenant, role="viewer")
    client.force_login(member)

    make_world(1, "one", tenant=tenant)
    small = count_index_queries(admin_client), count_index_queries(client)
    make_world(50, "many", tenant=tenant)
    assert Service.objects.count() == 51 and NumberPool.objects.count() == 51
    large = count_index_queries(admin_client), count_index_queries(client)
    assert small == large
    # The dashboard itself: services 1, runs 2, pools 4 (3 pool kinds, 1 free-space), ports 1.
    request = rf.get(INDEX)
    request.user = admin_user
    with CaptureQueriesContext(connection) as queries:
        dashboard.build(request, admin.site)
    assert len(queries) == 8
