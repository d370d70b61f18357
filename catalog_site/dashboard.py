"""The dashboard of the admin index: what an operator checks first, computed with grouped queries.

Four sections, each read through the viewer's ``Access`` (a tenant member sees their tenants'
services and runs, and the pools and ports the access rules let them see), and each only for a viewer
who may list its model in the admin:

- services by type and status (one ``GROUP BY``), each count linking to the filtered changelist;
- runs of the last 24 hours by status (one ``GROUP BY``), and the latest failures, linked;
- pool utilisation, the fullest first, warnings at 80 and 95 %: number pools from their free runs,
  prefix and IP pools from the free-space index of their containers (the figures of
  ``ipam.selectors.pool_utilization``, read for every pool at once instead of pool by pool);
- free customer ports per site, counted as the Dedicated Internet generator picks them: customer
  ports of the site's core switches with status free, by speed.

The number of queries does not depend on the number of services, runs, pools or sites (pinned by
tests/catalog_site/test_dashboard.py; bench/admin_dashboard.py measures 10,000 services).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone

from dcim.models import DeviceRole, Interface, Location, format_speed
from ipam import freespace
from ipam.models import FreeSpace, IPAddressPool, NumberPool, Prefix, PrefixPool
from services.lifecycle import Status
from services.models import GeneratorRun, Service

from . import access

RUN_WINDOW = timedelta(hours=24)
FAILURES_LISTED = 10
WARNING_PERCENT, CRITICAL_PERCENT = 80, 95


def admin_url(model, view: str, *args, query: dict | None = None) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


# -- services ----------------------------------------------------------------------------------------

def services_by_type_and_status(viewer: access.Access) -> dict:
    """A table: one row per service type, one column per status, each cell a count and a link."""
    rows = (viewer.restrict(Service.objects.all())
            .values("service_type_id", "service_type__name", "status")
            .annotate(n=Count("pk")).order_by())
    counts, names = defaultdict(dict), {}
    for row in rows:
        counts[row["service_type_id"]][row["status"]] = row["n"]
        names[row["service_type_id"]] = row["service_type__name"]
    statuses = list(Status.choices)
    table = []
    for type_id in sorted(names, key=names.get):
        cells = [{"count": counts[type_id].get(value, 0),
                  "url": admin_url(Service, "changelist", query={"service_type__id__exact": type_id,
                                                                 "status__exact": value})}
                 for value, _ in statuses]
        table.append({"name": names[type_id], "cells": cells, "total": sum(counts[type_id].values()),
                      "url": admin_url(Service, "changelist", query={"service_type__id__exact": type_id})})
    totals = [{"count": sum(row["cells"][i]["count"] for row in table),
               "url": admin_url(Service, "changelist", query={"status__exact": value})}
              for i, (value, _) in enumerate(statuses)]
    return {"statuses": [label for _, label in statuses], "rows": table, "totals": totals,
            "total": sum(row["total"] for row in table), "url": admin_url(Service, "changelist")}


# -- runs --------------------------------------------------------------------------------------------

def recent_runs(viewer: access.Access, now=None) -> dict:
    """Runs queued in the last 24 hours by status, and the latest failures among them."""
    since = ((now or timezone.now()) - RUN_WINDOW).replace(microsecond=0)
    recent = viewer.restrict(GeneratorRun.objects.filter(queued_at__gte=since))
    by_status = dict(recent.values_list("status").annotate(n=Count("pk")).order_by())
    failed = (recent.filter(status=GeneratorRun.Status.FAILED).select_related("service").order_by("-pk")
              .only("action", "error", "queued_at", "finished_at", "service__service_identifier"))
    failures = [{"url": admin_url(GeneratorRun, "change", run.pk), "run": str(run),
                 "error": run.error.splitlines()[0] if run.error.strip() else "",
                 "when": run.finished_at or run.queued_at} for run in failed[:FAILURES_LISTED]]
    # A lookup on a field of the model itself is accepted by any changelist: the list shows the same runs.
    window = {"queued_at__gte": since.isoformat()}
    statuses = [{"value": value, "label": label, "count": by_status.get(value, 0),
                 "url": admin_url(GeneratorRun, "changelist", query={"status__exact": value, **window})}
                for value, label in GeneratorRun.Status.choices]
    return {"statuses": statuses, "total": sum(by_status.values()), "failures": failures,
            "failed": by_status.get(GeneratorRun.Status.FAILED, 0)}


# -- pools -------------------------------------------------------------------------------------------

@dataclass
class PoolUsage:
    """One pool's line: used and total (numbers or addresses), and how alarming that is."""

    name: str
    kind: str
    url: str
    used: int = 0
    total: int = 0
    resources: list = field(default_factory=list)  # (container Prefix, FreeSpace kind)

    @property
    def percent(self) -> float:
        return round(100 * self.used / self.total, 1) if self.total else 0.0

    @property
    def level(self) -> str:
        percent = self.percent
        return "critical" if percent >= CRITICAL_PERCENT else "warning" if percent >= WARNING_PERCENT else "ok"

    @property
    def bar_width(self) -> str:
        return f"{min(self.percent, 100):.1f}"


def number_pools(viewer: access.Access) -> list[PoolUsage]:
    """Each number pool's size and its free numbers, summed from its free runs (one query)."""
    pools = viewer.restrict(NumberPool.objects.all()).annotate(
        free=Sum(F("free_ranges__end") - F("free_ranges__start") + 1)).order_by()
    usages = []
    for pool in pools:
        usage = PoolUsage(pool.name, "Numbers", admin_url(NumberPool, "change", pool.pk), total=pool.size)
        usage.used = usage.total - (pool.free or 0)
        usages.append(usage)
    return usages


