"""Allocation from pools: the service layer used by the API, the admin and the generators.

``allocate_*(pool=..., identifier=...)`` is idempotent: the same identifier returns the same
resource (``created`` is False). Each call runs in one transaction holding the pool's lock, and the
lock of each container it takes space from, so two workers never receive the same resource; the
ledger's unique ``(pool, identifier)`` and the inventory's own unique constraints stand behind the
locks. No call reads every child of a container: free space comes from the index in
``ipam/freespace.py``, and each candidate is checked against the real tables before it is used.
"""

from dataclasses import dataclass

import netaddr
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from catalog_site.locks import advisory_lock

from . import freespace
from .addressing import bits, pack, supernet_keys, unpack
from .models import (
    VLAN,
    FreeSpace,
    IPAddress,
    IPAddressAllocation,
    IPAddressPool,
    NumberAllocation,
    NumberFreeRange,
    NumberPool,
    Prefix,
    PrefixAllocation,
    PrefixPool,
)

# A candidate found used by something the index did not know is taken out and the search goes on;
# this bounds how many such repairs one allocation makes before giving up.
MAX_REPAIRS = 64

PREFIX_DATA_FIELDS = {"description", "status", "role", "tenant", "location", "vlan", "annotations"}
IP_DATA_FIELDS = {"description", "status", "role", "tenant", "interface", "dns_name", "annotations"}


class AllocationError(Exception):
    """An allocation that cannot be served; the API answers 409 with this message."""


class PoolExhausted(AllocationError):
    pass


class IdentifierConflict(AllocationError):
    pass


@dataclass
class Allocation:
    """What an allocation returns: the resource (a Prefix, an IPAddress or a number) and whether it is new."""

    resource: object
    created: bool


def _check_identifier(identifier) -> str:
    if not isinstance(identifier, str) or not identifier.strip():
        raise ValidationError({"identifier": "An identifier (a non-empty string) is required."})
    if len(identifier) > 255:
        raise ValidationError({"identifier": "An identifier has at most 255 characters."})
    return identifier.strip()


def _apply_data(instance, data, allowed: set[str]) -> None:
    """Set the fields given in ``data`` (related objects by id); unknown fields are refused."""
    if data is None:
        return
    if not isinstance(data, dict):
        raise ValidationError({"data": "Expected an object of field values."})
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(
            {"data": f"Unknown or read-only fields: {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}."}
        )
    for name, value in data.items():
        field = instance._meta.get_field(name)
        if field.is_relation:
            if value is not None and not (isinstance(value, int) and not isinstance(value, bool)):
                raise ValidationError({"data": f"{name}: expected an id."})
            if value is not None and not field.related_model.objects.filter(pk=value).exists():
                raise ValidationError({"data": f"{name}: no object with id {value}."})
            setattr(instance, field.attname, value)
        else:
            setattr(instance, name, value)


def _validate(instance, extra_exclude=()) -> None:
    try:
        instance.full_clean(validate_unique=False, validate_constraints=False, exclude=list(extra_exclude))
    except ValidationError as exc:
        messages = [f"{field}: {'; '.join(msgs)}" for field, msgs in exc.message_dict.items()]
        raise ValidationError({"data": messages}) from exc


def _save_placed_prefix(prefix: Prefix, start: int, length: int, family: int) -> Prefix:
    """Save ``prefix`` at ``start/length``, space already taken out of the index by the caller."""
    prefix.prefix = str(netaddr.IPNetwork((start, length), version=family))
    prefix.set_derived_fields()
    _validate(prefix, ["namespace"])  # the namespace comes from the pool or the parent: it exists
    prefix._space_taken = True  # the signal handler need not take it out of the index again
    prefix.save()
    return prefix


def _save_placed_address(ip: IPAddress, address: int, container: Prefix) -> IPAddress:
    """Save ``ip`` at ``address`` with the container's length, taken out of the index by the caller."""
    ip.namespace_id = container.namespace_id
    ip.address = f"{netaddr.IPAddress(address, version=container.family)}/{container.prefix_length}"
    ip.set_derived_fields()
    _validate(ip, ["namespace"])
    ip._space_taken = True
    ip.save()
    return ip


