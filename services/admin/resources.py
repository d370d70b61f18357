"""The resources a service owns, described for people: what it is, its own name, a link to it.

The database knows a resource as "DI-12345 vlan_id: ipam.numberallocation 1"; the service page, the
decommission confirmation and the delete page say "VLAN id from pool Customer vlan pool: 1203" and
link to the object's admin page, when the viewer may see it. An object the viewer may not see is
not named, as elsewhere in the admin ("not visible to you").

Objects are read once per model, each with what its name needs (an interface's device, an
allocation's pool): a fixed number of queries whatever the number of resources.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst

from catalog_site import access

from ..models import ServiceResource

HIDDEN = "(not visible to you)"
# Words of a role ("gateway_ip_address") that people write in capitals.
ROLE_WORDS = {"ip": "IP", "id": "ID", "vlan": "VLAN", "vrf": "VRF", "l2": "L2", "l3": "L3", "bgp": "BGP"}


@dataclass(frozen=True)
class Naming:
    """How objects of one model are read and named: relations to load, the kind, the name, the linked object."""

    related: tuple[str, ...] = ()
    kind: object = None  # (obj, viewer) -> "VLAN"; None: the model's verbose name
    name: object = str  # obj -> "VLAN 1203 (vlan__DI-12345)"
    target: object = None  # obj -> the object the link opens; None: the object itself


def _pool_kind(what: str):
    # A pool the viewer may not see (another tenant's) is not named.
    return lambda entry, viewer: (f"{what} from pool {entry.pool.name}" if viewer.can_see(entry.pool)
                                  else f"{what} from a pool")


NAMINGS = {
    "ipam.vlan": Naming(name=lambda vlan: f"VLAN {vlan.vid} ({vlan.name})"),
    "ipam.prefix": Naming(name=lambda prefix: prefix.prefix),
    "ipam.ipaddress": Naming(name=lambda address: address.address),
    "dcim.interface": Naming(related=("device",),
                             name=lambda interface: f"{interface.name} on {interface.device.name}"),
    "ipam.numberallocation": Naming(
        related=("pool",),
        kind=lambda entry, viewer: _pool_kind("VLAN id" if entry.pool.l2domain_id else "Number")(entry, viewer),
        name=lambda entry: str(entry.value), target=lambda entry: entry.pool),
    "ipam.prefixallocation": Naming(related=("pool", "prefix"), kind=_pool_kind("Prefix"),
                                    name=lambda entry: entry.prefix.prefix, target=lambda entry: entry.prefix),
    "ipam.ipaddressallocation": Naming(related=("pool", "ip_address"), kind=_pool_kind("IP address"),
                                       name=lambda entry: entry.ip_address.address,
                                       target=lambda entry: entry.ip_address),
}
LEDGER = {"ipam.numberallocation", "ipam.prefixallocation", "ipam.ipaddressallocation"}


@dataclass(frozen=True)
class Resource:
    """One resource as people read it. ``name`` and ``url`` are empty when the viewer may not see it."""

    role: str
    kind: str
    name: str
    url: str | None
    visible: bool
    on_release: str  # what decommissioning does with it

    @property
    def role_label(self) -> str:
        return role_label(self.role)


def role_label(role: str) -> str:
    """``gateway_ip_address`` -> "Gateway IP address"."""
    words = [ROLE_WORDS.get(word, word) for word in role.split("_") if word]
    return capfirst(" ".join(words)) if words else role


def model_kind(label: str) -> str:
    """The name people use for the model ``app_label.model`` ("ipam.ipaddress" -> "IP address")."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return label
    return capfirst(model._meta.verbose_name)


def on_release(row: ServiceResource, label: str) -> str:
    if label in LEDGER:
        return "Given back to its pool"
    if row.give_back is not None:
        return "Freed for other services"
    return "Deleted"


def _load(rows: list[ServiceResource]) -> dict[tuple[int, int], object]:
    """The rows' objects, by (content type id, object id): one query per model."""
    ids_by_type: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        ids_by_type[row.content_type_id].add(row.object_id)
    objects = {}
    for content_type_id, ids in ids_by_type.items():
        content_type = next(row.content_type for row in rows if row.content_type_id == content_type_id)
        model = content_type.model_class()
        if model is None:
            continue
        naming = NAMINGS.get(model._meta.label_lower, Naming())
        for obj in model._base_manager.select_related(*naming.related).filter(pk__in=sorted(ids)):
            objects[(content_type_id, obj.pk)] = obj
    return objects


def admin_link(request, admin_site, obj) -> str | None:
    """The admin change page of ``obj`` if it has one and the request's user may view it."""
    model_admin = admin_site._registry.get(type(obj))
    if model_admin is None or not model_admin.has_view_permission(request, obj):
        return None
    try:
        return reverse(f"{admin_site.name}:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def describe(row: ServiceResource, obj, *, request, admin_site) -> Resource:
    """``row`` (its object ``obj``, None if it is gone) as the request's user may read it."""
    label = row.content_type.app_label + "." + row.content_type.model
    naming = NAMINGS.get(label, Naming())
    fate = on_release(row, label)
    if obj is None:
        return Resource(role=row.role, kind=model_kind(label), name="(deleted meanwhile)", url=None, visible=True,
                        on_release="Nothing left to do")
    viewer = access.for_request(request)
    if not viewer.can_see(obj):
        return Resource(role=row.role, kind=capfirst(obj._meta.verbose_name), name=HIDDEN, url=None, visible=False,
                        on_release=fate)
    kind = naming.kind(obj, viewer) if naming.kind else capfirst(obj._meta.verbose_name)
    target = naming.target(obj) if naming.target else obj
    return Resource(role=row.role, kind=kind, name=naming.name(obj), url=admin_link(request, admin_site, target),
                    visible=True, on_release=fate)


def service_resources(service, *, request, admin_site) -> list[Resource]:
    """What ``service`` owns, described for the request's user, in the order the generator made it."""
    rows = list(ServiceResource.objects.filter(service=service).select_related("content_type").order_by("pk"))
    objects = _load(rows)
    return [describe(row, objects.get((row.content_type_id, row.object_id)), request=request, admin_site=admin_site)
            for row in rows]
