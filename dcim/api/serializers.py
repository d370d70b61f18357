"""Serializers of the dcim API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from catalog_site.api.exceptions import validation_error_detail
from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField
from tenancy.models import Tenant

from .. import selectors
from ..models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer

TENANT_SERIALIZER = "tenancy.api.serializers.TenantSerializer"
# ipam sits above dcim: its serializer is named by path and its model reached through the foreign key.
VLAN_SERIALIZER = "ipam.api.serializers.VLANSerializer"
VLAN = Interface._meta.get_field("untagged_vlan").related_model


class LocationSerializer(BaseModelSerializer):
    """A location in the country -> metro -> site -> building -> zone tree; ``depth`` is its level."""

    parent = RelatedObjectField(
        serializer="dcim.api.serializers.LocationSerializer",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
    )
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                                allow_null=True)
    depth = serializers.IntegerField(source="level", read_only=True)

    class Meta:
        model = Location
        fields = ("id", "url", "display", "name", "slug", "kind", "status", "parent", "tenant", "depth", "description",
                  "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug", "kind")
        # DRF's unique-together validators would answer before the model, unkeyed, and make every
        # field of a constraint required; full_clean() reports duplicates on the field instead.
        validators = []


class SiteSerializer(BaseModelSerializer):
    """NetBox's site: a location of kind site, seen through ``/api/dcim/sites/`` (the same row, not a copy).

    ``region`` is the site's parent (a country or a metro: a site can sit under nothing else);
    writing it moves the site.
    """

    region = RelatedObjectField(
        serializer="dcim.api.serializers.RegionSerializer",
        queryset=selectors.regions(),
        source="parent",
        required=False,
        allow_null=True,
    )
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                                allow_null=True)

    class Meta:
        model = Location
        fields = ("id", "url", "display", "name", "slug", "status", "region", "tenant", "description", "annotations",
                  "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug")
        validators = []  # see LocationSerializer
        view_name = "dcim-api:site-detail"

    def validate(self, attrs):
        if self.instance is None:
            attrs["kind"] = Location.Kind.SITE
        return super().validate(attrs)


class RegionSerializer(BaseModelSerializer):
    """NetBox's region: a location of kind country or metro, seen through ``/api/dcim/regions/``.

    ``parent`` is a region too. A region created without ``kind`` is a country at the top and a
    metro under a country; a region moved keeps its kind unless the request changes it.
    """

    parent = RelatedObjectField(
        serializer="dcim.api.serializers.RegionSerializer",
        queryset=selectors.regions(),
        required=False,
        allow_null=True,
    )
    kind = serializers.ChoiceField(choices=Location.REGION_KIND_CHOICES, required=False)
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                                allow_null=True)
    _depth = serializers.IntegerField(source="level", read_only=True)

    class Meta:
        model = Location
        fields = ("id", "url", "display", "name", "slug", "kind", "parent", "tenant", "description", "_depth",
                  "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug")
        validators = []  # see LocationSerializer
        view_name = "dcim-api:region-detail"

    def validate(self, attrs):
        if self.instance is None and "kind" not in attrs:
            attrs["kind"] = Location.Kind.METRO if attrs.get("parent") is not None else Location.Kind.COUNTRY
        return super().validate(attrs)


class ManufacturerSerializer(BaseModelSerializer):
    """A maker of devices."""

    class Meta:
        model = Manufacturer
        fields = ("id", "url", "display", "name", "slug", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug")


class DeviceTypeSerializer(BaseModelSerializer):
    """A model of device by a manufacturer (NetBox's device type)."""

    manufacturer = RelatedObjectField(serializer=ManufacturerSerializer, queryset=Manufacturer.objects.all())
    u_height = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=0, required=False,
                                        coerce_to_string=False, help_text="Height in rack units")

    class Meta:
        model = DeviceType
        fields = ("id", "url", "display", "manufacturer", "model", "slug", "part_number", "u_height", "is_full_depth",
                  "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "manufacturer", "model", "slug")
        validators = []  # see LocationSerializer


class DeviceRoleSerializer(BaseModelSerializer):
    """What a device does (NetBox's device role): core, edge..., with a colour."""

    class Meta:
        model = DeviceRole
        fields = ("id", "url", "display", "name", "slug", "color", "description", "annotations", "created",
                  "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug")


class DeviceSerializer(BaseModelSerializer):
    """A device at a site, building or zone; ``index`` numbers devices of one role at one location.

    ``site`` reads as the site the device stands in. NetBox scripts create devices with a site and no
    location: a ``site`` written without ``location`` places the device at that site (a device already
    somewhere in that site stays where it is); written with one, the location must lie in that site.
    """

    location = RelatedObjectField(serializer=LocationSerializer, queryset=Location.objects.all(), required=False)
    site = RelatedObjectField(serializer=SiteSerializer, queryset=selectors.sites(), required=False,
                              help_text="The site the device stands in; written, it sets the location when the "
                                        "request names none.")
    device_type = RelatedObjectField(serializer=DeviceTypeSerializer, queryset=DeviceType.objects.all())
    role = RelatedObjectField(serializer=DeviceRoleSerializer, queryset=DeviceRole.objects.all())
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                                allow_null=True)

    class Meta:
        model = Device
        fields = ("id", "url", "display", "name", "device_type", "role", "site", "location", "index", "status",
                  "serial", "tenant", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name")
        validators = []  # see LocationSerializer: index stays optional, duplicates are keyed on a field

    def validate(self, attrs):
        site = attrs.pop("site", None)
        if site is not None:
            if "location" not in attrs:
                current = self.instance.location if self.instance is not None else None
                attrs["location"] = current if current is not None and current.site == site else site
            elif attrs["location"].site != site:
                raise serializers.ValidationError({"site": f"The location {attrs['location'].name} is not in "
                                                           f"the site {site.name}."})
        if self.instance is None and "location" not in attrs:
            raise serializers.ValidationError({"location": ["A device needs a location (or a site)."]})
        return super().validate(attrs)


class InterfaceSerializer(BaseModelSerializer):
    """A device's interface. ``tagged_vlans`` is written as a list of VLAN ids and read as brief VLANs."""

    device = RelatedObjectField(serializer=DeviceSerializer, queryset=Device.objects.all())
    untagged_vlan = RelatedObjectField(serializer=VLAN_SERIALIZER, queryset=VLAN.objects.all(), required=False,
                                       allow_null=True)
    tagged_vlans = RelatedObjectField(serializer=VLAN_SERIALIZER, queryset=VLAN.objects.all(), many=True,
                                      required=False)

    class Meta:
        model = Interface
        fields = ("id", "url", "display", "device", "name", "type", "layer", "role", "status", "enabled", "speed",
                  "mode", "untagged_vlan", "tagged_vlans", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "device", "name")
        validators = []  # see LocationSerializer

    def validate(self, attrs):
        errors = {}
        try:
            attrs = super().validate(attrs)
        except serializers.ValidationError as exc:
            errors.update(exc.detail)
        # Many-to-many values are not part of full_clean(): check them against the mode the
        # interface will have, and against the VLANs it keeps when the request does not set them.
        if "tagged_vlans" in attrs:
            vlans = attrs["tagged_vlans"]
        else:
            vlans = list(self.instance.tagged_vlans.all()) if self.instance is not None else []
        try:
            self.model_instance(attrs).validate_tagged_vlans(vlans)
        except DjangoValidationError as exc:
            for field, messages in validation_error_detail(exc).items():
                errors.setdefault(field, []).extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
