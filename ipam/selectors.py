"""Reads shared by the API and the admin: pools' utilisation, and what the admin's lists compute for a
page at once (a prefix tree's depths and utilisation, free blocks, the interfaces carrying a VLAN)."""

import bisect

import netaddr
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce, RowNumber

from catalog_site import access
from dcim.models import Interface

from . import freespace
from .addressing import bits, pack, unpack
from .models import FreeSpace, IPAddress, IPAddressPool, NumberPool, Prefix
from .models.ip import containing_q


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


# -- the prefix tree and utilisation, for a page of prefixes --------------------------------------

def nesting_depths(intervals) -> list[int]:
    """How many of ``intervals`` enclose each one. ``intervals`` are (first, last) address pairs of
    distinct prefixes, sorted by first address and widest first: prefixes nest or are disjoint, so
    the enclosing ones are exactly those still open when an interval starts."""
    depths, open_ends = [], []
    for first, last in intervals:
        while open_ends and open_ends[-1] < first:
            open_ends.pop()
        depths.append(len(open_ends))
        open_ends.append(last)
    return depths


def annotate_depth(rows, viewer: access.Access) -> None:
    """Set ``depth`` on each prefix of ``rows``: how many prefixes of its namespace the viewer may
    see contain it (hidden ones would show as unexplained indentation).

    One query for the page. An ancestor of a row either contains the lowest address of the page's
    rows of its namespace and family (found by one index lookup per possible length) or starts
    between the page's lowest and highest network (a range scan that, in the list's default
    address order, reads the page's own rows).
    """
    spans = {}
    for row in rows:
        key, start = (row.namespace_id, row.family), unpack(row.network)
        low, high, longest = spans.get(key, (start, start, row.prefix_length))
        spans[key] = (min(low, start), max(high, start), max(longest, row.prefix_length))
    if not spans:
        return
    query = Q(pk__in=[])
    for (namespace, family), (low, high, longest) in spans.items():
        lowest = netaddr.IPNetwork((low, bits(family)), version=family)
        query |= containing_q(lowest, include_self=True, namespace=namespace)
        query |= Q(namespace=namespace, family=family, network__gte=pack(low), network__lte=pack(high),
                   prefix_length__lt=longest)
    found = viewer.restrict(Prefix.objects.filter(query)).values_list(
        "namespace_id", "family", "network", "prefix_length", "broadcast")
    groups = {key: {} for key in spans}  # (namespace, family) -> {(first address, length): last address}
    for namespace, family, network, length, broadcast in found:
        groups[(namespace, family)][(unpack(network), length)] = unpack(broadcast)
    for row in rows:
        groups[(row.namespace_id, row.family)][(unpack(row.network), row.prefix_length)] = unpack(row.broadcast)
    depth = {}
    for group, nodes in groups.items():
        keys = sorted(nodes)
        depths = nesting_depths([(first, nodes[(first, length)]) for first, length in keys])
        depth.update(((*group, *key), value) for key, value in zip(keys, depths, strict=True))
    for row in rows:
        row.depth = depth[(row.namespace_id, row.family, unpack(row.network), row.prefix_length)]


def usable_addresses(prefix) -> int:
    """The addresses of a prefix that can be used: all but network and broadcast of IPv4 shorter than /31."""
    return prefix.size - 2 if prefix.family == 4 and prefix.prefix_length < 31 else prefix.size


def addresses_inside(prefixes) -> dict[int, int]:
    """Prefix id -> how many addresses of its namespace lie inside it: one query, a counting
    subquery per prefix that is an index range scan."""
    inside = (
        IPAddress.objects.filter(namespace=OuterRef("namespace"), family=OuterRef("family"),
                                 host__gte=OuterRef("network"), host__lte=OuterRef("broadcast"))
        .order_by().values("namespace").annotate(n=Count("pk")).values("n")
    )
    return dict(Prefix.objects.filter(pk__in=[prefix.pk for prefix in prefixes])
                .annotate(used=Coalesce(Subquery(inside), Value(0))).values_list("pk", "used"))


