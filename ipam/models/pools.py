"""Resource pools, their allocation ledgers and the free-space index behind them.

A pool hands out resources keyed by an identifier (a service identifier, usually): the ledger row
``(pool, identifier)`` is unique in the database, so the same identifier always gets the same
resource. Free space is not recomputed from the children of a container on each request; it is
kept as a list of free blocks (``FreeBlock``) that allocation takes from and that deleting,
creating or editing prefixes, addresses and VLANs keeps in step (see ``ipam/freespace.py``).
"""

from django.core.exceptions import ValidationError
from django.db import models

from catalog_site.models import ChangeTrackedModel, PrimaryModel

from .ip import IPAddress, Namespace, Prefix, default_namespace_id


class Pool(PrimaryModel):
    """Fields shared by every kind of pool."""

    name = models.CharField(max_length=100, unique=True)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        abstract = True
        ordering = ["name"]


class NumberPool(Pool):
    """A range of integers (``start``-``end``), e.g. VLAN ids 1000-2000.

    With an L2 domain, the numbers are VLAN ids of that domain: ids of VLANs that exist there,
    made by hand or by anything else, are never handed out.
    """

    start = models.PositiveBigIntegerField()
    end = models.PositiveBigIntegerField()
    l2domain = models.ForeignKey(
        "ipam.L2Domain", on_delete=models.PROTECT, null=True, blank=True, related_name="number_pools",
        verbose_name="L2 domain",
    )

    class Meta(Pool.Meta):
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lte=models.F("end")), name="ipam_numberpool_start_le_end",
                                   violation_error_message="The start of the range must not exceed its end."),
        ]

    def clean(self):
        super().clean()
        if self.start is not None and self.end is not None:
            if self.start > self.end:
                raise ValidationError({"end": "The end of the range must not be below its start."})
            if self.l2domain_id is not None and not (self.start >= 1 and self.end <= 4094):
                raise ValidationError({"end": "A VLAN id pool must lie within 1-4094."})
        if self.pk is not None:
            stored = NumberPool.objects.filter(pk=self.pk).values("start", "end", "l2domain_id").first()
            if stored and (stored["start"], stored["end"], stored["l2domain_id"]) != (
                self.start, self.end, self.l2domain_id
            ) and self.allocations.filter(models.Q(value__lt=self.start) | models.Q(value__gt=self.end)).exists():
                raise ValidationError({"start": "Values already allocated would fall outside the new range."})

    @property
    def size(self) -> int:
        return self.end - self.start + 1


class NumberAllocation(ChangeTrackedModel):
    """One number handed out by a number pool to an identifier."""

    tenant_access_path = "pool__tenant"

    pool = models.ForeignKey(NumberPool, on_delete=models.CASCADE, related_name="allocations")
    identifier = models.CharField(max_length=255)
    value = models.PositiveBigIntegerField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pool", "value"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "identifier"], name="ipam_numberallocation_unique_identifier"),
            models.UniqueConstraint(fields=["pool", "value"], name="ipam_numberallocation_unique_value"),
        ]

    def __str__(self):
        return f"{self.pool}: {self.value} for {self.identifier}"


class NumberFreeRange(models.Model):
    """A run of free numbers of a number pool."""

    record_changes = False  # a derived index, rebuilt from the recorded rows: not in the change log

    tenant_access_path = None  # the free-space index: internal, never listed to users

    pool = models.ForeignKey(NumberPool, on_delete=models.CASCADE, related_name="free_ranges")
    start = models.PositiveBigIntegerField()
    end = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["pool", "start"]
        constraints = [models.UniqueConstraint(fields=["pool", "start"], name="ipam_numberfreerange_unique_start")]

    def __str__(self):
        return f"{self.start}-{self.end}"


class PrefixPool(Pool):
    """Hands out prefixes from one or more container prefixes, tried in order (best fit in each)."""

    namespace = models.ForeignKey(
        Namespace, on_delete=models.PROTECT, default=default_namespace_id, related_name="prefix_pools"
    )
    resources = models.ManyToManyField(Prefix, through="PrefixPoolResource", related_name="prefix_pools")
    default_prefix_length = models.PositiveSmallIntegerField(null=True, blank=True)
    default_status = models.CharField(max_length=20, choices=Prefix.Status.choices, default=Prefix.Status.ACTIVE)
    default_role = models.CharField(max_length=50, blank=True)

    class Meta(Pool.Meta):
        pass


