"""Locations, manufacturers, device types and roles, devices and interfaces."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from mptt.models import TreeForeignKey

from catalog_site.models import ConstraintErrorFields, PrimaryModel, TreeModel

from .choices import InterfaceType, SiteStatus


class Location(ConstraintErrorFields, TreeModel):
    """A place: country, metro, site, building or zone, nested in that order.

    A location may skip levels (a site directly under a country) but never contain a location of
    a wider kind (a site cannot contain a country). NetBox's sites are the locations of kind site and its
    regions the countries and metros (``dcim.selectors``); ``status`` is NetBox's site status.
    """

    class Kind(models.TextChoices):
        COUNTRY = "country", "Country"
        METRO = "metro", "Metro"
        SITE = "site", "Site"
        BUILDING = "building", "Building"
        ZONE = "zone", "Zone"

    RANK = {kind: rank for rank, kind in enumerate(Kind.values)}
    # NetBox's regions: the kinds a site may sit under, and that ``/api/dcim/regions/`` shows.
    REGION_KINDS = (Kind.COUNTRY, Kind.METRO)
    REGION_KIND_CHOICES = [(kind.value, kind.label) for kind in REGION_KINDS]
    constraint_error_fields = {"dcim_location_unique_parent_name": "name", "dcim_location_unique_root_name": "name"}

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=SiteStatus.choices, default=SiteStatus.ACTIVE)
    parent = TreeForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="locations"
    )

    class Meta:
        ordering = ["tree_id", "lft"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                name="dcim_location_unique_parent_name",
                violation_error_message="A location with this name already exists in this parent.",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="dcim_location_unique_root_name",
                violation_error_message="A top-level location with this name already exists.",
            ),
        ]

    @property
    def site(self) -> "Location | None":
        """The site this location is or lies in (None above the sites, or outside any site).

        Walks the parents in memory: a building or zone is at most two levels below its site, so
        ``select_related("parent__parent")`` answers it without a query.
        """
        node = self
        while node is not None and node.kind in self.RANK:
            if node.kind == self.Kind.SITE:
                return node
            if self.RANK[node.kind] < self.RANK[self.Kind.SITE]:
                return None
            node = node.parent
        return None

    def clean(self):
        super().clean()
        if self.kind not in self.RANK:
            return
        if self.parent is not None and self.RANK[self.parent.kind] >= self.RANK[self.kind]:
            parent_kind, kind = self.parent.get_kind_display().lower(), self.get_kind_display().lower()
            raise ValidationError({"parent": f"A {parent_kind} cannot contain a {kind}."})
        if self.pk is not None:
            wider = [kind for kind, rank in self.RANK.items() if rank <= self.RANK[self.kind]]
            child = self.children.filter(kind__in=wider).first()
            if child is not None:
                raise ValidationError(
                    {"kind": f"A {self.get_kind_display().lower()} cannot contain the {child.kind} {child.name}."}
                )


class Manufacturer(PrimaryModel):
    """A maker of devices."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]


class DeviceType(ConstraintErrorFields, PrimaryModel):
    """A model of device a manufacturer makes (Arista 7050SX, Juniper MX204), as NetBox has it."""

    manufacturer = models.ForeignKey(Manufacturer, on_delete=models.PROTECT, related_name="device_types")
    model = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    part_number = models.CharField(max_length=50, blank=True, help_text="The manufacturer's part number")
    u_height = models.DecimalField(max_digits=4, decimal_places=1, default=1, validators=[MinValueValidator(0)],
                                   help_text="Height in rack units")
    is_full_depth = models.BooleanField(default=True, help_text="Occupies both the front and the rear of a rack")

    constraint_error_fields = {
        "dcim_devicetype_unique_manufacturer_model": "model",
        "dcim_devicetype_unique_manufacturer_slug": "slug",
    }

    class Meta:
        ordering = ["manufacturer__name", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "model"],
                name="dcim_devicetype_unique_manufacturer_model",
                violation_error_message="This manufacturer already has a device type of this model.",
            ),
            models.UniqueConstraint(
                fields=["manufacturer", "slug"],
                name="dcim_devicetype_unique_manufacturer_slug",
                violation_error_message="This manufacturer already has a device type with this slug.",
            ),
        ]

    def __str__(self):
        return self.model