def addresses_covered(containers) -> dict[int, int]:
    """Container id -> how many of its addresses its top-level child prefixes cover.

    One query reads the prefixes inside the page's containers (nested containers are read once);
    each container then walks its own children, widest first among those that start together.
    """
    query, outer = Q(pk__in=[]), None
    for container in sorted(containers, key=lambda c: (c.namespace_id, c.family, unpack(c.network), c.prefix_length)):
        key = (container.namespace_id, container.family)
        if outer is not None and outer[0] == key and unpack(container.broadcast) <= outer[1]:
            continue  # inside a container already read
        outer = (key, unpack(container.broadcast))
        query |= Q(namespace=container.namespace_id, family=container.family,
                   network__gte=container.network, network__lte=container.broadcast)
    children = {}
    for namespace, family, network, length, broadcast in (
        Prefix.objects.filter(query).order_by("namespace_id", "family", "network", "prefix_length")
        .values_list("namespace_id", "family", "network", "prefix_length", "broadcast")
    ):
        children.setdefault((namespace, family), []).append((unpack(network), length, unpack(broadcast)))
    covered = {}
    for container in containers:
        group = children.get((container.namespace_id, container.family), [])
        first, last = unpack(container.network), unpack(container.broadcast)
        used, covered_until = 0, -1
        for start, length, end in group[bisect.bisect_left(group, (first,)):]:
            if start > last:
                break
            if length > container.prefix_length and start > covered_until:
                used += end - start + 1
                covered_until = end
        covered[container.pk] = used
    return covered


def annotate_utilization(rows) -> None:
    """Set ``usage`` (``{used, total, percent}``, as ``Prefix.get_utilization()``) on each prefix of
    ``rows``: addresses in use for a prefix, addresses covered by child prefixes for a container.
    Everything of the namespace counts, whoever's it is: the bar says how full the space is."""
    containers = [row for row in rows if row.status == Prefix.Status.CONTAINER]
    others = [row for row in rows if row.status != Prefix.Status.CONTAINER]
    used = {**(addresses_inside(others) if others else {}), **(addresses_covered(containers) if containers else {})}
    for row in rows:
        total = row.size if row.status == Prefix.Status.CONTAINER else usable_addresses(row)
        row.usage = {"used": used[row.pk], "total": total,
                     "percent": round(100 * used[row.pk] / total, 2) if total else 0.0}


# -- free blocks inside a prefix, the interfaces carrying VLANs --------------------------------------

def free_blocks(parent, until: int, limit: int) -> list[netaddr.IPNetwork]:
    """The free blocks of ``parent`` (between all its children, whoever's they are, as the API's
    available-prefixes), up to the address ``until``, at most ``limit``; none when nothing
    is inside (the parent is not its own child)."""
    used = freespace.used_intervals(parent, FreeSpace.Kind.PREFIX, parent.cidr)
    blocks = []
    for start, end in freespace.gaps(unpack(parent.network), until, used):
        for block, length in freespace.range_to_blocks(start, end, bits(parent.family)):
            if length == parent.prefix_length:
                return []  # nothing inside at all
            blocks.append(netaddr.IPNetwork((block, length), version=parent.family))
            if len(blocks) >= limit:
                return blocks
    return blocks


def vlan_carriers(vlans, viewer: access.Access, shown_count: int) -> dict[int, tuple[list, int]]:
    """VLAN id -> (the first interfaces the viewer may see that carry it, as (interface, tagged)
    pairs, untagged ones first; how many carry it in all).

    Two queries for the page, one per kind: a window function numbers each VLAN's interfaces (by
    device and name), keeps the first ``shown_count`` and counts them all.
    """
    ids = [vlan.pk for vlan in vlans]
    order = (F("device__name").asc(), F("name").asc())
    untagged = (
        viewer.restrict(Interface.objects.filter(untagged_vlan_id__in=ids))
        .annotate(position=Window(RowNumber(), partition_by=F("untagged_vlan_id"), order_by=order),
                  carriers=Window(Count("pk"), partition_by=F("untagged_vlan_id")))
        .filter(position__lte=shown_count).select_related("device")
    )
    through = Interface.tagged_vlans.through
    tagged = (
        through.objects.filter(viewer.visible_q(Interface, prefix="interface__"), vlan_id__in=ids)
        .annotate(position=Window(RowNumber(), partition_by=F("vlan_id"),
                                  order_by=(F("interface__device__name").asc(), F("interface__name").asc())),
                  carriers=Window(Count("pk"), partition_by=F("vlan_id")))
        .filter(position__lte=shown_count).select_related("interface__device")
    )
    found = {pk: ([], 0) for pk in ids}
    rows = [(i.untagged_vlan_id, i.position, i, False, i.carriers) for i in untagged]
    rows += [(t.vlan_id, shown_count + t.position, t.interface, True, t.carriers) for t in tagged]
    counted = set()
    for vlan_id, _, interface, is_tagged, carriers in sorted(rows, key=lambda row: row[:2]):
        shown, total = found[vlan_id]
        if (vlan_id, is_tagged) not in counted:
            counted.add((vlan_id, is_tagged))
            total += carriers
        if len(shown) < shown_count:
            shown.append((interface, is_tagged))
        found[vlan_id] = (shown, total)
    return found