class PrefixPoolResource(models.Model):
    """A container prefix of a prefix pool; ``position`` orders the resources."""

    tenant_access_path = "pool__tenant"

    pool = models.ForeignKey(PrefixPool, on_delete=models.CASCADE, related_name="pool_resources")
    prefix = models.ForeignKey(Prefix, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["pool", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["pool", "prefix"], name="ipam_prefixpoolresource_unique")]

    def __str__(self):
        return str(self.prefix)

    def clean(self):
        super().clean()
        if self.prefix_id and self.pool_id and self.prefix.namespace_id != self.pool.namespace_id:
            raise ValidationError({"prefix": f"{self.prefix} is not in the pool's namespace {self.pool.namespace}."})


class PrefixAllocation(ChangeTrackedModel):
    """One prefix handed out by a prefix pool to an identifier; deleting the prefix frees the identifier."""

    # A ledger row is seen by whoever sees the prefix it names (shared pools serve many tenants).
    tenant_access_path = "prefix__tenant"

    pool = models.ForeignKey(PrefixPool, on_delete=models.CASCADE, related_name="allocations")
    identifier = models.CharField(max_length=255)
    prefix = models.OneToOneField(Prefix, on_delete=models.CASCADE, related_name="pool_allocation")

    class Meta:
        ordering = ["pool", "identifier"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "identifier"], name="ipam_prefixallocation_unique_identifier"),
        ]

    def __str__(self):
        return f"{self.pool}: {self.prefix_id} for {self.identifier}"


class IPAddressPool(Pool):
    """Hands out addresses from one or more prefixes, lowest free address first.

    The network and broadcast addresses of IPv4 prefixes shorter than /31 are never handed out.
    """

    resources = models.ManyToManyField(Prefix, through="IPAddressPoolResource", related_name="ip_pools")
    default_status = models.CharField(max_length=20, choices=IPAddress.Status.choices, default=IPAddress.Status.ACTIVE)

    class Meta(Pool.Meta):
        verbose_name = "IP address pool"


class IPAddressPoolResource(models.Model):
    """A prefix of an IP address pool; ``position`` orders the resources."""

    tenant_access_path = "pool__tenant"

    pool = models.ForeignKey(IPAddressPool, on_delete=models.CASCADE, related_name="pool_resources")
    prefix = models.ForeignKey(Prefix, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["pool", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["pool", "prefix"], name="ipam_ipaddresspoolresource_unique")]

    def __str__(self):
        return str(self.prefix)


class IPAddressAllocation(ChangeTrackedModel):
    """One address handed out by an IP address pool to an identifier."""

    tenant_access_path = "ip_address__tenant"  # seen by whoever sees the address (see PrefixAllocation)

    pool = models.ForeignKey(IPAddressPool, on_delete=models.CASCADE, related_name="allocations")
    identifier = models.CharField(max_length=255)
    ip_address = models.OneToOneField(IPAddress, on_delete=models.CASCADE, related_name="pool_allocation")

    class Meta:
        ordering = ["pool", "identifier"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "identifier"], name="ipam_ipaddressallocation_unique_identifier"),
        ]

    def __str__(self):
        return f"{self.pool}: {self.ip_address_id} for {self.identifier}"


class FreeSpace(models.Model):
    """The free-space index of one container prefix, for one kind of resource.

    ``kind`` says what occupies space: child prefixes (``prefix``) or addresses (``ip``). The
    index exists while at least one pool of that kind uses the container, and is shared by all of
    them, because free space belongs to the container, not to a pool.
    """

    record_changes = False  # a derived index, rebuilt from the recorded rows: not in the change log

    tenant_access_path = None  # internal index, never listed to users

    class Kind(models.TextChoices):
        PREFIX = "prefix", "Prefixes"
        IP = "ip", "IP addresses"

    container = models.ForeignKey(Prefix, on_delete=models.CASCADE, related_name="free_spaces")
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["container", "kind"], name="ipam_freespace_unique")]

    def __str__(self):
        return f"free {self.kind} space of {self.container_id}"


class FreeBlock(models.Model):
    """A free, aligned block (a CIDR) of a container.

    The blocks of one index are disjoint and as large as alignment allows (no two free buddies),
    so "the smallest free block that fits" and "the lowest free address" are each one indexed query.
    """

    record_changes = False  # a derived index, rebuilt from the recorded rows: not in the change log

    space = models.ForeignKey(FreeSpace, on_delete=models.CASCADE, related_name="blocks")
    network = models.BinaryField(max_length=16)
    prefix_length = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["space", "network"], name="ipam_freeblock_unique_network")]
        # Best fit reads "prefix_length <= L ORDER BY prefix_length DESC, network": the index has
        # the same mixed directions, so it is one index probe, not a sort of every free block.
        indexes = [models.Index(fields=["space", "-prefix_length", "network"], name="ipam_freeblock_fit")]

    def __str__(self):
        return f"free block /{self.prefix_length} of space {self.space_id}"
