"""What the benchmark scripts share."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summary(samples: list[float]) -> dict:
    """Count, median and 95th percentile of durations in seconds, as milliseconds."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
    }


def reset_database(db_name: str) -> None:
    """Drop and re-create ``db_name`` (PostgreSQL; a SQLite file is just migrated), then migrate."""
    if os.environ["DATABASE_URL"].startswith("postgres"):
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", db_name], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def measure_reads(client, url: str, rounds: int, describe=None) -> dict:
    """``rounds`` timed GETs of ``url`` after a warm-up (``summary`` of them), and the SQL queries of one
    more read; ``describe(response)`` may add figures read off that last response. Needs Django set up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.content[:200]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return {**summary(samples), **(describe(response) if describe else {}), "queries": len(queries)}
