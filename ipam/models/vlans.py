"""L2 domains and VLANs."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from catalog_site.models import ConstraintErrorFields, PrimaryModel

DEFAULT_L2DOMAIN = "default"


class L2Domain(PrimaryModel):
    """A layer-2 domain in which VLAN ids are unique. The domain called "default" always exists."""

    name = models.CharField(max_length=100, unique=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="l2domains"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "L2 domain"

    @classmethod
    def get_default(cls) -> "L2Domain":
        return cls.objects.get_or_create(name=DEFAULT_L2DOMAIN)[0]


def default_l2domain_id() -> int:
    return L2Domain.get_default().pk


class VLAN(ConstraintErrorFields, PrimaryModel):
    """An 802.1Q VLAN: its id (1-4094) is unique in its L2 domain."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESERVED = "reserved", "Reserved"
        DEPRECATED = "deprecated", "Deprecated"

    l2domain = models.ForeignKey(
        L2Domain, on_delete=models.PROTECT, default=default_l2domain_id, related_name="vlans", verbose_name="L2 domain"
    )
    vid = models.PositiveSmallIntegerField(
        "VLAN id",
        validators=[
            MinValueValidator(1, "A VLAN id is between 1 and 4094."),
            MaxValueValidator(4094, "A VLAN id is between 1 and 4094."),
        ],
    )
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    role = models.CharField(max_length=50, blank=True)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="vlans")

    constraint_error_fields = {"ipam_vlan_unique_l2domain_vid": "vid", "ipam_vlan_vid_range": "vid"}

    class Meta:
        ordering = ["l2domain__name", "vid"]
        verbose_name = "VLAN"
        constraints = [
            models.UniqueConstraint(
                fields=["l2domain", "vid"],
                name="ipam_vlan_unique_l2domain_vid",
                violation_error_message="This VLAN id is already used in this L2 domain.",
            ),
            models.CheckConstraint(
                condition=Q(vid__gte=1, vid__lte=4094), name="ipam_vlan_vid_range",
                violation_error_message="A VLAN id is between 1 and 4094.",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.vid})"
