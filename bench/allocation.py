#!/usr/bin/env python
"""Allocation benchmark: prints JSON figures.

- one prefix allocation (best fit, /28) from a pool whose /8 container already holds 100, 1,000,
  10,000 and 100,000 children scattered through it: median and p95, through the service layer
  and through the HTTP API (gunicorn, 2 workers, DEBUG off);
- one IP allocation from a /16 with 100 and 50,000 addresses used;
- throughput of 8 concurrent allocators (separate processes) on one pool.

Run against PostgreSQL (default: a database ``catalog_bench`` on 127.0.0.1, dropped and re-created):
    .venv/bin/python bench/allocation.py [--quick]
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import netaddr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import reset_database, summary  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB", "catalog_bench")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["DEBUG"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalog_site.settings")
PORT = int(os.environ.get("BENCH_PORT", "8765"))


def setup_django():
    import django

    django.setup()





def scatter(rng, slots: int, count: int) -> list[int]:
    return sorted(rng.sample(range(slots), count))


def make_prefix_pool(index: int, children: int, rng):
    """A pool on a fresh /8 holding ``children`` /28s scattered at random (bulk insert, then index build)."""
    from ipam.addressing import pack
    from ipam.models import Namespace, Prefix, PrefixPool, PrefixPoolResource

    namespace = Namespace.get_default()
    base = (10 + index) << 24
    container = Prefix.objects.create(prefix=f"{10 + index}.0.0.0/8", status="container")
    rows = []
    for slot in scatter(rng, 1 << 20, children):
        first = base + (slot << 4)
        rows.append(Prefix(namespace=namespace, prefix=f"{netaddr.IPAddress(first)}/28", family=4, prefix_length=28,
                           network=pack(first), broadcast=pack(first + 15)))
    Prefix.objects.bulk_create(rows, batch_size=5000)
    pool = PrefixPool.objects.create(name=f"bench {children}", default_prefix_length=28)
    started = time.perf_counter()
    PrefixPoolResource.objects.create(pool=pool, prefix=container)  # builds the free-space index once
    return pool, time.perf_counter() - started


def make_ip_pool(index: int, used: int, rng):
    from ipam.addressing import pack
    from ipam.models import IPAddress, IPAddressPool, IPAddressPoolResource, Namespace, Prefix

    namespace = Namespace.get_default()
    prefix = Prefix.objects.create(prefix=f"172.{16 + index}.0.0/16")
    base = (172 << 24) + ((16 + index) << 16)
    rows = [
        IPAddress(namespace=namespace, address=f"172.{16 + index}.{slot >> 8}.{slot & 255}/16", family=4,
                  prefix_length=16, host=pack(base + slot))
        for slot in scatter(rng, 65534, used)
        if slot
    ]
    IPAddress.objects.bulk_create(rows, batch_size=5000)
    pool = IPAddressPool.objects.create(name=f"bench ip {used}")
    IPAddressPoolResource.objects.create(pool=pool, prefix=prefix)
    return pool


def analyze():
    """Refresh the planner's statistics after a bulk load, as autovacuum does in production a little
    later: with statistics from before the load, PostgreSQL guesses that the namespace holds a
    handful of prefixes and reads them all instead of probing the index."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ipam_prefix, ipam_ipaddress, ipam_freeblock")


def time_service(call, count: int):
    samples = []
    for n in range(count):
        started = time.perf_counter()
        call(n)
        samples.append(time.perf_counter() - started)
    return samples


def start_gunicorn():
    # Persistent database connections, as in production (README: DATABASE_CONN_MAX_AGE): with the
    # default 0 every request would also pay for a new PostgreSQL connection.
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "300")}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "catalog_site.wsgi", "-w", "2", "-b", f"127.0.0.1:{PORT}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/", timeout=1)
        except urllib.error.HTTPError:
            return process  # 401/403: it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def time_api(pool_id: int, key: str, count: int, prefix: str):
    """POST allocate ``count`` times; each sample is a whole request on a fresh connection.

    gunicorn's sync workers close the connection after each response, so each request connects
    anew. TCP_NODELAY is set as HTTP client libraries do (urllib3, for one): without it, the
    request's headers and body leave in two writes and Nagle's algorithm meets the server's
    delayed ACK, adding some 40 ms to every request.
    """
    import http.client
    import socket

    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json", "Accept": "application/json"}
    samples = []
    for n in range(count):
        body = json.dumps({"identifier": f"{prefix}-{n}"})
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", PORT)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.request("POST", f"/api/ipam/prefix-pools/{pool_id}/allocate/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        samples.append(time.perf_counter() - started)
        if response.status != 201:
            raise RuntimeError(f"API answered {response.status}")
    return samples


def concurrent_worker(args):
    pool_id, worker, count = args
    setup_django()
    from ipam.allocation import allocate_prefix
    from ipam.models import PrefixPool

    pool = PrefixPool.objects.get(pk=pool_id)
    started = time.perf_counter()
    got = [allocate_prefix(pool=pool, identifier=f"c{worker}-{n}").resource.prefix for n in range(count)]
    return got, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--samples", type=int, default=200)
    options = parser.parse_args()
    sizes = [100, 1000] if options.quick else [100, 1000, 10000, 100000]
    ip_sizes = [100, 2000] if options.quick else [100, 50000]
    samples = 50 if options.quick else options.samples

    os.chdir(ROOT)
    reset_database(DB_NAME)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from catalog_site.models import Token
    from ipam.allocation import allocate_ip_address, allocate_prefix

    rng = random.Random(42)
    result = {"database": connection.vendor, "prefix": {}, "ip": {}}
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
    _, key = Token.issue(user=user)

    pools = {}
    for index, children in enumerate(sizes):
        pool, build = make_prefix_pool(index, children, rng)
        pools[children] = pool
        analyze()
        service = time_service(lambda n, pool=pool: allocate_prefix(pool=pool, identifier=f"svc-{n}"), samples)
        result["prefix"][str(children)] = {"service": summary(service), "index_build_s": round(build, 3)}

    process = start_gunicorn()
    try:
        for children, pool in pools.items():
            time_api(pool.pk, key, 10, "warm")
            api = time_api(pool.pk, key, samples, "api")
            result["prefix"][str(children)]["api"] = summary(api)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()

    for index, used in enumerate(ip_sizes):
        pool = make_ip_pool(index, used, rng)
        analyze()
        service = time_service(lambda n, pool=pool: allocate_ip_address(pool=pool, identifier=f"ip-{n}"), samples)
        result["ip"][str(used)] = {"service": summary(service)}

    big = pools[sizes[-1]]
    connection.close()
    workers, per_worker = 8, (25 if options.quick else 100)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as executor:
        outcomes = list(executor.map(concurrent_worker, [(big.pk, w, per_worker) for w in range(workers)]))
    elapsed = time.perf_counter() - started
    handed = [p for got, _ in outcomes for p in got]
    result["concurrent"] = {
        "workers": workers,
        "allocations": len(handed),
        "distinct": len(set(handed)),
        "seconds": round(elapsed, 3),
        "allocations_per_s": round(len(handed) / elapsed, 1),
    }
    first = result["prefix"][str(sizes[0])]["service"]["median_ms"]
    last = result["prefix"][str(sizes[-1])]["service"]["median_ms"]
    result["service_median_ratio_largest_to_smallest"] = round(last / first, 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