# -- prefixes ---------------------------------------------------------------------------


def _overlapping_prefixes(container: Prefix, candidate: netaddr.IPNetwork) -> list[str]:
    """Prefixes of the container's namespace inside ``candidate`` or between it and the container.

    The free-space index may not know of a prefix made without signals (a bulk import), so every
    candidate is checked against the table: two index probes (a range scan inside, and one probe per
    distinct start of a supernet around) joined by UNION ALL in one round trip. Written in SQL
    because this runs on every allocation and the ORM spends longer compiling it than the database
    spends answering it.
    """
    start, length = int(candidate.network), candidate.prefixlen
    keys = {(net, level) for net, level in supernet_keys(candidate) if level > container.prefix_length}
    table = Prefix._meta.db_table
    sql = (f"SELECT prefix, network, prefix_length FROM {table} WHERE namespace_id = %s AND family = %s"
           " AND network >= %s AND network <= %s AND prefix_length >= %s")
    params = [container.namespace_id, container.family, pack(start), pack(start + candidate.size - 1), length]
    starts = sorted({net for net, _ in keys})
    if starts:
        sql += (f" UNION ALL SELECT prefix, network, prefix_length FROM {table} WHERE namespace_id = %s"
                f" AND family = %s AND network IN ({', '.join(['%s'] * len(starts))})"
                " AND prefix_length > %s AND prefix_length < %s")
        params += [container.namespace_id, container.family, *starts, container.prefix_length, length]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [text for text, net, level in rows if level >= length or (bytes(net), level) in keys]


def _find_prefix(space: FreeSpace, length: int) -> int | None:
    """Best fit: the start of the smallest free block of ``space`` that holds a /``length``, taken out."""
    container = space.container
    for _ in range(MAX_REPAIRS):
        block = (
            space.blocks.filter(prefix_length__lte=length)
            .order_by("-prefix_length", "network")
            .values_list("pk", "network", "prefix_length")
            .first()
        )
        if block is None:
            return None
        pk, start, block_length = block[0], unpack(block[1]), block[2]
        candidate = netaddr.IPNetwork((start, length), version=container.family)
        conflicts = _overlapping_prefixes(container, candidate)
        if not conflicts:
            freespace.split(space, pk, start, block_length, start, length)
            return start
        for used in conflicts:
            network = netaddr.IPNetwork(used)
            freespace.take(space, int(network.network), network.prefixlen)
    raise PoolExhausted(f"Gave up after {MAX_REPAIRS} repairs of the free-space index of {container}; rebuild it.")


def _resource_spaces(resources, kind: str) -> list[FreeSpace]:
    """The free-space index of each resource container, in order (built where missing)."""
    spaces = []
    for resource in resources:
        if resource.space_id is None:
            space = freespace.ensure_space(resource.prefix, kind)
        else:
            space = FreeSpace(pk=resource.space_id, container=resource.prefix, kind=kind)
        spaces.append(space)
    return spaces


def _resources(pool, kind: str):
    """The pool's resources, each with its container and the id of the container's index."""
    resources = list(pool.pool_resources.select_related("prefix"))
    spaces = dict(
        FreeSpace.objects.filter(container_id__in=[r.prefix_id for r in resources], kind=kind).values_list(
            "container_id", "pk"
        )
    )
    for resource in resources:
        resource.space_id = spaces.get(resource.prefix_id)
    return resources


