"""Many workers allocating from one pool at once, each with its own database connection.

Run on PostgreSQL (CI); SQLite has a single writer, so there is nothing to race there.
"""

import threading

import netaddr
import pytest
from django.db import connection

from ipam import allocation
from ipam.models import (
    IPAddressAllocation,
    IPAddressPool,
    IPAddressPoolResource,
    L2Domain,
    NumberAllocation,
    NumberPool,
    Prefix,
    PrefixAllocation,
    PrefixPool,
    PrefixPoolResource,
)

WORKERS = 8
PER_WORKER = 10

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent allocation is tested on PostgreSQL")


def run_workers(work):
    """Run ``work(worker_number)`` in WORKERS threads started together; return results and errors."""
    barrier = threading.Barrier(WORKERS)
    results, errors = [], []

    def target(number):
        try:
            barrier.wait()
            results.extend(work(number))
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def make_prefix_pool():
    pool = PrefixPool.objects.create(name="race", default_prefix_length=28)
    container = Prefix.objects.create(prefix="10.0.0.0/20", status="container")
    PrefixPoolResource.objects.create(pool=pool, prefix=container)
    return pool


def test_concurrent_prefix_allocations_never_overlap():
    pool = make_prefix_pool()

    def work(n):
        lengths = [28, 27, 29, 28, 26]
        return [
            allocation.allocate_prefix(pool=pool, identifier=f"w{n}-{i}", prefix_length=lengths[i % 5]).resource.prefix
            for i in range(PER_WORKER)
        ]

    results, errors = run_workers(work)
    assert not errors, errors
    assert len(results) == len(set(results)) == WORKERS * PER_WORKER
    networks = [netaddr.IPNetwork(p) for p in results]
    assert netaddr.IPSet(networks).size == sum(n.size for n in networks)  # pairwise disjoint
    assert PrefixAllocation.objects.count() == WORKERS * PER_WORKER


def test_concurrent_requests_with_one_identifier_get_one_resource():
    pool = make_prefix_pool()

    def work(n):
        return [allocation.allocate_prefix(pool=pool, identifier="DI-12345").resource.pk]

    results, errors = run_workers(work)
    assert not errors, errors
    assert len(set(results)) == 1
    assert PrefixAllocation.objects.filter(identifier="DI-12345").count() == 1
    assert Prefix.objects.count() == 2


def test_concurrent_ip_and_number_allocations_are_distinct():
    ip_pool = IPAddressPool.objects.create(name="mgmt")
    IPAddressPoolResource.objects.create(pool=ip_pool, prefix=Prefix.objects.create(prefix="172.16.1.0/24"))
    number_pool = NumberPool.objects.create(name="vlans", start=1000, end=2000, l2domain=L2Domain.get_default())

    def work(n):
        out = []
        for i in range(PER_WORKER):
            out.append(("ip", allocation.allocate_ip_address(pool=ip_pool, identifier=f"{n}-{i}").resource.address))
            out.append(("vid", allocation.allocate_number(pool=number_pool, identifier=f"{n}-{i}").resource))
        return out

    results, errors = run_workers(work)
    assert not errors, errors
    ips = [value for kind, value in results if kind == "ip"]
    vids = [value for kind, value in results if kind == "vid"]
    assert len(set(ips)) == len(ips) == WORKERS * PER_WORKER
    assert sorted(vids) == list(range(1000, 1000 + WORKERS * PER_WORKER))
    assert IPAddressAllocation.objects.count() == NumberAllocation.objects.count() == WORKERS * PER_WORKER
