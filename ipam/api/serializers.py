"""Serializers of the ipam API.

The derived columns (``family``, ``prefix_length``) are read-only; the byte columns used for range
scans (``network``, ``broadcast``, ``host``) never leave the server. Every rule (a valid CIDR, no
host bits, uniqueness in a namespace or an L2 domain) comes from the models' ``clean()`` and
constraints, run by ``BaseModelSerializer.validate``.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField
from dcim.models import Interface, Location
from tenancy.models import Tenant

from ..models import VLAN, IPAddress, L2Domain, Namespace, Prefix

TENANT_SERIALIZER = "tenancy.api.serializers.TenantSerializer"
METADATA_FIELDS = ("description", "annotations", "created", "last_updated")


def tenant_field():
    return RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                              allow_null=True)


# The VLAN, address and prefix serializers switch DRF's own unique-together validators off
# (``Meta.validators = []``): they would make the scope (namespace, L2 domain) required although the
# model gives it a default. The models check uniqueness themselves and key the error to the field
# the user typed (``constraint_error_fields``, ``IPAddress.clean``), for the admin and the API alike.


class NamespaceSerializer(BaseModelSerializer):
    """A namespace in which prefixes and addresses are unique."""

    tenant = tenant_field()

    class Meta:
        model = Namespace
        fields = ("id", "url", "display", "name", "tenant", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "name")


class L2DomainSerializer(BaseModelSerializer):
    """A layer-2 domain in which VLAN ids are unique."""

    tenant = tenant_field()

    class Meta:
        model = L2Domain
        fields = ("id", "url", "display", "name", "tenant", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "name")


class VLANSerializer(BaseModelSerializer):
    """A VLAN; ``l2domain`` defaults to the "default" L2 domain."""


    l2domain = RelatedObjectField(serializer=L2DomainSerializer, queryset=L2Domain.objects.all(), required=False)
    tenant = tenant_field()

    class Meta:
        model = VLAN
        fields = ("id", "url", "display", "l2domain", "vid", "name", "status", "role", "tenant", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "vid", "name")
        validators = []


class IPAddressSerializer(BaseModelSerializer):
    """An address with its length (``192.0.2.1/24``); ``namespace`` defaults to "Global"."""


    namespace = RelatedObjectField(serializer=NamespaceSerializer, queryset=Namespace.objects.all(), required=False)
    interface = RelatedObjectField(
        serializer="dcim.api.serializers.InterfaceSerializer",
        queryset=Interface.objects.all(),
        required=False,
        allow_null=True,
    )
    tenant = tenant_field()

    class Meta:
        model = IPAddress
        fields = ("id", "url", "display", "namespace", "address", "family", "status", "role", "interface", "tenant",
                  "dns_name", *METADATA_FIELDS)
        read_only_fields = ("family",)
        brief_fields = ("id", "url", "display", "address", "family")
        validators = []


class PrefixSerializer(BaseModelSerializer):
    """A prefix; ``namespace`` defaults to "Global". ``family`` and ``prefix_length`` are derived."""


    namespace = RelatedObjectField(serializer=NamespaceSerializer, queryset=Namespace.objects.all(), required=False)
    tenant = tenant_field()
    location = RelatedObjectField(
        serializer="dcim.api.serializers.LocationSerializer",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
    )
    vlan = RelatedObjectField(serializer=VLANSerializer, queryset=VLAN.objects.all(), required=False, allow_null=True)
    gateway = RelatedObjectField(
        serializer=IPAddressSerializer, queryset=IPAddress.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Prefix
        fields = ("id", "url", "display", "namespace", "prefix", "family", "prefix_length", "status", "role",
                  "tenant", "location", "vlan", "gateway", *METADATA_FIELDS)
        read_only_fields = ("family", "prefix_length")
        brief_fields = ("id", "url", "display", "prefix", "family")
        validators = []


class UtilizationSerializer(serializers.Serializer):
    """Used and total addresses of a prefix (top-level child prefixes for a container)."""

    used = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField()


class PrefixDetailSerializer(PrefixSerializer):
    """A prefix with its utilisation: computed per object, so only the detail view carries it."""

    utilization = serializers.SerializerMethodField()

    class Meta(PrefixSerializer.Meta):
        fields = (*PrefixSerializer.Meta.fields, "utilization")

    @extend_schema_field(UtilizationSerializer)
    def get_utilization(self, obj) -> dict:
        return obj.get_utilization()
