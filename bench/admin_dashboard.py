#!/usr/bin/env python
"""Cost of the admin index with its dashboard, on 10,000 services: prints JSON figures.

The demo inventory (5 sites, their switches with customer ports, the three pools) plus N services
(default 10,000) spread over 50 customer tenants and the 5 sites, in every status, each with a
provision run in the last 24 hours (one in ten failed) and an older reconcile run, and 50 more number
pools. The index page is read in-process through Django's test client (no HTTP server: the figure
is the application's own time) by a superuser and by a member of one customer tenant: the median and
95th percentile of several reads, and the number of SQL queries of one read (it does not grow with
the data: tests/catalog_site/test_dashboard.py pins it).

Run against PostgreSQL (default: a database ``catalog_bench_dashboard`` on 127.0.0.1, dropped and
re-created):
    .venv/bin/python bench/admin_dashboard.py [--services N] [--rounds R]
"""

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import measure_reads, reset_database  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB", "catalog_bench_dashboard")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DEBUG"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalog_site.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

CUSTOMERS = 50
STATUSES = ("draft", "in-delivery", "active", "active", "active", "in-decommissioning", "decommissioned", "failed")


def load(services: int) -> None:
    """The demo inventory, ``services`` services (bulk-created) with their runs, and extra number pools."""
    from django.utils import timezone

    from dcim.models import Location
    from demo.inventory import dedicated_internet, load_inventory
    from ipam.models import NumberPool
    from services.models import GeneratorRun, Service
    from tenancy.models import Tenant

    load_inventory()
    service_type = dedicated_internet()
    sites = list(Location.objects.filter(kind="site"))
    tenants = [Tenant.objects.create(name=f"Bench customer {n}", slug=f"bench-customer-{n}") for n in range(CUSTOMERS)]
    rows = Service.objects.bulk_create(
        (Service(service_identifier=f"DI-BENCH-{n:05d}", account_reference=f"ACC-{n % 997}",
                 service_type=service_type, tenant=tenants[n % CUSTOMERS], location=sites[n % len(sites)],
                 status=STATUSES[n % len(STATUSES)], attributes={"bandwidth": 1000, "ip_package": "small"})
         for n in range(services)), batch_size=2000)
    runs = GeneratorRun.objects.bulk_create(
        (GeneratorRun(service=service, action=action, status=status, error="boom" if status == "failed" else "")
         for n, service in enumerate(rows)
         for action, status in (("provision", "failed" if n % 10 == 0 else "succeeded"), ("reconcile", "succeeded"))),
        batch_size=2000)
    GeneratorRun.objects.filter(pk__in=[run.pk for run in runs if run.action == "reconcile"]).update(
        queued_at=timezone.now() - timedelta(days=3))
    for n in range(50):
        NumberPool.objects.create(name=f"Bench numbers {n}", start=1, end=1000, tenant=tenants[n % CUSTOMERS])


def measure(client, url: str, rounds: int) -> dict:
    return measure_reads(client, url, rounds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    reset_database(DB_NAME)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from services.models import GeneratorRun, Service
    from tenancy.models import Membership, Tenant

    load(args.services)
    superuser = get_user_model().objects.create_superuser("bench-admin", "", "x")
    member = get_user_model().objects.create_user("bench-member", is_staff=True)
    Membership.objects.create(user=member, tenant=Tenant.objects.get(slug="bench-customer-7"), role="viewer")
    results = {"services": Service.objects.count(), "runs": GeneratorRun.objects.count()}
    for label, user in (("superuser", superuser), ("member", member)):
        client = Client()
        client.force_login(user)
        results[label] = {"admin_index": measure(client, "/admin/", args.rounds)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