class DeviceRole(PrimaryModel):
    """What a device does in the network (core switch, edge router), as NetBox's device roles.

    Generators find devices by role slug (``CORE``, ``EDGE``): those two are rows every database has
    (the migration that made roles objects created them).
    """

    CORE = "core"
    EDGE = "edge"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    color = models.CharField(
        max_length=6,
        default="9e9e9e",
        validators=[RegexValidator(r"^[0-9a-f]{6}$", "Enter a colour as six lowercase hexadecimal digits (00ff00).")],
        help_text="Six hexadecimal digits (RGB), as NetBox has it: 00ff00",
    )

    class Meta:
        ordering = ["name"]


class Device(ConstraintErrorFields, PrimaryModel):
    """A network device at a site (or in a building or zone of one).

    ``index`` numbers devices of one role at one location (core switch 1 and 2, edge router 1 and
    2); generators pair devices by it, so it is unique per location and role. The manufacturer is
    the device type's.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        STAGED = "staged", "Staged"
        ACTIVE = "active", "Active"
        OFFLINE = "offline", "Offline"
        DECOMMISSIONING = "decommissioning", "Decommissioning"

    name = models.CharField(max_length=100)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="devices")
    device_type = models.ForeignKey(DeviceType, on_delete=models.PROTECT, related_name="devices")
    role = models.ForeignKey(DeviceRole, on_delete=models.PROTECT, related_name="devices")
    index = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    serial = models.CharField(max_length=100, blank=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )

    constraint_error_fields = {
        "dcim_device_unique_location_name": "name",
        "dcim_device_unique_location_role_index": "index",
    }

    class Meta:
        ordering = ["location__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "name"],
                name="dcim_device_unique_location_name",
                violation_error_message="A device with this name already exists at this location.",
            ),
            models.UniqueConstraint(
                fields=["location", "role", "index"],
                condition=Q(index__isnull=False),
                name="dcim_device_unique_location_role_index",
                violation_error_message="A device with this role and index already exists at this location.",
            ),
        ]

    @property
    def site(self) -> Location | None:
        """The site the device stands in (``Location.site`` of its location)."""
        return self.location.site if self.location_id is not None else None

    def clean(self):
        super().clean()
        placeable = (Location.Kind.SITE, Location.Kind.BUILDING, Location.Kind.ZONE)
        if self.location_id is not None and self.location.kind not in placeable:
            raise ValidationError(
                {"location": f"A device must be at a site, building or zone, not in a {self.location.kind}."}
            )


# A run of digits or of letters; anything else (/, -, ., :) only separates them.
NATURAL_PART = re.compile(r"([0-9]+)|([a-z]+)", re.ASCII)
# Two characters of length before each number: the longest name (64 characters) makes at most 128.
NAME_KEY_LENGTH = 128


def format_speed(mbps: int | None) -> str:
    """A speed in Mbps (``Interface.speed``) as people write it: 100M, 1G, 2.5G, 10G, 100G, 1.6T."""
    if mbps is None:
        return ""
    for unit, size in (("T", 1_000_000), ("G", 1000)):
        if mbps >= size:
            return f"{mbps / size:g}{unit}"
    return f"{mbps}M"


def natural_name_key(name: str) -> str:
    """The key that sorts interface names as a person reads them: Ethernet2 before Ethernet10, et-0/0/2
    before et-0/0/10, Ethernet1/1 before Ethernet1/10 and Ethernet2.

    Letters are lowercased; each number is written as its length (two digits) then its digits without
    leading zeros, so that a shorter number sorts first; punctuation is dropped. The key holds nothing
    but ``[0-9a-z]``, which every collation (SQLite's binary, PostgreSQL's locales) orders alike, digits
    first. Names that differ only in case or punctuation share a key: the name breaks the tie.
    """
    parts = []
    for number, letters in NATURAL_PART.findall(name.lower()):
        if number:
            number = number.lstrip("0") or "0"
            parts.append(f"{len(number):02d}{number}")
        else:
            parts.append(letters)
    return "".join(parts)


class InterfaceQuerySet(models.QuerySet):
    """Keeps ``name_key`` right on the paths that skip ``Interface.save()`` (bulk writes, ``update``)."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.name_key = natural_name_key(obj.name)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs, fields = list(objs), list(fields)
        if "name" in fields:
            for obj in objs:
                obj.name_key = natural_name_key(obj.name)
            fields.append("name_key")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        if "name" in kwargs and "name_key" not in kwargs:  # bulk_update passes both, as expressions
            if not isinstance(kwargs["name"], str):
                raise TypeError("Interface names are updated as strings, so that their sort key follows.")
            kwargs["name_key"] = natural_name_key(kwargs["name"])
        return super().update(**kwargs)


