"""Reads about pools, shared by the API and the admin."""

from django.db.models import F, Sum

from . import freespace
from .models import FreeSpace, IPAddressPool, NumberPool


def pool_utilization(pool) -> dict:
    """How much of a pool is used: ``{used, total, percent, allocations}``.

    Number pools count their free runs; prefix and IP pools sum the free blocks of their
    resources (one grouped query per resource, never a read of every child).
    """
    if isinstance(pool, NumberPool):
        total = pool.size
        used = total - (pool.free_ranges.aggregate(n=Sum(F("end") - F("start") + 1))["n"] or 0)
    else:
        kind = FreeSpace.Kind.IP if isinstance(pool, IPAddressPool) else FreeSpace.Kind.PREFIX
        used = total = 0
        for resource in pool.pool_resources.select_related("prefix"):
            container = resource.prefix
            size = container.size - len(freespace.reserved_addresses(container, kind))
            total += size
            used += size - freespace.free_addresses(freespace.ensure_space(container, kind))
    return {
        "used": used,
        "total": total,
        "percent": round(100 * used / total, 2) if total else 0.0,
        "allocations": pool.allocations.count(),
    }
