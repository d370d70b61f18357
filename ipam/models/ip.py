"""Namespaces, prefixes and IP addresses.

Addresses are stored twice: as canonical text for people and as fixed-width bytes for range scans
(see ``ipam/addressing.py``).
"""

import netaddr
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from catalog_site.models import ConstraintErrorFields, PrimaryModel

from ..addressing import pack, parse_interface_address, parse_network, supernet_keys, unpack

DEFAULT_NAMESPACE = "Global"


class Namespace(PrimaryModel):
    """A space in which prefixes and addresses are unique (a VRF, a customer's private space).

    The namespace called "Global" always exists and is the default: NetBox's global table, which
    ``/api/ipam/vrfs/`` leaves out and a prefix's ``vrf`` reads as null. Every other namespace is
    a NetBox VRF, with its optional route distinguisher.
    """

    name = models.CharField(max_length=100, unique=True)
    rd = models.CharField(
        "route distinguisher", max_length=21, unique=True, null=True, blank=True,
        help_text="A route distinguisher (RFC 4364), e.g. 65000:123; unique when set.",
    )
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="namespaces"
    )

    class Meta:
        ordering = ["name"]

    @classmethod
    def get_default(cls) -> "Namespace":
        return cls.objects.get_or_create(name=DEFAULT_NAMESPACE)[0]

    @property
    def is_default(self) -> bool:
        """Whether this is "Global", the default namespace (NetBox's global table: no VRF)."""
        return self.name == DEFAULT_NAMESPACE

    def clean(self):
        super().clean()
        self.rd = self.rd or None  # no route distinguisher is null: only those set are unique

    def save(self, *args, **kwargs):
        self.rd = self.rd or None
        super().save(*args, **kwargs)


def default_namespace_id() -> int:
    return Namespace.get_default().pk


def containing_q(network: netaddr.IPNetwork, *, include_self: bool = False, namespace=None, longer_than: int = -1):
    """A Q for the prefixes that contain ``network`` (and are longer than ``longer_than``).

    Each supernet of ``network`` is one (start, length) pair. ``network IN (starts)`` lets the
    database probe the index once per distinct start; the exact pairs are then a filter on the few
    rows found. (The pairs alone, an OR, would make PostgreSQL read every prefix of the namespace.)
    """
    keys = [(packed, length) for packed, length in supernet_keys(network) if length > longer_than]
    if include_self:
        keys.insert(0, (pack(int(network.network)), network.prefixlen))
    starts = sorted({packed for packed, _ in keys})
    pairs = Q(pk__in=[])
    for start in starts:
        pairs |= Q(network=start, prefix_length__in=[length for packed, length in keys if packed == start])
    query = Q(family=network.version, network__in=starts) & pairs
    if namespace is not None:
        query &= Q(namespace=namespace)
    return query


class PrefixQuerySet(models.QuerySet):
    def within(self, network: netaddr.IPNetwork, *, namespace=None, include_self: bool = False):
        """Prefixes inside ``network`` (strictly, unless ``include_self``): one index range scan."""
        query = Q(
            family=network.version,
            network__gte=pack(int(network.network)),
            network__lte=pack(int(network[-1])),
        )
        query &= Q(prefix_length__gte=network.prefixlen) if include_self else Q(prefix_length__gt=network.prefixlen)
        if namespace is not None:
            query &= Q(namespace=namespace)
        return self.filter(query)

    def containing(self, network: netaddr.IPNetwork, *, namespace=None, include_self: bool = False):
        """Prefixes that contain ``network``: an index lookup per possible length, no scan."""
        return self.filter(containing_q(network, include_self=include_self, namespace=namespace))


