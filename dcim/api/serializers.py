"""Serializers of the dcim API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from catalog_site.api.exceptions import validation_error_detail
from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField
from tenancy.models import Tenant

from ..models import Device, Interface, Location, Manufacturer

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
        fields = ("id", "url", "display", "name", "slug", "kind", "parent", "tenant", "depth", "description",
                  "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug", "kind")
        # DRF's unique-together validators would answer before the model, unkeyed, and make every
        # field of a constraint required; full_clean() reports duplicates on the field instead.
        validators = []


class ManufacturerSerializer(BaseModelSerializer):
    """A maker of devices."""

    class Meta:
        model = Manufacturer
        fields = ("id", "url", "display", "name", "slug", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug")


class DeviceSerializer(BaseModelSerializer):
    """A device at a site, building or zone; ``index`` numbers devices of one role at one location."""

    location = RelatedObjectField(serializer=LocationSerializer, queryset=Location.objects.all())
    manufacturer = RelatedObjectField(serializer=ManufacturerSerializer, queryset=Manufacturer.objects.all(),
                                      required=False, allow_null=True)
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                                allow_null=True)

    class Meta:
        model = Device
        fields = ("id", "url", "display", "name", "location", "role", "index", "status", "manufacturer", "model",
                  "serial", "tenant", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name")
        validators = []  # see LocationSerializer: index stays optional, duplicates are keyed on a field


class InterfaceSerializer(BaseModelSerializer):
    """A device's interface. ``tagged_vlans`` is written as a list of VLAN ids and read as brief VLANs."""

    device = RelatedObjectField(serializer=DeviceSerializer, queryset=Device.objects.all())
    untagged_vlan = RelatedObjectField(serializer=VLAN_SERIALIZER, queryset=VLAN.objects.all(), required=False,
                                       allow_null=True)
    tagged_vlans = RelatedObjectField(serializer=VLAN_SERIALIZER, queryset=VLAN.objects.all(), many=True,
                                      required=False)

    class Meta:
        model = Interface
        fields = ("id", "url", "display", "device", "name", "layer", "role", "status", "enabled", "speed", "mode",
                  "untagged_vlan", "tagged_vlans", "description", "annotations", "created", "last_updated")
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