@transaction.atomic
def allocate_prefix(*, pool: PrefixPool, identifier: str, prefix_length: int | None = None, data=None) -> Allocation:
    """A prefix of ``prefix_length`` (default: the pool's) for ``identifier``, best fit across the resources."""
    identifier = _check_identifier(identifier)
    length = prefix_length if prefix_length is not None else pool.default_prefix_length
    if length is None:
        raise ValidationError({"prefix_length": f"Pool {pool.name} has no default prefix length; give one."})
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= 128:
        raise ValidationError({"prefix_length": "Expected a prefix length between 0 and 128."})
    advisory_lock(f"pool:prefix:{pool.pk}")
    existing = PrefixAllocation.objects.select_related("prefix").filter(pool=pool, identifier=identifier).first()
    if existing is not None:
        if existing.prefix.prefix_length != length:
            raise IdentifierConflict(
                f"Identifier '{identifier}' already holds {existing.prefix} (/{existing.prefix.prefix_length}) "
                f"in pool {pool.name}; a /{length} was asked."
            )
        return Allocation(existing.prefix, False)
    prefix = Prefix(namespace_id=pool.namespace_id, status=pool.default_status, role=pool.default_role)
    _apply_data(prefix, data, PREFIX_DATA_FIELDS)
    resources = _resources(pool, FreeSpace.Kind.PREFIX)
    fitting = [r for r in resources if r.prefix.prefix_length < length <= bits(r.prefix.family)]
    if not resources:
        raise PoolExhausted(f"Pool {pool.name} has no resources.")
    if not fitting:
        raise ValidationError({"prefix_length": f"/{length} does not fit in any resource of pool {pool.name}."})
    for space in _resource_spaces(fitting, FreeSpace.Kind.PREFIX):
        container = space.container
        freespace.lock_space(space)
        start = _find_prefix(space, length)
        if start is None:
            continue
        _save_placed_prefix(prefix, start, length, container.family)
        PrefixAllocation.objects.create(pool=pool, identifier=identifier, prefix=prefix)
        return Allocation(prefix, True)
    raise PoolExhausted(f"Pool {pool.name} has no free /{length} left.")


# -- IP addresses -----------------------------------------------------------------------


def _find_address(space: FreeSpace) -> int | None:
    """The lowest free address of ``space``, taken out of the index."""
    container = space.container
    width = bits(container.family)
    # An index built before an address was reserved (the IPv6 subnet-router anycast) may still hold
    # it: taken out here, never handed out.
    reserved = set(freespace.reserved_addresses(container, FreeSpace.Kind.IP))
    for _ in range(MAX_REPAIRS):
        block = space.blocks.order_by("network").values_list("pk", "network", "prefix_length").first()
        if block is None:
            return None
        pk, address, block_length = block[0], unpack(block[1]), block[2]
        freespace.split(space, pk, address, block_length, address, width)
        if address in reserved:
            continue
        if not IPAddress.objects.filter(namespace_id=container.namespace_id, family=container.family,
                                        host=pack(address)).exists():
            return address
    raise PoolExhausted(f"Gave up after {MAX_REPAIRS} repairs of the free-space index of {container}; rebuild it.")


@transaction.atomic
def allocate_ip_address(*, pool: IPAddressPool, identifier: str, data=None) -> Allocation:
    """The lowest free address of the pool's resources (in order) for ``identifier``.

    The address carries the length of the resource prefix it came from (``192.0.2.7/24``).
    """
    identifier = _check_identifier(identifier)
    advisory_lock(f"pool:ip:{pool.pk}")
    existing = IPAddressAllocation.objects.select_related("ip_address").filter(pool=pool, identifier=identifier).first()
    if existing is not None:
        return Allocation(existing.ip_address, False)
    resources = _resources(pool, FreeSpace.Kind.IP)
    if not resources:
        raise PoolExhausted(f"Pool {pool.name} has no resources.")
    # The namespace is set now (from the first resource) so that the model's default, a lookup of
    # the default namespace, does not run; each resource sets its own below.
    ip = IPAddress(status=pool.default_status, namespace_id=resources[0].prefix.namespace_id)
    _apply_data(ip, data, IP_DATA_FIELDS)
    for space in _resource_spaces(resources, FreeSpace.Kind.IP):
        container = space.container
        freespace.lock_space(space)
        address = _find_address(space)
        if address is None:
            continue
        _save_placed_address(ip, address, container)
        IPAddressAllocation.objects.create(pool=pool, identifier=identifier, ip_address=ip)
        return Allocation(ip, True)
    raise PoolExhausted(f"Pool {pool.name} has no free address left.")


