"""Serializers of the ipam API.

The derived columns (``family``, ``prefix_length``) are read-only; the byte columns used for range
scans (``network``, ``broadcast``, ``host``) never leave the server. Every rule (a valid CIDR, no
host bits, uniqueness in a namespace or an L2 domain) comes from the models' ``clean()`` and
constraints, run by ``BaseModelSerializer.validate``.

NetBox's names over the same rows (issue 10): ``VRFSerializer`` (``/api/ipam/vrfs/``) over the
namespaces, ``VLANGroupSerializer`` (``/api/ipam/vlan-groups/``) over the L2 domains, and the
NetBox fields of prefixes, addresses and VLANs (``vrf``, ``group``, ``site``, the assigned object),
described in ``ipam/api/fields.py``.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField
from dcim.models import Interface, Location
from tenancy.models import Tenant

from ..models import VLAN, IPAddress, L2Domain, Namespace, Prefix
from .fields import (
    AliasRelatedField,
    AssignedObjectIdField,
    AssignedObjectTypeField,
    EnforceUniqueField,
    NetBoxFieldsMixin,
    SiteField,
)

TENANT_SERIALIZER = "tenancy.api.serializers.TenantSerializer"
INTERFACE_SERIALIZER = "dcim.api.serializers.InterfaceSerializer"
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
        fields = ("id", "url", "display", "name", "rd", "tenant", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "name")


class VRFSerializer(BaseModelSerializer):
    """NetBox's VRF: a namespace other than "Global" (the same row as ``/api/ipam/namespaces/``)."""

    tenant = tenant_field()
    enforce_unique = EnforceUniqueField()

    class Meta:
        model = Namespace
        fields = ("id", "url", "display", "name", "rd", "tenant", "enforce_unique", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "name", "rd")
        view_name = "ipam-api:vrf-detail"


class L2DomainSerializer(BaseModelSerializer):
    """A layer-2 domain in which VLAN ids are unique."""

    tenant = tenant_field()

    class Meta:
        model = L2Domain
        fields = ("id", "url", "display", "name", "slug", "tenant", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "name")


class VLANGroupSerializer(BaseModelSerializer):
    """NetBox's VLAN group: an L2 domain (the same row as ``/api/ipam/l2-domains/``); ``slug`` is
    derived from the name when not given."""

    tenant = tenant_field()

    class Meta:
        model = L2Domain
        fields = ("id", "url", "display", "name", "slug", "tenant", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "name", "slug")
        view_name = "ipam-api:vlangroup-detail"


def vrf_field():
    return AliasRelatedField(serializer=VRFSerializer, queryset=Namespace.objects.all(), target="namespace",
                             hidden=lambda namespace: namespace.is_default, null_value=Namespace.get_default,
                             help_text="NetBox's VRF: the namespace; null is Global (NetBox's global table).")


class VLANSerializer(NetBoxFieldsMixin, BaseModelSerializer):
    """A VLAN; ``l2domain`` (NetBox's ``group``) defaults to the "default" L2 domain."""

    l2domain = RelatedObjectField(serializer=L2DomainSerializer, queryset=L2Domain.objects.all(), required=False)
    group = AliasRelatedField(serializer=VLANGroupSerializer, queryset=L2Domain.objects.all(), target="l2domain",
                              null_value=L2Domain.get_default,
                              help_text="NetBox's VLAN group: the L2 domain (null written: the default one).")
    tenant = tenant_field()
    location = RelatedObjectField(
        serializer="dcim.api.serializers.LocationSerializer",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
    )
    site = SiteField()

    class Meta:
        model = VLAN
        fields = ("id", "url", "display", "l2domain", "group", "vid", "name", "status", "role", "tenant", "location",
                  "site", *METADATA_FIELDS)
        brief_fields = ("id", "url", "display", "vid", "name")
        validators = []


class IPAddressSerializer(NetBoxFieldsMixin, BaseModelSerializer):
    """An address with its length (``192.0.2.1/24``); ``namespace`` (NetBox's ``vrf``) defaults to "Global".

    ``interface`` is also written NetBox's way (``assigned_object_type`` and ``assigned_object_id``)
    and read as ``assigned_object``; ``site`` is the site of the interface's device (read-only).
    """

    namespace = RelatedObjectField(serializer=NamespaceSerializer, queryset=Namespace.objects.all(), required=False)
    vrf = vrf_field()
    interface = RelatedObjectField(
        serializer=INTERFACE_SERIALIZER,
        queryset=Interface.objects.all(),
        required=False,
        allow_null=True,
    )
    assigned_object_type = AssignedObjectTypeField()
    assigned_object_id = AssignedObjectIdField()
    assigned_object = RelatedObjectField(serializer=INTERFACE_SERIALIZER, source="interface", read_only=True,
                                         allow_null=True, help_text="The interface, with its device.")
    site = SiteField(location_path="interface.device.location", read_only=True)
    tenant = tenant_field()

    class Meta:
        model = IPAddress
        fields = ("id", "url", "display", "namespace", "vrf", "address", "family", "status", "role", "interface",
                  "assigned_object_type", "assigned_object_id", "assigned_object", "site", "tenant", "dns_name",
                  *METADATA_FIELDS)
        read_only_fields = ("family",)
        brief_fields = ("id", "url", "display", "address", "family")
        validators = []


class PrefixSerializer(NetBoxFieldsMixin, BaseModelSerializer):
    """A prefix; ``namespace`` (NetBox's ``vrf``) defaults to "Global". ``family`` and ``prefix_length``
    are derived; ``site`` is the site of ``location``."""

    namespace = RelatedObjectField(serializer=NamespaceSerializer, queryset=Namespace.objects.all(), required=False)
    vrf = vrf_field()
    tenant = tenant_field()
    location = RelatedObjectField(
        serializer="dcim.api.serializers.LocationSerializer",
        queryset=Location.objects.all(),
        required=False,
        allow_null=True,
    )
    site = SiteField()
    vlan = RelatedObjectField(serializer=VLANSerializer, queryset=VLAN.objects.all(), required=False, allow_null=True)
    gateway = RelatedObjectField(
        serializer=IPAddressSerializer, queryset=IPAddress.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Prefix
        fields = ("id", "url", "display", "namespace", "vrf", "prefix", "family", "prefix_length", "status", "role",
                  "tenant", "location", "site", "vlan", "gateway", *METADATA_FIELDS)
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
