"""L2 domains and VLANs."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from catalog_site.models import ConstraintErrorFields, PrimaryModel

DEFAULT_L2DOMAIN = "default"


class L2Domain(PrimaryModel):
    """A layer-2 domain in which VLAN ids are unique (NetBox's VLAN group). The domain called
    "default" always exists.

    ``slug`` is derived from the name when left empty (NetBox clients look groups up by slug).
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, null=True, blank=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="l2domains"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "L2 domain"

    @classmethod
    def get_default(cls) -> "L2Domain":
        return cls.objects.get_or_create(name=DEFAULT_L2DOMAIN)[0]

    def set_slug(self) -> None:
        # A name without a letter or digit has no slug: null, which the unique constraint allows twice.
        self.slug = self.slug or slugify(self.name)[:100] or None

    def clean(self):
        super().clean()
        self.set_slug()  # before the unique checks, so that a clash is a 400 on "slug"

    def save(self, *args, **kwargs):
        self.set_slug()
        super().save(*args, **kwargs)


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
    location = models.ForeignKey(
        "dcim.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="vlans",
        help_text="Where the VLAN is used (NetBox's site is the site this location is or lies in).",
    )

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
