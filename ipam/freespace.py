"""The free-space index: what allocation takes from, kept in step with the inventory.

Each container prefix used by a pool has a ``FreeSpace`` per kind (child prefixes or addresses),
holding the free space as disjoint aligned blocks with no two free buddies side by side. Then:

- allocation reads one row (the smallest block that fits, or the lowest free address) instead of
  every child of the container;
- ``take()`` removes a block from the index (splitting the free block around it) and ``give_back()``
  returns one (merging it with its free buddies), each in a constant number of queries;
- objects made outside a pool are taken out of the index by the signal handlers in
  ``ipam/signals.py``, and allocation still checks every candidate against the real tables, so a
  stale index can cost a retry but never hands out a used resource.

Every change to a space happens under the space's lock (``lock_space``).
"""

from collections.abc import Iterable

import netaddr
from django.db.models import Count, Q

from catalog_site.locks import advisory_lock

from .addressing import bits, network_int, pack, unpack
from .models import FreeBlock, FreeSpace, IPAddress, Prefix


def range_to_blocks(first: int, last: int, width: int) -> list[tuple[int, int]]:
    """Cover ``first``..``last`` with the fewest aligned blocks: ``[(network, prefix_length), ...]``."""
    blocks = []
    while first <= last:
        size = (first & -first).bit_length() - 1 if first else width
        size = min(size, width)
        while first + (1 << size) - 1 > last:
            size -= 1
        blocks.append((first, width - size))
        first += 1 << size
    return blocks