# -- numbers ----------------------------------------------------------------------------


def build_number_ranges(pool: NumberPool) -> None:
    """(Re)build the free runs of a number pool from its ledger and, with an L2 domain, its VLANs."""
    advisory_lock(f"pool:number:{pool.pk}")
    used = set(pool.allocations.values_list("value", flat=True))
    if pool.l2domain_id is not None:
        used |= set(
            VLAN.objects.filter(l2domain_id=pool.l2domain_id, vid__gte=pool.start, vid__lte=pool.end).values_list(
                "vid", flat=True
            )
        )
    pool.free_ranges.all().delete()
    NumberFreeRange.objects.bulk_create(
        NumberFreeRange(pool=pool, start=start, end=end)
        for start, end in freespace.gaps(pool.start, pool.end, [(v, v) for v in sorted(used)])
    )


def take_number(pool: NumberPool, value: int) -> None:
    """Take ``value`` out of the pool's free runs (if it is there)."""
    run = pool.free_ranges.filter(start__lte=value, end__gte=value).first()
    if run is None:
        return
    if run.start == run.end:
        run.delete()
    elif value == run.start:
        NumberFreeRange.objects.filter(pk=run.pk).update(start=value + 1)
    elif value == run.end:
        NumberFreeRange.objects.filter(pk=run.pk).update(end=value - 1)
    else:
        NumberFreeRange.objects.filter(pk=run.pk).update(end=value - 1)
        NumberFreeRange.objects.create(pool=pool, start=value + 1, end=run.end)


def give_back_number(pool: NumberPool, value: int) -> None:
    """Return ``value`` to the pool's free runs, joined with its neighbours."""
    if not pool.start <= value <= pool.end or pool.free_ranges.filter(start__lte=value, end__gte=value).exists():
        return
    before = pool.free_ranges.filter(end=value - 1).first()
    after = pool.free_ranges.filter(start=value + 1).first()
    if before and after:
        after.delete()
        NumberFreeRange.objects.filter(pk=before.pk).update(end=after.end)
    elif before:
        NumberFreeRange.objects.filter(pk=before.pk).update(end=value)
    elif after:
        after.delete()
        NumberFreeRange.objects.create(pool=pool, start=value, end=after.end)
    else:
        NumberFreeRange.objects.create(pool=pool, start=value, end=value)


@transaction.atomic
def allocate_number(*, pool: NumberPool, identifier: str, data=None) -> Allocation:
    """The lowest free number of the pool for ``identifier``."""
    identifier = _check_identifier(identifier)
    if data is not None and not isinstance(data, dict):
        raise ValidationError({"data": "Expected an object."})
    advisory_lock(f"pool:number:{pool.pk}")
    existing = pool.allocations.filter(identifier=identifier).first()
    if existing is not None:
        return Allocation(existing.value, False)
    for _ in range(MAX_REPAIRS):
        run = pool.free_ranges.order_by("start").first()
        if run is None:
            raise PoolExhausted(f"Pool {pool.name} ({pool.start}-{pool.end}) has no free number left.")
        value = run.start
        take_number(pool, value)
        used = pool.allocations.filter(value=value).exists() or (
            pool.l2domain_id is not None and VLAN.objects.filter(l2domain_id=pool.l2domain_id, vid=value).exists()
        )
        if not used:
            NumberAllocation.objects.create(pool=pool, identifier=identifier, value=value, data=data or {})
            return Allocation(value, True)
    raise PoolExhausted(f"Gave up after {MAX_REPAIRS} repairs of pool {pool.name}'s free list; rebuild it.")


# -- release ----------------------------------------------------------------------------