# The columns of a pool's container read with the pool, enough to build the Prefix that the free-space
# helpers need (its namespace given: otherwise building one looks the default namespace up).
CONTAINER = "pool_resources__prefix__"
CONTAINER_FIELDS = ("id", "namespace_id", "family", "prefix_length", "network", "broadcast")


def block_pools(viewer: access.Access, model, kind: str, label: str) -> list[PoolUsage]:
    """Prefix or IP address pools with their containers (one query: the pools joined to their resources)."""
    rows = viewer.restrict(model.objects.all()).values(
        "pk", "name", *(CONTAINER + name for name in CONTAINER_FIELDS)).order_by()
    usages = {}
    for row in rows:
        usage = usages.setdefault(row["pk"], PoolUsage(row["name"], label, admin_url(model, "change", row["pk"])))
        if row[CONTAINER + "id"] is not None:
            usage.resources.append((Prefix(**{name: row[CONTAINER + name] for name in CONTAINER_FIELDS}), kind))
    return list(usages.values())


def free_addresses_by_space(resources) -> dict[tuple[int, str], int | None]:
    """``(container id, kind) -> free addresses`` of every free-space index asked for (one grouped query).

    An index with no free block has 0 free addresses; a container without an index (made by a bulk
    import that bypassed the signals) is absent: its pool counts it as unused until the index is
    built (by the next allocation or the pool's page).
    """
    wanted = Q(pk__in=[])
    for kind in {kind for _, kind in resources}:
        wanted |= Q(kind=kind, container_id__in=sorted({c.pk for c, k in resources if k == kind}))
    rows = (FreeSpace.objects.filter(wanted).values("container_id", "kind", "container__family",
                                                   "blocks__prefix_length")
            .annotate(n=Count("blocks")).order_by())
    free = {}
    for row in rows:
        key = (row["container_id"], row["kind"])
        free.setdefault(key, 0)
        if row["blocks__prefix_length"] is not None:
            width = freespace.bits(row["container__family"])
            free[key] += row["n"] << (width - row["blocks__prefix_length"])
    return free


def pool_usage(viewer: access.Access) -> list[PoolUsage]:
    """Every visible pool with its used and total, the fullest first."""
    usages = number_pools(viewer)
    block_usages = (block_pools(viewer, PrefixPool, FreeSpace.Kind.PREFIX, "Prefixes")
                    + block_pools(viewer, IPAddressPool, FreeSpace.Kind.IP, "IP addresses"))
    free = free_addresses_by_space([resource for usage in block_usages for resource in usage.resources])
    for usage in block_usages:
        for container, kind in usage.resources:
            size = container.size - len(freespace.reserved_addresses(container, kind))
            usage.total += size
            usage.used += size - free.get((container.pk, kind), size)
    usages += block_usages
    return sorted(usages, key=lambda usage: (-usage.percent, usage.name))


# -- customer ports ------------------------------------------------------------------------------------

def free_customer_ports_url(site_id: int) -> str:
    """The interface list showing a site's free customer ports."""
    query = {"site_id": site_id, "role__exact": Interface.Role.CUSTOMER, "status__exact": Interface.Status.FREE}
    return f"{reverse('admin:dcim_interface_changelist')}?{urlencode(query)}"


def free_customer_ports(viewer: access.Access) -> list[dict]:
    """Per site: the customer ports of its core switches, free and in all, by speed (one grouped query).

    The same ports the Dedicated Internet generator chooses from (``customer_port``): role customer,
    on a device of role core standing at the site itself, status free.
    """
    ports = viewer.restrict(Interface.objects.filter(
        device__role__slug=DeviceRole.CORE, role=Interface.Role.CUSTOMER, device__location__kind=Location.Kind.SITE,
    )).filter(viewer.visible_q(Location, prefix="device__location__"))
    rows = (ports.values("device__location_id", "device__location__name", "speed")
            .annotate(free=Count("pk", filter=Q(status=Interface.Status.FREE)), total=Count("pk")).order_by())
    sites = {}
    for row in rows:
        site = sites.setdefault(row["device__location_id"], {
            "name": row["device__location__name"], "free": 0, "total": 0, "speeds": [],
            "url": free_customer_ports_url(row["device__location_id"])})
        site["free"] += row["free"]
        site["total"] += row["total"]
        site["speeds"].append({"speed": row["speed"], "label": format_speed(row["speed"]), "free": row["free"],
                               "total": row["total"]})
    for site in sites.values():
        site["speeds"].sort(key=lambda speed: speed["speed"] or 0)
    return sorted(sites.values(), key=lambda site: site["name"])


# -- the whole dashboard -------------------------------------------------------------------------------

def build(request, admin_site) -> dict:
    """The sections the viewer may see (those whose model they may list in the admin)."""
    viewer = access.for_request(request)

    def may_list(*models) -> bool:
        return any(admin_site._registry.get(model) is not None
                   and admin_site._registry[model].has_view_permission(request) for model in models)

    sections = dict.fromkeys(("services", "runs", "pools", "ports"))  # None: not shown to this viewer
    if may_list(Service):
        sections["services"] = services_by_type_and_status(viewer)
    if may_list(GeneratorRun):
        sections["runs"] = recent_runs(viewer)
    if may_list(NumberPool, PrefixPool, IPAddressPool):
        sections["pools"] = pool_usage(viewer)
        sections["warning_percent"], sections["critical_percent"] = WARNING_PERCENT, CRITICAL_PERCENT
    if may_list(Interface):
        sections["ports"] = free_customer_ports(viewer)
    return sections