def gaps(first: int, last: int, used: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The runs of ``first``..``last`` not covered by ``used`` (intervals sorted by start)."""
    free, cursor = [], first
    for start, end in used:
        if end < cursor:
            continue
        if start > cursor:
            free.append((cursor, min(start - 1, last)))
        cursor = max(cursor, end + 1)
        if cursor > last:
            break
    if cursor <= last:
        free.append((cursor, last))
    return free


def lock_space(space: FreeSpace) -> None:
    advisory_lock(f"freespace:{space.pk}")


def reserved_addresses(container: Prefix, kind: str) -> list[int]:
    """Addresses never handed out, as NetBox: network and broadcast of an IPv4 prefix shorter than /31,
    and the subnet-router anycast address (the first, RFC 4291) of an IPv6 prefix shorter than /127.

    Point-to-point prefixes (/31, RFC 3021; /127, RFC 6164) use every address.
    """
    if kind != FreeSpace.Kind.IP:
        return []
    if container.family == 4 and container.prefix_length < 31:
        return [unpack(container.network), unpack(container.broadcast)]
    if container.family == 6 and container.prefix_length < 127:
        return [unpack(container.network)]
    return []


def used_intervals(container: Prefix, kind: str, network: netaddr.IPNetwork) -> list[tuple[int, int]]:
    """What occupies ``network`` (inside ``container``), as sorted (first, last) intervals."""
    if kind == FreeSpace.Kind.PREFIX:
        rows = (
            Prefix.objects.within(network, namespace=container.namespace_id, include_self=True)
            .exclude(pk=container.pk)
            .order_by("network")
            .values_list("network", "broadcast")
        )
        return [(unpack(first), unpack(last)) for first, last in rows]
    rows = IPAddress.objects.within(network, namespace=container.namespace_id).order_by("host")
    hosts = [unpack(host) for host in rows.values_list("host", flat=True)]
    hosts += [a for a in reserved_addresses(container, kind) if int(network.network) <= a <= int(network[-1])]
    return [(host, host) for host in sorted(hosts)]


def ensure_space(container: Prefix, kind: str) -> FreeSpace:
    """The container's index of ``kind``, built from the inventory the first time (reads every child once)."""
    space, created = FreeSpace.objects.get_or_create(container=container, kind=kind)
    if created:
        lock_space(space)
        width = bits(container.family)
        first, last = unpack(container.network), unpack(container.broadcast)
        FreeBlock.objects.bulk_create(
            FreeBlock(space=space, network=pack(block), prefix_length=length)
            for start, end in gaps(first, last, used_intervals(container, kind, container.cidr))
            for block, length in range_to_blocks(start, end, width)
        )
    return space


def rebuild_space(space: FreeSpace) -> FreeSpace:
    """Drop and rebuild an index from the inventory (after bulk imports that bypassed signals)."""
    container, kind = space.container, space.kind
    lock_space(space)
    space.delete()
    return ensure_space(container, kind)


def split(space: FreeSpace, block_pk: int, block_start: int, block_length: int, network: int, length: int) -> None:
    """Take ``network/length`` out of the free block ``block_start/block_length`` that holds it.

    The block is deleted and the halves that do not hold the taken block go back, one per level.
    """
    width = bits(space.container.family)
    FreeBlock.objects.filter(pk=block_pk).delete()
    start, level, halves = block_start, block_length, []
    while level < length:
        level += 1
        half = 1 << (width - level)
        if network & half:  # the taken block is in the upper half: the lower one stays free
            halves.append(FreeBlock(space=space, network=pack(start), prefix_length=level))
            start += half
        else:
            halves.append(FreeBlock(space=space, network=pack(start + half), prefix_length=level))
    if halves:
        FreeBlock.objects.bulk_create(halves)


def take(space: FreeSpace, network: int, length: int) -> bool:
    """Remove ``network/length`` from the free blocks of ``space``; True if any of it was free.

    Either one free block contains it (that block is split) or some free blocks lie inside it
    (they are deleted).
    """
    container = space.container
    width = bits(container.family)
    starts = {pack(network_int(network, level, container.family)): level
              for level in range(length, container.prefix_length - 1, -1)}
    candidates = space.blocks.filter(network__in=list(starts), prefix_length__lte=length).values_list(
        "pk", "network", "prefix_length"
    )
    for pk, start, level in candidates:
        start = bytes(start)
        if starts.get(start) == level:  # a block holding network/length, not merely sharing its start
            split(space, pk, unpack(start), level, network, length)
            return True
    last = network + (1 << (width - length)) - 1
    deleted, _ = space.blocks.filter(network__gte=pack(network), network__lte=pack(last)).delete()
    return bool(deleted)


def give_back(space: FreeSpace, network: int, length: int) -> None:
    """Return ``network/length`` to ``space``, merged with whichever buddies are free."""
    container = space.container
    width = bits(container.family)
    buddies = []
    for level in range(length, container.prefix_length, -1):
        own = network_int(network, level, container.family)
        buddies.append((own ^ (1 << (width - level)), level))
    query = Q(pk__in=[])
    for key, level in buddies:
        query |= Q(network=pack(key), prefix_length=level)
    rows = space.blocks.filter(query).values_list("pk", "network", "prefix_length")
    free = {(unpack(n), level): pk for pk, n, level in rows}
    merged = []
    for key, level in buddies:
        pk = free.get((key, level))
        if pk is None:
            break
        merged.append(pk)
        length = level - 1
    if merged:
        FreeBlock.objects.filter(pk__in=merged).delete()
    merged_network = network_int(network, length, container.family)
    FreeBlock.objects.create(space=space, network=pack(merged_network), prefix_length=length)


def spaces_around(network: netaddr.IPNetwork, namespace_id: int, kind: str) -> list[FreeSpace]:
    """The indexes of ``kind`` whose container strictly contains ``network``, locked, in a stable order."""
    if not FreeSpace.objects.filter(kind=kind).exists():
        return []
    containers = Prefix.objects.containing(network, namespace=namespace_id)
    spaces = list(
        FreeSpace.objects.filter(kind=kind, container__in=containers).select_related("container").order_by("pk")
    )
    for space in spaces:
        lock_space(space)
    return spaces


def occupy(network: netaddr.IPNetwork, namespace_id: int, kind: str) -> None:
    """Something now occupies ``network``: take it out of every index around it."""
    for space in spaces_around(network, namespace_id, kind):
        take(space, int(network.network), network.prefixlen)


def vacate(network: netaddr.IPNetwork, namespace_id: int, kind: str) -> None:
    """``network`` was freed: give back to each index around it the part nothing else still occupies."""
    for space in spaces_around(network, namespace_id, kind):
        container = space.container
        if kind == FreeSpace.Kind.PREFIX and (
            Prefix.objects.containing(network, namespace=namespace_id)
            .filter(prefix_length__gt=container.prefix_length)
            .exists()
        ):
            continue  # still inside another prefix of the container: nothing became free
        first, last = int(network.network), int(network[-1])
        # Clear whatever of it the index already holds (a row made by bulk_create was never taken
        # out), so that giving back cannot leave two overlapping free blocks.
        take(space, first, network.prefixlen)
        for start, end in gaps(first, last, used_intervals(container, kind, network)):
            for block, length in range_to_blocks(start, end, bits(container.family)):
                give_back(space, block, length)


def free_addresses(space: FreeSpace) -> int:
    """How many addresses of the container are free (one grouped query, at most 129 rows)."""
    width = bits(space.container.family)
    rows = space.blocks.values("prefix_length").annotate(n=Count("pk")).values_list("prefix_length", "n")
    return sum(count << (width - length) for length, count in rows)