class Interface(ConstraintErrorFields, PrimaryModel):
    """A port or logical interface of a device.

    A layer-2 interface carries VLANs (untagged in access mode; untagged and tagged in tagged
    mode). A layer-3 interface carries addresses; it may sit in one VLAN (a VLAN interface such as
    ``vlan_1000`` on a router) but has no mode. ``speed`` is the port's capacity in Mbps.
    """

    tenant_access_path = "device__tenant"

    class Layer(models.IntegerChoices):
        L2 = 2, "Layer 2"
        L3 = 3, "Layer 3"

    class Role(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        UPLINK = "uplink", "Uplink"
        BACKBONE = "backbone", "Backbone"
        UPSTREAM = "upstream", "Upstream"
        MANAGEMENT = "management", "Management"

    class Status(models.TextChoices):
        FREE = "free", "Free"
        ACTIVE = "active", "Active"
        RESERVED = "reserved", "Reserved"
        DISABLED = "disabled", "Disabled"

    class Mode(models.TextChoices):
        ACCESS = "access", "Access"
        TAGGED = "tagged", "Tagged"

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="interfaces")
    name = models.CharField(max_length=64)
    type = models.CharField(max_length=50, choices=InterfaceType.CHOICES, default=InterfaceType.OTHER,
                            help_text="NetBox's interface type: 1000base-t, 10gbase-x-sfpp, virtual...")
    layer = models.PositiveSmallIntegerField(choices=Layer.choices, default=Layer.L2)
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FREE)
    enabled = models.BooleanField(default=True)
    speed = models.PositiveIntegerField(null=True, blank=True, help_text="Capacity in Mbps")
    mode = models.CharField(max_length=20, choices=Mode.choices, blank=True)
    untagged_vlan = models.ForeignKey(
        "ipam.VLAN", on_delete=models.SET_NULL, null=True, blank=True, related_name="untagged_interfaces"
    )
    tagged_vlans = models.ManyToManyField("ipam.VLAN", blank=True, related_name="tagged_interfaces")
    # The natural sort key of ``name`` (``natural_name_key``), kept on every save: the database sorts
    # and pages interfaces in the order people read them.
    name_key = models.CharField(max_length=NAME_KEY_LENGTH, editable=False, default="")

    objects = InterfaceQuerySet.as_manager()

    constraint_error_fields = {"dcim_interface_unique_device_name": "name"}

    class Meta:
        ordering = ["device__name", "device_id", "name_key", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "name"],
                name="dcim_interface_unique_device_name",
                violation_error_message="This device already has an interface with this name.",
            ),
        ]
        indexes = [
            models.Index(fields=["role", "status"], name="dcim_interface_role_status"),
            models.Index(fields=["device", "name_key"], name="dcim_interface_device_name_key"),
        ]

    def __str__(self):
        return f"{self.device.name} {self.name}" if self.device_id else self.name

    def save(self, *args, **kwargs):
        self.name_key = natural_name_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.layer == self.Layer.L3 and self.mode:
            raise ValidationError({"mode": "A layer-3 interface has no switching mode."})
        if self.layer == self.Layer.L2 and self.untagged_vlan_id is not None and not self.mode:
            raise ValidationError(
                {"mode": "A layer-2 interface with an untagged VLAN needs a mode (access or tagged)."}
            )

    def validate_tagged_vlans(self, vlans) -> None:
        """Tagged VLANs need tagged mode (many-to-many values cannot be checked in ``clean()``)."""
        if vlans and self.mode != self.Mode.TAGGED:
            raise ValidationError({"tagged_vlans": "Only an interface in tagged mode can carry tagged VLANs."})