class Prefix(ConstraintErrorFields, PrimaryModel):
    """An IPv4 or IPv6 network in a namespace.

    ``prefix`` is the canonical CIDR text; ``family``, ``prefix_length``, ``network`` (first
    address) and ``broadcast`` (last address) are derived from it on ``clean()``/``save()`` and
    indexed so that children and parents are found by range scans, not by reading every prefix.
    """

    class Status(models.TextChoices):
        CONTAINER = "container", "Container"
        ACTIVE = "active", "Active"
        RESERVED = "reserved", "Reserved"
        DEPRECATED = "deprecated", "Deprecated"

    namespace = models.ForeignKey(
        Namespace, on_delete=models.PROTECT, default=default_namespace_id, related_name="prefixes"
    )
    prefix = models.CharField(max_length=49, help_text="A network in CIDR notation, e.g. 192.0.2.0/24")
    family = models.PositiveSmallIntegerField(editable=False)
    prefix_length = models.PositiveSmallIntegerField(editable=False)
    network = models.BinaryField(max_length=16, editable=False)
    broadcast = models.BinaryField(max_length=16, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    role = models.CharField(max_length=50, blank=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="prefixes"
    )
    location = models.ForeignKey(
        "dcim.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="prefixes"
    )
    vlan = models.ForeignKey("ipam.VLAN", on_delete=models.SET_NULL, null=True, blank=True, related_name="prefixes")
    gateway = models.ForeignKey(
        "ipam.IPAddress", on_delete=models.SET_NULL, null=True, blank=True, related_name="gateway_for"
    )

    objects = PrefixQuerySet.as_manager()
    constraint_error_fields = {"ipam_prefix_unique_namespace_prefix": "prefix"}

    class Meta:
        ordering = ["namespace_id", "family", "network", "prefix_length"]
        verbose_name_plural = "prefixes"
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "prefix"],
                name="ipam_prefix_unique_namespace_prefix",
                violation_error_message="This prefix already exists in this namespace.",
            ),
        ]
        indexes = [
            models.Index(fields=["namespace", "family", "network", "prefix_length"], name="ipam_prefix_range"),
        ]

    def __str__(self):
        return self.prefix

    @property
    def cidr(self) -> netaddr.IPNetwork:
        return netaddr.IPNetwork(self.prefix)

    @property
    def size(self) -> int:
        return 2 ** ((32 if self.family == 4 else 128) - self.prefix_length)

    def set_derived_fields(self) -> None:
        """Parse ``prefix`` and fill the derived columns; raise a field-keyed ValidationError."""
        try:
            network = parse_network(self.prefix)
        except ValueError as exc:
            raise ValidationError({"prefix": str(exc)}) from exc
        self.prefix = str(network.cidr)
        self.family = network.version
        self.prefix_length = network.prefixlen
        self.network = pack(int(network.network))
        self.broadcast = pack(int(network[-1]))

    def clean(self):
        super().clean()
        self.set_derived_fields()
        if self.gateway_id is not None:
            gateway = self.gateway
            if gateway.namespace_id != self.namespace_id or netaddr.IPAddress(gateway.host_address) not in self.cidr:
                raise ValidationError({"gateway": f"The gateway {gateway.address} is not inside {self.prefix}."})

    def save(self, *args, **kwargs):
        self.set_derived_fields()
        super().save(*args, **kwargs)

    def get_parent(self):
        """The closest prefix that contains this one, or None."""
        return (
            Prefix.objects.containing(self.cidr, namespace=self.namespace_id)
            .order_by("-prefix_length")
            .first()
        )

    def get_child_prefixes(self):
        """Every prefix inside this one, nested ones included."""
        return Prefix.objects.within(self.cidr, namespace=self.namespace_id)

    def get_child_ip_addresses(self):
        return IPAddress.objects.within(self.cidr, namespace=self.namespace_id)

    def get_utilization(self) -> dict:
        """Used and total addresses: top-level child prefixes for a container, addresses otherwise."""
        if self.status == self.Status.CONTAINER:
            used, covered_until = 0, -1
            # Widest first among children that start at the same address (a /48 and the /64 and /126
            # at its start): otherwise the narrow one counts and the wide one looks nested in it.
            for network, broadcast in self.get_child_prefixes().order_by("network", "prefix_length").values_list(
                "network", "broadcast"
            ):
                first, last = unpack(network), unpack(broadcast)
                if first > covered_until:  # not nested in the previous top-level child
                    used += last - first + 1
                    covered_until = last
            total = self.size
        else:
            used = self.get_child_ip_addresses().count()
            total = self.size
            if self.family == 4 and self.prefix_length < 31:
                total -= 2  # the network and broadcast addresses
        return {"used": used, "total": total, "percent": round(100 * used / total, 2) if total else 0.0}