@transaction.atomic
def release(*, pool, identifier: str) -> bool:
    """Give back what ``identifier`` holds in ``pool`` (the prefix or address is deleted). False if nothing."""
    if isinstance(pool, NumberPool):
        advisory_lock(f"pool:number:{pool.pk}")
        allocation = pool.allocations.filter(identifier=identifier).first()
        if allocation is None:
            return False
        allocation.delete()
        in_use = pool.l2domain_id is not None and VLAN.objects.filter(
            l2domain_id=pool.l2domain_id, vid=allocation.value
        ).exists()
        if not in_use:
            give_back_number(pool, allocation.value)
        return True
    if isinstance(pool, PrefixPool):
        advisory_lock(f"pool:prefix:{pool.pk}")
        allocation = pool.allocations.select_related("prefix").filter(identifier=identifier).first()
        if allocation is None:
            return False
        allocation.prefix.delete()  # the ledger row goes with it; the signal gives the space back
        return True
    advisory_lock(f"pool:ip:{pool.pk}")
    allocation = pool.allocations.select_related("ip_address").filter(identifier=identifier).first()
    if allocation is None:
        return False
    allocation.ip_address.delete()
    return True


# -- free space of a prefix or an L2 domain, without a pool (NetBox's available-* endpoints) ----


@transaction.atomic
def allocate_child_prefix(*, parent: Prefix, prefix_length, data=None) -> Prefix:
    """Create the best-fitting free /``prefix_length`` inside ``parent``.

    The parent gets a free-space index the first time (built from its children once, then kept in
    step like a pool's), so this stays fast as the parent fills.
    """
    if isinstance(prefix_length, bool) or not isinstance(prefix_length, int):
        raise ValidationError({"prefix_length": "Expected an integer prefix length."})
    if not parent.prefix_length < prefix_length <= bits(parent.family):
        raise ValidationError(
            {"prefix_length": f"Expected a length between /{parent.prefix_length + 1} and /{bits(parent.family)}."}
        )
    prefix = Prefix(namespace_id=parent.namespace_id)
    _apply_data(prefix, data, PREFIX_DATA_FIELDS)
    space = freespace.ensure_space(parent, FreeSpace.Kind.PREFIX)
    freespace.lock_space(space)
    start = _find_prefix(space, prefix_length)
    if start is None:
        raise PoolExhausted(f"{parent} has no free /{prefix_length} left.")
    return _save_placed_prefix(prefix, start, prefix_length, parent.family)


@transaction.atomic
def allocate_child_ip_address(*, parent: Prefix, data=None) -> IPAddress:
    """Create the lowest free address of ``parent`` (network and broadcast of IPv4 < /31, and the
    subnet-router anycast address of IPv6 < /127, excluded)."""
    ip = IPAddress(namespace_id=parent.namespace_id)
    _apply_data(ip, data, IP_DATA_FIELDS)
    space = freespace.ensure_space(parent, FreeSpace.Kind.IP)
    freespace.lock_space(space)
    address = _find_address(space)
    if address is None:
        raise PoolExhausted(f"{parent} has no free address left.")
    return _save_placed_address(ip, address, parent)


VLAN_DATA_FIELDS = {"name", "description", "status", "role", "tenant", "location", "annotations"}


def free_vids(l2domain_id: int, limit: int | None = None) -> list[int]:
    """The free VLAN ids of an L2 domain, lowest first (reads the domain's VLANs: at most 4094 rows)."""
    vids = VLAN.objects.filter(l2domain_id=l2domain_id).order_by("vid").values_list("vid", flat=True)
    used = [(vid, vid) for vid in vids]
    free = []
    for start, end in freespace.gaps(1, 4094, used):
        free.extend(range(start, end + 1))
        if limit is not None and len(free) >= limit:
            return free[:limit]
    return free


@transaction.atomic
def allocate_vlan(*, l2domain, data=None) -> VLAN:
    """Create a VLAN with the lowest free id of ``l2domain``."""
    advisory_lock(f"l2domain:{l2domain.pk}")
    vlan = VLAN(l2domain=l2domain)
    _apply_data(vlan, data, VLAN_DATA_FIELDS)
    free = free_vids(l2domain.pk, limit=1)
    if not free:
        raise PoolExhausted(f"L2 domain {l2domain.name} has no free VLAN id left.")
    vlan.vid = free[0]
    _validate(vlan)
    vlan.save()
    return vlan
