#!/usr/bin/env python
"""Cost of tenant-scoped access on lists: prints JSON figures.

The same list, in-process through Django's test client (no HTTP server, so the figure is the
application's own time), read by a superuser (no access check at all) and by a member of one
customer's root tenant among 200 customers, each with a sub-tenant; the member sees a share of the
rows. Also the number of SQL queries of each request.

Run against PostgreSQL (default: a database ``catalog_bench_access`` on 127.0.0.1, dropped and
re-created):
    .venv/bin/python bench/access.py [--quick]
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import measure_reads, reset_database  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB", "catalog_bench_access")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DEBUG"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalog_site.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")




def load(customers: int, devices_per_customer: int):
    """Customers (root + sub-tenant), a site each, devices of the sub-tenant and shared ones."""
    from dcim.models import Device, Location
    from demo.inventory import load_device_roles, load_device_types
    from tenancy.models import Tenant

    types, roles = load_device_types(), load_device_roles()
    switch, core, edge = types["switch"], roles["core"], roles["edge"]
    country = Location.objects.create(name="Country", slug="country", kind="country")
    shared_site = Location.objects.create(name="Shared", slug="shared", kind="site", parent=country)
    devices = [Device(name=f"shared-{i}", location=shared_site, role=core, device_type=switch) for i in range(50)]
    for n in range(customers):
        root = Tenant.objects.create(name=f"Customer {n}", slug=f"customer-{n}")
        sub = Tenant.objects.create(name=f"Customer {n} sub", slug=f"customer-{n}-sub", parent=root)
        site = Location.objects.create(name=f"Site {n}", slug=f"site-{n}", kind="site", parent=country, tenant=root)
        devices += [Device(name=f"c{n}-d{i}", location=site, role=edge, device_type=switch, tenant=sub)
                    for i in range(devices_per_customer)]
    Device.objects.bulk_create(devices)


def measure(client, url: str, rounds: int) -> dict:
    return measure_reads(client, url, rounds, lambda response: {"rows": len(response.json()["results"])})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    customers, per_customer, rounds = (50, 10, 10) if args.quick else (200, 20, 30)
    reset_database(DB_NAME)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from catalog_site.models import Token
    from tenancy.models import Membership, Tenant

    load(customers, per_customer)
    superuser = get_user_model().objects.create_superuser("bench-admin", "", "x")
    member = get_user_model().objects.create_user("bench-member")
    Membership.objects.create(user=member, tenant=Tenant.objects.get(slug="customer-7"), role="viewer")
    results = {"customers": customers, "devices": customers * per_customer + 50}
    for label, user in (("superuser", superuser), ("member", member)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
        results[label] = {
            "devices_limit_500": measure(client, "/api/dcim/devices/?limit=500", rounds),
            "devices_limit_50": measure(client, "/api/dcim/devices/?limit=50", rounds),
            "tenants": measure(client, "/api/tenancy/tenants/?limit=500", rounds),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