class IPAddressQuerySet(models.QuerySet):
    def within(self, network: netaddr.IPNetwork, *, namespace=None):
        """Addresses inside ``network``: one index range scan."""
        query = Q(
            family=network.version,
            host__gte=pack(int(network.network)),
            host__lte=pack(int(network[-1])),
        )
        if namespace is not None:
            query &= Q(namespace=namespace)
        return self.filter(query)


class IPAddress(PrimaryModel):
    """An address with its prefix length (``192.0.2.1/24``), unique in its namespace."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESERVED = "reserved", "Reserved"
        DEPRECATED = "deprecated", "Deprecated"
        DHCP = "dhcp", "DHCP"

    class Role(models.TextChoices):
        LOOPBACK = "loopback", "Loopback"
        SECONDARY = "secondary", "Secondary"
        GATEWAY = "gateway", "Gateway"
        VIP = "vip", "Virtual IP"
        MANAGEMENT = "management", "Management"

    namespace = models.ForeignKey(
        Namespace, on_delete=models.PROTECT, default=default_namespace_id, related_name="ip_addresses"
    )
    address = models.CharField(max_length=49, help_text="An address with its prefix length, e.g. 192.0.2.1/24")
    family = models.PositiveSmallIntegerField(editable=False)
    prefix_length = models.PositiveSmallIntegerField(editable=False)
    host = models.BinaryField(max_length=16, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    interface = models.ForeignKey(
        "dcim.Interface", on_delete=models.SET_NULL, null=True, blank=True, related_name="ip_addresses"
    )
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="ip_addresses"
    )
    dns_name = models.CharField(max_length=255, blank=True)

    objects = IPAddressQuerySet.as_manager()

    class Meta:
        ordering = ["namespace_id", "family", "host"]
        verbose_name = "IP address"
        verbose_name_plural = "IP addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["namespace", "family", "host"],
                name="ipam_ipaddress_unique_namespace_host",
                violation_error_message="This address already exists in this namespace.",
            ),
        ]

    def __str__(self):
        return self.address

    @property
    def host_address(self) -> str:
        """The address without its length (``192.0.2.1``)."""
        return self.address.split("/")[0]

    def set_derived_fields(self) -> None:
        try:
            address = parse_interface_address(self.address)
        except ValueError as exc:
            raise ValidationError({"address": str(exc)}) from exc
        self.address = str(address)
        self.family = address.version
        self.prefix_length = address.prefixlen
        self.host = pack(int(address.ip))

    def clean(self):
        super().clean()
        self.set_derived_fields()
        duplicate = IPAddress.objects.filter(namespace_id=self.namespace_id, family=self.family, host=self.host)
        if self.pk is not None:
            duplicate = duplicate.exclude(pk=self.pk)
        if self.namespace_id is not None and duplicate.exists():
            raise ValidationError({"address": f"{self.host_address} already exists in namespace {self.namespace}."})

    def validate_constraints(self, exclude=None):
        # clean() checks the (namespace, host) uniqueness with a message keyed to "address"; the
        # constraint stays in the database as the backstop.
        super().validate_constraints(exclude=set(exclude or ()) | {"host"})

    def save(self, *args, **kwargs):
        self.set_derived_fields()
        super().save(*args, **kwargs)
