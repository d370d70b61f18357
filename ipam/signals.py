"""Keep pools' free-space indexes in step with prefixes, addresses and VLANs made by any means.

A prefix or address saved inside a pool's container is taken out of the index; one deleted (or
moved) is given back. Changing a pool's range or resources (re)builds what it needs. Allocation
marks what it created with ``_space_taken`` so that the handlers do not repeat its work.
"""

import netaddr
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from catalog_site.locks import advisory_lock

from . import freespace
from .allocation import build_number_ranges, give_back_number, take_number
from .models import (
    VLAN,
    FreeSpace,
    IPAddress,
    IPAddressPoolResource,
    NumberPool,
    Prefix,
    PrefixPoolResource,
)


def _previous(sender, instance, fields):
    if instance.pk is None or instance._state.adding:
        return None
    return sender._base_manager.filter(pk=instance.pk).values(*fields).first()


# -- prefixes ---------------------------------------------------------------------------


@receiver(pre_save, sender=Prefix)
def remember_prefix(sender, instance, **kwargs):
    instance._previous = _previous(sender, instance, ["prefix", "namespace_id"])


@receiver(post_save, sender=Prefix)
def prefix_saved(sender, instance, created, **kwargs):
    previous = getattr(instance, "_previous", None)
    moved = previous is not None and (previous["prefix"], previous["namespace_id"]) != (
        instance.prefix, instance.namespace_id
    )
    if not (created or moved) or (created and getattr(instance, "_space_taken", False)):
        return  # nothing moved, or the allocator already took the space out of its index
    with transaction.atomic():
        if moved:
            # The prefix itself changed: its old place is free, and any index of it is stale.
            freespace.vacate(netaddr.IPNetwork(previous["prefix"]), previous["namespace_id"], FreeSpace.Kind.PREFIX)
            for space in instance.free_spaces.all():
                freespace.rebuild_space(space)
        freespace.occupy(instance.cidr, instance.namespace_id, FreeSpace.Kind.PREFIX)


@receiver(post_delete, sender=Prefix)
def prefix_deleted(sender, instance, **kwargs):
    with transaction.atomic():
        freespace.vacate(instance.cidr, instance.namespace_id, FreeSpace.Kind.PREFIX)


# -- IP addresses -----------------------------------------------------------------------


def _host(address: str) -> netaddr.IPNetwork:
    ip = netaddr.IPNetwork(address).ip
    return netaddr.IPNetwork((int(ip), 32 if ip.version == 4 else 128), version=ip.version)


@receiver(pre_save, sender=IPAddress)
def remember_address(sender, instance, **kwargs):
    instance._previous = _previous(sender, instance, ["address", "namespace_id"])


@receiver(post_save, sender=IPAddress)
def address_saved(sender, instance, created, **kwargs):
    previous = getattr(instance, "_previous", None)
    moved = previous is not None and (_host(previous["address"]), previous["namespace_id"]) != (
        _host(instance.address), instance.namespace_id
    )
    if not (created or moved) or (created and getattr(instance, "_space_taken", False)):
        return
    with transaction.atomic():
        if moved:
            freespace.vacate(_host(previous["address"]), previous["namespace_id"], FreeSpace.Kind.IP)
        freespace.occupy(_host(instance.address), instance.namespace_id, FreeSpace.Kind.IP)


@receiver(post_delete, sender=IPAddress)
def address_deleted(sender, instance, **kwargs):
    with transaction.atomic():
        freespace.vacate(_host(instance.address), instance.namespace_id, FreeSpace.Kind.IP)


# -- VLANs and number pools ---------------------------------------------------------------


def _vlan_pools(l2domain_id, vid):
    return NumberPool.objects.filter(l2domain_id=l2domain_id, start__lte=vid, end__gte=vid).order_by("pk")


def _lock_number_pool(pool):
    advisory_lock(f"pool:number:{pool.pk}")


@receiver(pre_save, sender=VLAN)
def remember_vlan(sender, instance, **kwargs):
    instance._previous = _previous(sender, instance, ["vid", "l2domain_id"])


@receiver(post_save, sender=VLAN)
def vlan_saved(sender, instance, created, **kwargs):
    previous = getattr(instance, "_previous", None)
    moved = previous is not None and (previous["vid"], previous["l2domain_id"]) != (instance.vid, instance.l2domain_id)
    with transaction.atomic():
        if moved:
            _vlan_gone(previous["l2domain_id"], previous["vid"])
        if created or moved:
            for pool in _vlan_pools(instance.l2domain_id, instance.vid):
                _lock_number_pool(pool)
                take_number(pool, instance.vid)


def _vlan_gone(l2domain_id, vid):
    for pool in _vlan_pools(l2domain_id, vid):
        _lock_number_pool(pool)
        if not pool.allocations.filter(value=vid).exists():
            give_back_number(pool, vid)


@receiver(post_delete, sender=VLAN)
def vlan_deleted(sender, instance, **kwargs):
    with transaction.atomic():
        _vlan_gone(instance.l2domain_id, instance.vid)


@receiver(pre_save, sender=NumberPool)
def remember_number_pool(sender, instance, **kwargs):
    instance._previous = _previous(sender, instance, ["start", "end", "l2domain_id"])


@receiver(post_save, sender=NumberPool)
def number_pool_saved(sender, instance, created, **kwargs):
    previous = getattr(instance, "_previous", None)
    if created or previous != {"start": instance.start, "end": instance.end, "l2domain_id": instance.l2domain_id}:
        with transaction.atomic():
            build_number_ranges(instance)


# -- pool resources -----------------------------------------------------------------------


@receiver(post_save, sender=PrefixPoolResource)
def prefix_resource_added(sender, instance, **kwargs):
    with transaction.atomic():
        freespace.ensure_space(instance.prefix, FreeSpace.Kind.PREFIX)


@receiver(post_save, sender=IPAddressPoolResource)
def ip_resource_added(sender, instance, **kwargs):
    with transaction.atomic():
        freespace.ensure_space(instance.prefix, FreeSpace.Kind.IP)


@receiver(post_delete, sender=PrefixPoolResource)
def prefix_resource_removed(sender, instance, **kwargs):
    if not PrefixPoolResource.objects.filter(prefix_id=instance.prefix_id).exists():
        FreeSpace.objects.filter(container_id=instance.prefix_id, kind=FreeSpace.Kind.PREFIX).delete()


@receiver(post_delete, sender=IPAddressPoolResource)
def ip_resource_removed(sender, instance, **kwargs):
    if not IPAddressPoolResource.objects.filter(prefix_id=instance.prefix_id).exists():
        FreeSpace.objects.filter(container_id=instance.prefix_id, kind=FreeSpace.Kind.IP).delete()
