#!/usr/bin/env python
"""Provisioning benchmark: prints JSON figures.

- provision N Dedicated Internet services in-process (Celery eager): the time of each provision run
  (from the GeneratorRun rows: started -> finished) and the wall time of the whole batch;
- the same through Celery with two worker processes on Redis: wall time from the first order to the
  last run finished;
- an idempotent re-run (a reconcile run of an active service): its time, its changes (must be 0),
  its queries, and its writes to the inventory (must be 0; the run's own row is bookkeeping);
- queries per provision run.

Run against PostgreSQL (a database ``catalog_bench_prov`` on 127.0.0.1, dropped and re-created) and
Redis (db 14): ``.venv/bin/python bench/provisioning.py [--services N]``.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import summary  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB", "catalog_bench_prov")
BROKER = os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DEBUG"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalog_site.settings")
CELERY_PHASE = "--celery-phase" in sys.argv
if CELERY_PHASE:
    os.environ["CELERY_BROKER_URL"] = BROKER
else:
    os.environ.pop("CELERY_BROKER_URL", None)  # in-process phase: tasks run eagerly

PORTS_PER_SWITCH = 48
WRITES = ("INSERT", "UPDATE", "DELETE")



def reset_database():
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def build_inventory(services: int):
    """The demo inventory plus enough bench sites (2 core switches x 48 1 Gbps ports, 2 edge routers each)."""
    from dcim.models import Device, Interface, Location
    from demo.inventory import DEMO_PROVIDER, load_device_roles, load_device_types, load_inventory
    from ipam.models import NumberPool
    from services.models import Provider

    load_inventory()
    # The demo's VLAN pool (1000-2000) holds 1,001 ids; the bench orders twice N services.
    vlans = NumberPool.objects.get(name="Customer vlan pool")
    vlans.start, vlans.end = 100, 4000
    vlans.save()
    metro = Location.objects.get(slug="par")
    types, roles = load_device_types(), load_device_roles()
    sites = []
    for n in range(services // (2 * PORTS_PER_SWITCH) + 1):
        site = Location.objects.create(name=f"Bench {n}", slug=f"bench{n}", kind="site", parent=metro)
        sites.append(site)
        for index in (1, 2):
            switch = Device.objects.create(location=site, name=f"sw0{index}", role=roles["core"], index=index,
                                           device_type=types["switch"])
            Interface.objects.bulk_create(
                Interface(device=switch, name=f"Ethernet{p}", type="1000base-x-sfp", role="customer", status="free",
                          enabled=False, speed=1000)
                for p in range(1, PORTS_PER_SWITCH + 1)
            )
            Device.objects.create(location=site, name=f"rb0{index}", role=roles["edge"], index=index,
                                  device_type=types["router"])
    # The demo's provider serves the bench sites too (availability is per site, never inherited).
    Provider.objects.get(slug=DEMO_PROVIDER[1]).available_in.add(*sites)
    return sites


def order(n: int, site):
    from services import services
    from services.models import ServiceType
    from tenancy.models import Tenant

    return services.service_create(
        service_type=ServiceType.objects.get(slug="dedicated-internet"), service_identifier=f"BENCH-{n:05d}",
        tenant=Tenant.objects.get(slug="acme"), location=site,
        attributes={"bandwidth": 1000, "ip_package": "small"},
    )


def deliver(service):
    from services import services

    return services.service_transition(service=service, to="in-delivery", version=service.version)


def run_durations(identifier_prefix: str, action: str):
    from services.models import GeneratorRun

    rows = GeneratorRun.objects.filter(service__service_identifier__startswith=identifier_prefix, action=action)
    return [(r.finished_at - r.started_at).total_seconds() for r in rows if r.finished_at and r.started_at]


def site_for(n: int, sites):
    return sites[n // (2 * PORTS_PER_SWITCH)]


def celery_phase(count: int, offset: int):
    """Order ``count`` services, deliver them through the broker, wait for the workers (a subprocess)."""
    import django

    django.setup()
    from dcim.models import Location
    from services.models import GeneratorRun

    sites = list(Location.objects.filter(slug__startswith="bench").order_by("pk"))
    started = time.perf_counter()
    for n in range(offset, offset + count):
        deliver(order(n, site_for(n, sites)))
    queued = time.perf_counter() - started
    runs = GeneratorRun.objects.filter(service__service_identifier__gte=f"BENCH-{offset:05d}", action="provision")
    while runs.filter(status__in=["queued", "running"]).exists():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    failed = runs.filter(status="failed").count()
    print(json.dumps({"services": count, "seconds": round(elapsed, 3), "ordering_seconds": round(queued, 3),
                      "per_service_ms": round(1000 * elapsed / count, 3), "failed": failed,
                      "run": summary([(r.finished_at - r.started_at).total_seconds() for r in runs])}))


def start_workers():
    env = {**os.environ, "CELERY_BROKER_URL": BROKER, "DATABASE_CONN_MAX_AGE": "300"}
    workers = []
    for name in ("w1", "w2"):
        workers.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "catalog_site", "worker", "-c", "1", "-n", f"{name}@bench",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        ))
    time.sleep(4)
    return workers


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--celery-phase", action="store_true")
    parser.add_argument("--offset", type=int, default=0)
    options = parser.parse_args()
    if options.celery_phase:
        return celery_phase(options.services, options.offset)

    os.chdir(ROOT)
    reset_database()
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from services import runs
    from services.models import Service

    in_process = through_celery = options.services
    sites = build_inventory(in_process + through_celery)
    result = {"database": connection.vendor, "services": {"in_process": in_process, "celery": through_celery}}

    started = time.perf_counter()
    walls = []
    for n in range(in_process - 1):
        service = order(n, site_for(n, sites))
        t = time.perf_counter()
        deliver(service)
        walls.append(time.perf_counter() - t)
    # The last one is also counted: the queries of one order -> provision run -> active.
    connection.force_debug_cursor = True
    with CaptureQueriesContext(connection) as provision_queries:
        t = time.perf_counter()
        deliver(order(in_process - 1, site_for(in_process - 1, sites)))
        walls.append(time.perf_counter() - t)
    connection.force_debug_cursor = False
    total = time.perf_counter() - started
    active = Service.objects.filter(status="active").count()
    result["in_process"] = {
        "seconds": round(total, 3), "active": active,
        "provision_run": summary(run_durations("BENCH-", "provision")),
        "order_to_active": summary(walls),
    }

    sample = list(Service.objects.filter(status="active").order_by("pk")[:100])
    connection.force_debug_cursor = True
    rerun_times, rerun_queries, rerun_writes, changes = [], [], [], 0
    for service in sample:
        with CaptureQueriesContext(connection) as queries:
            t = time.perf_counter()
            run = runs.request_run(service=service, action="reconcile")
            run.refresh_from_db()
            rerun_times.append(time.perf_counter() - t)
        changes += len(run.changes)
        rerun_queries.append(len(queries))
        rerun_writes.append(sum(1 for q in queries.captured_queries if q["sql"].startswith(WRITES)
                                and "services_generatorrun" not in q["sql"]))
    connection.force_debug_cursor = False
    result["rerun"] = {
        "wall": summary(rerun_times),
        "run": summary(run_durations("BENCH-", "reconcile")),
        "changes": changes,
        "queries_median": statistics.median(rerun_queries),
        "inventory_writes_max": max(rerun_writes),
    }
    result["queries_per_provision"] = {
        "all": len(provision_queries),
        "writes": sum(1 for q in provision_queries.captured_queries if q["sql"].startswith(WRITES)),
    }

    connection.close()
    workers = start_workers()
    try:
        output = subprocess.run(
            [sys.executable, __file__, "--celery-phase", "--services", str(through_celery), "--offset",
             str(in_process)], cwd=ROOT, env={**os.environ, "CELERY_BROKER_URL": BROKER},
            capture_output=True, text=True, check=True,
        ).stdout
        result["celery_two_workers"] = json.loads(output.strip().splitlines()[-1])
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
