"""The bodies of the pool and free-space endpoints, as the OpenAPI schema documents them.

The views build these answers by hand (``ipam/api/pools.py``); the serializers here describe them,
so that a generated client reads what is really sent. ``data`` of an allocation takes the fields
``ipam.allocation`` accepts, related objects by id.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers

from catalog_site.api.schema import brief_serializer

from .. import allocation
from ..models import VLAN, IPAddress, Prefix
from .fields import AssignedObjectIdField, AssignedObjectTypeField
from .serializers import IPAddressSerializer, PrefixSerializer, VLANGroupSerializer

FAMILIES = [4, 6]


def optional_fields(names) -> dict:
    return {name: {"required": False} for name in names}


class PrefixDataSerializer(serializers.ModelSerializer):
    """Fields of a prefix an allocation may set (related objects by id)."""

    class Meta:
        model = Prefix
        fields = tuple(sorted(allocation.PREFIX_DATA_FIELDS))
        extra_kwargs = optional_fields(fields)


class IPAddressDataSerializer(serializers.ModelSerializer):
    """Fields of an address an allocation may set (related objects by id)."""

    class Meta:
        model = IPAddress
        fields = tuple(sorted(allocation.IP_DATA_FIELDS))
        extra_kwargs = optional_fields(fields)


class VLANDataSerializer(serializers.ModelSerializer):
    """Fields of a VLAN an allocation may set (related objects by id)."""

    class Meta:
        model = VLAN
        fields = tuple(sorted(allocation.VLAN_DATA_FIELDS))
        extra_kwargs = optional_fields(fields)


# -- pools ------------------------------------------------------------------------------------


class NumberPoolAllocateSerializer(serializers.Serializer):
    """Allocate a number for ``identifier``; ``data`` is kept with the allocation."""

    identifier = serializers.CharField(max_length=255)
    data = serializers.DictField(required=False, help_text="Free-form data kept with the allocation.")


class PrefixPoolAllocateSerializer(serializers.Serializer):
    """Allocate a prefix for ``identifier`` (the pool's default length unless ``prefix_length`` says)."""

    identifier = serializers.CharField(max_length=255)
    prefix_length = serializers.IntegerField(required=False, min_value=0, max_value=128)
    data = PrefixDataSerializer(required=False)


class IPAddressPoolAllocateSerializer(serializers.Serializer):
    """Allocate an address for ``identifier``."""

    identifier = serializers.CharField(max_length=255)
    data = IPAddressDataSerializer(required=False)


class NumberAllocationSerializer(serializers.Serializer):
    """The number an identifier holds."""

    identifier = serializers.CharField()
    value = serializers.IntegerField()


class PrefixAllocationSerializer(PrefixSerializer):
    """The prefix an identifier holds, with the identifier."""

    identifier = serializers.CharField(read_only=True)

    class Meta(PrefixSerializer.Meta):
        fields = (*PrefixSerializer.Meta.fields, "identifier")


class IPAddressAllocationSerializer(IPAddressSerializer):
    """The address an identifier holds, with the identifier."""

    identifier = serializers.CharField(read_only=True)

    class Meta(IPAddressSerializer.Meta):
        fields = (*IPAddressSerializer.Meta.fields, "identifier")


class NumberLedgerRowSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    value = serializers.IntegerField()
    created = serializers.DateTimeField()


class PrefixLedgerRowSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    created = serializers.DateTimeField()
    prefix = PrefixSerializer(brief=True)


class IPAddressLedgerRowSerializer(serializers.Serializer):
    identifier = serializers.CharField()
    created = serializers.DateTimeField()
    ip_address = IPAddressSerializer(brief=True)


class PoolUtilizationSerializer(serializers.Serializer):
    """How much of a pool is used (addresses for prefix and IP pools, values for number pools)."""

    used = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField()
    allocations = serializers.IntegerField(help_text="How many identifiers hold something.")


class PoolResourcesFieldExtension(OpenApiSerializerFieldExtension):
    """A pool's resources: written as prefix ids, read as brief prefixes (those the caller may see)."""

    target_class = "ipam.api.pools.PoolResourcesField"

    def map_serializer_field(self, auto_schema, direction):
        if direction == "request":
            return {"type": "array", "items": {"type": "integer", "description": "A prefix id."}}
        brief = auto_schema.resolve_serializer(brief_serializer(PrefixSerializer), direction)
        return {"type": "array", "items": brief.ref}


# -- free space -------------------------------------------------------------------------------


class AvailablePrefixSerializer(serializers.Serializer):
    """A free block of a prefix, as a CIDR."""

    family = serializers.ChoiceField(choices=FAMILIES)
    namespace = serializers.IntegerField(help_text="The namespace id.")
    prefix = serializers.CharField()


class AvailableIPSerializer(serializers.Serializer):
    """A free address of a prefix, with the prefix's length."""

    family = serializers.ChoiceField(choices=FAMILIES)
    namespace = serializers.IntegerField(help_text="The namespace id.")
    address = serializers.CharField()


class AvailableVLANSerializer(serializers.Serializer):
    """A free VLAN id of an L2 domain."""

    vid = serializers.IntegerField(min_value=1, max_value=4094)
    l2domain = serializers.IntegerField(help_text="The L2 domain id.")


class AvailableGroupVLANSerializer(serializers.Serializer):
    """A free VLAN id of a VLAN group (NetBox's shape)."""

    vid = serializers.IntegerField(min_value=1, max_value=4094)
    group = VLANGroupSerializer(brief=True)


class AvailablePrefixCreateSerializer(PrefixDataSerializer):
    """A child prefix to create: its length, and the fields to set on it."""

    prefix_length = serializers.IntegerField(min_value=0, max_value=128)

    class Meta(PrefixDataSerializer.Meta):
        fields = ("prefix_length", *PrefixDataSerializer.Meta.fields)


class AvailableIPCreateSerializer(IPAddressDataSerializer):
    """An address to create (the lowest free one) and the fields to set on it; the interface may also
    be named NetBox's way."""

    assigned_object_type = AssignedObjectTypeField()
    assigned_object_id = AssignedObjectIdField()

    class Meta(IPAddressDataSerializer.Meta):
        fields = (*IPAddressDataSerializer.Meta.fields, "assigned_object_type", "assigned_object_id")


class AvailableVLANCreateSerializer(VLANDataSerializer):
    """A VLAN to create (the lowest free id) and the fields to set on it; ``site`` (NetBox's) is a
    site's id, the VLAN's location."""

    site = serializers.IntegerField(required=False, allow_null=True, help_text="A site's id (NetBox's site).")

    class Meta(VLANDataSerializer.Meta):
        fields = (*VLANDataSerializer.Meta.fields, "site")


# -- the views' decorators --------------------------------------------------------------------


def pool_actions(*, allocate, allocation, ledger_row):
    """What a pool's ``allocate`` takes and answers (201 new, 200 already held), what its ledger lists."""
    return extend_schema_view(
        allocate=extend_schema(request=allocate, responses={201: allocation, 200: allocation}),
        allocations=extend_schema(responses=ledger_row(many=True)),
    )


def free_space(*, listed, create, created, parameters=()):
    """A free-space view: GET lists what is free; POST takes one object or a list and answers likewise."""
    return extend_schema_view(
        get=extend_schema(responses=listed(many=True), parameters=list(parameters)),
        post=extend_schema(request=create, responses={201: created}),
    )


AVAILABLE_IPS_LIMIT = OpenApiParameter(
    "limit", int, description="How many free addresses to list (default 50; clamped to 1..1000)."
)
