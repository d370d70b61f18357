"""API of resource pools (``/api/ipam/{number,prefix,ip}-pools/``) and of free space.

Pools: CRUD, ``POST /{id}/allocate/`` (``{"identifier", "prefix_length", "data"}``; 201 when new,
200 when the identifier already held the resource, 409 when the pool cannot serve it),
``POST /{id}/release/`` and ``GET /{id}/allocations/``. Free space, as in NetBox:
``/prefixes/{id}/available-prefixes/``, ``/prefixes/{id}/available-ips/`` and
``/l2-domains/{id}/available-vlans/`` (NetBox's ``/vlan-groups/{id}/available-vlans/`` too): GET lists
what is free, POST takes one object or a list and creates all of it or nothing. Related objects named
in a POST (or in an allocation's ``data``) must be visible to the caller, or they are not found.
"""

import netaddr
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog_site import access
from catalog_site.api.exceptions import Conflict
from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField, StrictInputMixin
from catalog_site.api.views import DETAIL_ACTIONS, CatalogModelViewSet, check_bulk_size
from catalog_site.filtersets import MAX_ID
from dcim.selectors import sites

from .. import allocation, freespace
from ..addressing import bits, unpack
from ..models import (
    VLAN,
    FreeSpace,
    IPAddress,
    IPAddressPool,
    IPAddressPoolResource,
    L2Domain,
    Namespace,
    NumberPool,
    Prefix,
    PrefixPool,
    PrefixPoolResource,
)
from ..selectors import pool_utilization
from . import schema
from .fields import ASSIGNMENT_FIELDS, NOT_FOUND, AssignmentSerializer, assigned_interface
from .serializers import IPAddressSerializer, PrefixSerializer, VLANGroupSerializer, VLANSerializer, tenant_field

MAX_LISTED = 1000


class AllocateRequestSerializer(StrictInputMixin, serializers.Serializer):
    identifier = serializers.CharField(max_length=255)
    prefix_length = serializers.IntegerField(required=False, min_value=0, max_value=128)
    data = serializers.DictField(required=False)


@extend_schema_serializer(component_name="PoolRelease")
class ReleaseRequestSerializer(StrictInputMixin, serializers.Serializer):
    identifier = serializers.CharField(max_length=255)


class PrefixIdField(serializers.IntegerField):
    """A prefix id, or the brief prefix a GET shows (``{"id": N, ...}``)."""

    def __init__(self, **kwargs):
        # Bounded like a key: a larger integer would overflow SQLite when the prefixes are read.
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if "id" not in data:
                self.fail("invalid")
            data = data["id"]
        return super().to_internal_value(data)


class PoolResourcesField(serializers.ListField):
    """A pool's resources: written as a list of prefix ids (or of the brief prefixes read), in order;
    read as brief prefixes."""

    child = PrefixIdField()

    def to_representation(self, manager):
        can_see = access.for_request(self.context.get("request")).can_see
        return [PrefixSerializer(r.prefix, context=self.context, brief=True).data for r in manager.all()
                if can_see(r.prefix)]


class PoolSerializerMixin:
    """Resources for prefix and IP pools: replaced as a whole, in the order given."""

    resource_model = None

    def validate_resources(self, ids):
        prefixes = access.for_request(self.context.get("request")).restrict(Prefix.objects.all()).in_bulk(ids)
        missing = [i for i in ids if i not in prefixes]
        if missing:
            raise serializers.ValidationError(f"No prefix with id {', '.join(map(str, missing))}.")
        if len(set(ids)) != len(ids):
            raise serializers.ValidationError("A prefix is listed twice.")
        return [prefixes[i] for i in ids]

    def _set_resources(self, pool, prefixes):
        if prefixes is None:
            return
        namespace_id = getattr(pool, "namespace_id", None)
        wrong = [str(p) for p in prefixes if namespace_id is not None and p.namespace_id != namespace_id]
        if wrong:
            raise serializers.ValidationError({"resources": f"Not in the pool's namespace: {', '.join(wrong)}."})
        keep = {p.pk for p in prefixes}
        self.resource_model.objects.filter(pool=pool).exclude(prefix_id__in=keep).delete()
        for position, prefix in enumerate(prefixes):
            resource, created = self.resource_model.objects.get_or_create(
                pool=pool, prefix=prefix, defaults={"position": position}
            )
            if not created and resource.position != position:
                self.resource_model.objects.filter(pk=resource.pk).update(position=position)

    def create(self, validated_data):
        prefixes = validated_data.pop("pool_resources", None)
        pool = super().create(validated_data)
        self._set_resources(pool, prefixes)
        return pool

    def update(self, instance, validated_data):
        prefixes = validated_data.pop("pool_resources", None)
        pool = super().update(instance, validated_data)
        self._set_resources(pool, prefixes)
        return pool

    def validate(self, attrs):
        resources = attrs.pop("pool_resources", None)
        attrs = super().validate(attrs)
        if resources is not None:
            attrs["pool_resources"] = resources
        return attrs


class NumberPoolSerializer(BaseModelSerializer):
    """A pool of numbers; ``utilization`` (detail only) counts allocated and free values."""

    l2domain = RelatedObjectField(serializer="ipam.api.serializers.L2DomainSerializer",
                                  queryset=L2Domain.objects.all(), required=False, allow_null=True)
    tenant = tenant_field()

    class Meta:
        model = NumberPool
        fields = ("id", "url", "display", "name", "start", "end", "l2domain", "tenant", "description",
                  "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name")


class NumberPoolDetailSerializer(NumberPoolSerializer):
    utilization = serializers.SerializerMethodField()

    class Meta(NumberPoolSerializer.Meta):
        fields = (*NumberPoolSerializer.Meta.fields, "utilization")

    @extend_schema_field(schema.PoolUtilizationSerializer)
    def get_utilization(self, pool) -> dict:
        return pool_utilization(pool)


class PrefixPoolSerializer(PoolSerializerMixin, BaseModelSerializer):
    """A pool of prefixes carved best-fit from its resources (container prefixes, in order)."""

    resource_model = PrefixPoolResource
    namespace = RelatedObjectField(serializer="ipam.api.serializers.NamespaceSerializer",
                                   queryset=Namespace.objects.all(), required=False)
    resources = PoolResourcesField(source="pool_resources", required=False)
    tenant = tenant_field()

    class Meta:
        model = PrefixPool
        fields = ("id", "url", "display", "name", "namespace", "resources", "default_prefix_length",
                  "default_status", "default_role", "tenant", "description", "annotations", "created",
                  "last_updated")
        brief_fields = ("id", "url", "display", "name")


class PrefixPoolDetailSerializer(PrefixPoolSerializer):
    utilization = serializers.SerializerMethodField()

    class Meta(PrefixPoolSerializer.Meta):
        fields = (*PrefixPoolSerializer.Meta.fields, "utilization")

    @extend_schema_field(schema.PoolUtilizationSerializer)
    def get_utilization(self, pool) -> dict:
        return pool_utilization(pool)


class IPAddressPoolSerializer(PoolSerializerMixin, BaseModelSerializer):
    """A pool of addresses handed out lowest first from its resources."""

    resource_model = IPAddressPoolResource
    resources = PoolResourcesField(source="pool_resources", required=False)
    tenant = tenant_field()

    class Meta:
        model = IPAddressPool
        fields = ("id", "url", "display", "name", "resources", "default_status", "tenant", "description",
                  "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name")


class IPAddressPoolDetailSerializer(IPAddressPoolSerializer):
    utilization = serializers.SerializerMethodField()

    class Meta(IPAddressPoolSerializer.Meta):
        fields = (*IPAddressPoolSerializer.Meta.fields, "utilization")

    @extend_schema_field(schema.PoolUtilizationSerializer)
    def get_utilization(self, pool) -> dict:
        return pool_utilization(pool)


def check_created(rights, obj) -> None:
    """An object an allocation made with a tenant (``data: {"tenant": N}``) needs the caller's role there.

    Called inside the allocation's transaction: a refusal undoes the allocation.
    """
    if isinstance(obj, Model) and access.tenant_id_of(obj, "add") is not None:
        rights.check_write(obj, "add")


def is_id(value) -> bool:
    """Whether ``value`` can be an object's id (an integer a 64-bit key holds; not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def check_related(rights, model, data, *, key=None) -> None:
    """Refuse the ids in ``data`` (field values of a ``model`` to create) naming a hidden object.

    A hidden object is one that does not exist, for the caller: a 400 naming the field (inside
    ``key`` when the fields travel in an allocation's ``data``).
    """
    if not isinstance(data, dict):
        return
    for name, value in data.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue  # the allocation refuses it, naming it
        if not field.many_to_one or value is None:
            continue
        related = field.related_model
        # A tenant is checked with the rights to write there (``check_write``), which name the field.
        if is_id(value) and (rights.unrestricted or related._meta.label == access.TENANT_MODEL
                             or not access.is_scoped(related)
                             or rights.restrict(related.objects.filter(pk=value)).exists()):
            continue
        message = f"{NOT_FOUND} (no {related._meta.verbose_name} with id {value!r:.40})"
        raise serializers.ValidationError({key: f"{name}: {message}"} if key else {name: message})


def allocation_errors(call):
    """Run an allocation; a pool that cannot serve it is a 409 naming the pool and what was asked."""
    try:
        return call()
    except allocation.AllocationError as exc:
        raise Conflict(str(exc)) from exc


class PoolViewSet(CatalogModelViewSet):
    """Shared actions of the pool endpoints."""

    detail_serializer_class = None
    created_model = None  # what an allocation creates (its ``data`` sets fields of it), if anything
    # What the actions on one pool read: the pool and the objects its answer nests, nothing more
    # (the list's prefetch of every resource would cost two queries per allocation).
    action_related: tuple[str, ...] = ()

    def get_queryset(self):
        if self.action in {"allocate", "release", "allocations"}:
            return self.access.restrict(self.queryset.model.objects.select_related(*self.action_related))
        return super().get_queryset()

    def get_writable_pool(self):
        """The pool of an allocate/release: visible (else 404), and writable by the caller (else 403)."""
        pool = self.get_object()
        self.access.check_write(pool, "change")
        return pool

    def get_serializer_class(self):
        # One pool reads the same whether GET, PUT or PATCH answers it, so that a body read can be sent back.
        if self.action in DETAIL_ACTIONS:
            return self.detail_serializer_class
        return super().get_serializer_class()

    def allocate_one(self, pool, request_data):
        raise NotImplementedError

    def represent(self, resource, request):
        raise NotImplementedError

    def ledger(self, pool):
        raise NotImplementedError

    def ledger_row(self, row, request):
        raise NotImplementedError

    @extend_schema(request=AllocateRequestSerializer)
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        """Allocate for an identifier: 201 when new, 200 when the identifier already held it."""
        pool = self.pool = self.get_writable_pool()
        body = AllocateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if self.created_model is not None:
            check_related(self.access, self.created_model, body.validated_data.get("data"), key="data")
        with transaction.atomic():
            result = allocation_errors(lambda: self.allocate_one(pool, body.validated_data))
            if result.created:
                check_created(self.access, result.resource)
        data = self.represent(result.resource, request)
        data["identifier"] = body.validated_data["identifier"]
        return Response(data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(request=ReleaseRequestSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Give back what an identifier holds (the prefix or address is deleted): 204, or 404 if nothing."""
        pool = self.get_writable_pool()
        body = ReleaseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not allocation.release(pool=pool, identifier=body.validated_data["identifier"]):
            return Response({"detail": f"Nothing is allocated to '{body.validated_data['identifier']}'."},
                            status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"], filter_backends=[])
    def allocations(self, request, pk=None):
        """The ledger: identifier and resource, paginated."""
        pool = self.get_object()
        page = self.paginate_queryset(self.access.restrict(self.ledger(pool)))
        return self.get_paginated_response([self.ledger_row(row, request) for row in page])


@schema.pool_actions(allocate=schema.NumberPoolAllocateSerializer, allocation=schema.NumberAllocationSerializer,
                     ledger_row=schema.NumberLedgerRowSerializer)
class NumberPoolViewSet(PoolViewSet):
    queryset = NumberPool.objects.select_related("l2domain", "tenant")
    serializer_class = NumberPoolSerializer
    detail_serializer_class = NumberPoolDetailSerializer
    filterset_fields = ("name", "l2domain")

    def allocate_one(self, pool, body):
        return allocation.allocate_number(pool=pool, identifier=body["identifier"], data=body.get("data"))

    def represent(self, value, request):
        return {"value": value}

    def ledger(self, pool):
        # A number ledger row names no tenant, only the identifier (often another customer's service):
        # it is shown to those who may operate the pool.
        if not self.access.can_write(pool, "change"):
            return pool.allocations.none()
        return pool.allocations.order_by("value")

    def ledger_row(self, row, request):
        return {"identifier": row.identifier, "value": row.value, "created": row.created}


@schema.pool_actions(allocate=schema.PrefixPoolAllocateSerializer, allocation=schema.PrefixAllocationSerializer,
                     ledger_row=schema.PrefixLedgerRowSerializer)
class PrefixPoolViewSet(PoolViewSet):
    queryset = PrefixPool.objects.select_related("namespace", "tenant").prefetch_related("pool_resources__prefix")
    serializer_class = PrefixPoolSerializer
    detail_serializer_class = PrefixPoolDetailSerializer
    created_model = Prefix
    filterset_fields = ("name", "namespace")
    action_related = ("namespace",)

    def allocate_one(self, pool, body):
        return allocation.allocate_prefix(pool=pool, identifier=body["identifier"],
                                          prefix_length=body.get("prefix_length"), data=body.get("data"))

    def represent(self, prefix, request):
        if prefix.namespace_id == self.pool.namespace_id:
            prefix.namespace = self.pool.namespace  # already read with the pool
        return dict(PrefixSerializer(prefix, context=self.get_serializer_context()).data)

    def ledger(self, pool):
        return pool.allocations.select_related("prefix").order_by("identifier")

    def ledger_row(self, row, request):
        return {"identifier": row.identifier, "created": row.created,
                "prefix": PrefixSerializer(row.prefix, context=self.get_serializer_context(), brief=True).data}


@schema.pool_actions(allocate=schema.IPAddressPoolAllocateSerializer,
                     allocation=schema.IPAddressAllocationSerializer, ledger_row=schema.IPAddressLedgerRowSerializer)
class IPAddressPoolViewSet(PoolViewSet):
    queryset = IPAddressPool.objects.select_related("tenant").prefetch_related("pool_resources__prefix")
    serializer_class = IPAddressPoolSerializer
    detail_serializer_class = IPAddressPoolDetailSerializer
    created_model = IPAddress
    filterset_fields = ("name",)

    def allocate_one(self, pool, body):
        return allocation.allocate_ip_address(pool=pool, identifier=body["identifier"], data=body.get("data"))

    def represent(self, ip, request):
        return dict(IPAddressSerializer(ip, context=self.get_serializer_context()).data)

    def ledger(self, pool):
        return pool.allocations.select_related("ip_address").order_by("identifier")

    def ledger_row(self, row, request):
        return {"identifier": row.identifier, "created": row.created,
                "ip_address": IPAddressSerializer(row.ip_address, context=self.get_serializer_context(),
                                                  brief=True).data}


# -- free space -------------------------------------------------------------------------------


class FreeSpaceView(APIView):
    """GET lists free space; POST creates one object (a dict) or several (a list), all or nothing."""

    parent_model = None
    created_serializer = None
    accepts_lists = True  # the schema documents a POST of one object or of a list
    # Permissions are those of the model created: viewing it for GET, adding it for POST.
    queryset = None

    @property
    def access(self) -> access.Access:
        return access.for_request(self.request)

    def get_parent(self, pk):
        return get_object_or_404(self.access.restrict(self.parent_model.objects.all()), pk=pk)

    def prepare(self, item: dict) -> dict:
        """The fields of one object to create, NetBox's names turned into ours."""
        return item

    def create_one(self, parent, item):
        raise NotImplementedError

    def post(self, request, pk):
        check_bulk_size(request.data)
        parent = self.get_parent(pk)
        items = request.data if isinstance(request.data, list) else [request.data]
        if not items or not all(isinstance(item, dict) for item in items):
            raise serializers.ValidationError({"detail": "Expected an object or a non-empty list of objects."})
        items = [self.prepare(dict(item)) for item in items]
        for item in items:
            check_related(self.access, self.queryset.model, item)
        with transaction.atomic():
            created = [allocation_errors(lambda item=item: self.create_one(parent, item)) for item in items]
            for obj in created:
                self.access.check_write(obj, "add")
        context = {"request": request}
        data = [self.created_serializer(obj, context=context).data for obj in created]
        return Response(data if isinstance(request.data, list) else data[0], status=status.HTTP_201_CREATED)


def _prefix_length(item):
    if "prefix_length" not in item:
        raise serializers.ValidationError({"prefix_length": "This field is required."})
    return item.pop("prefix_length")


@schema.free_space(listed=schema.AvailablePrefixSerializer, create=schema.AvailablePrefixCreateSerializer,
                   created=PrefixSerializer)
class AvailablePrefixesView(FreeSpaceView):
    """Free space of a prefix as the fewest CIDRs (GET), or new child prefixes, best fit (POST)."""

    parent_model = Prefix
    created_serializer = PrefixSerializer
    queryset = Prefix.objects.all()

    def get(self, request, pk):
        parent = self.get_parent(pk)
        used = freespace.used_intervals(parent, FreeSpace.Kind.PREFIX, parent.cidr)
        first, last = unpack(parent.network), unpack(parent.broadcast)
        rows = []
        for start, end in freespace.gaps(first, last, used):
            for block, length in freespace.range_to_blocks(start, end, bits(parent.family)):
                rows.append({"family": parent.family, "namespace": parent.namespace_id,
                             "prefix": str(netaddr.IPNetwork((block, length), version=parent.family))})
                if len(rows) >= MAX_LISTED:
                    return Response(rows)
        return Response(rows)

    def create_one(self, parent, item):
        return allocation.allocate_child_prefix(parent=parent, prefix_length=_prefix_length(item), data=item)


@schema.free_space(listed=schema.AvailableIPSerializer, create=schema.AvailableIPCreateSerializer,
                   created=IPAddressSerializer, parameters=[schema.AVAILABLE_IPS_LIMIT])
class AvailableIPsView(FreeSpaceView):
    """The first free addresses of a prefix (GET, ``?limit=``, at most 1000), or new addresses (POST)."""

    parent_model = Prefix
    created_serializer = IPAddressSerializer
    queryset = IPAddress.objects.all()

    def get(self, request, pk):
        parent = self.get_parent(pk)
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), MAX_LISTED))
        except ValueError as exc:
            raise serializers.ValidationError({"limit": "Expected an integer."}) from exc
        used = freespace.used_intervals(parent, FreeSpace.Kind.IP, parent.cidr)
        first, last = unpack(parent.network), unpack(parent.broadcast)
        rows = []
        for start, end in freespace.gaps(first, last, used):
            for value in range(start, min(end, start + limit) + 1):
                rows.append({"family": parent.family, "namespace": parent.namespace_id,
                             "address": f"{netaddr.IPAddress(value, version=parent.family)}/{parent.prefix_length}"})
                if len(rows) >= limit:
                    return Response(rows)
        return Response(rows)

    def prepare(self, item):
        """``assigned_object_type`` + ``assigned_object_id`` (NetBox's assignment) name the interface."""
        assignment = {name: item.pop(name) for name in ASSIGNMENT_FIELDS if name in item}
        if assignment:
            body = AssignmentSerializer(data=assignment)
            body.is_valid(raise_exception=True)
            given, interface = assigned_interface(self.access, dict(body.validated_data))
            if given:
                if "interface" in item and item["interface"] != (interface.pk if interface else None):
                    raise serializers.ValidationError(
                        {"assigned_object_id": "Names another interface than interface: write one of them."})
                item["interface"] = interface.pk if interface else None
        return item

    def create_one(self, parent, item):
        return allocation.allocate_child_ip_address(parent=parent, data=item)


@schema.free_space(listed=schema.AvailableVLANSerializer, create=schema.AvailableVLANCreateSerializer,
                   created=VLANSerializer)
class AvailableVLANsView(FreeSpaceView):
    """Free VLAN ids of an L2 domain (GET), or new VLANs with the lowest free ids (POST)."""

    parent_model = L2Domain
    created_serializer = VLANSerializer
    queryset = VLAN.objects.all()

    def get(self, request, pk):
        domain = self.get_parent(pk)
        return Response([{"vid": vid, "l2domain": domain.pk} for vid in allocation.free_vids(domain.pk)])

    def prepare(self, item):
        """NetBox's ``site`` (a site's id) is the VLAN's location."""
        if "site" not in item:
            return item
        site = item.pop("site")
        if site is not None and not (is_id(site) and self.access.restrict(sites().filter(pk=site)).exists()):
            raise serializers.ValidationError({"site": f"{NOT_FOUND} (expected the id of a site)"})
        if "location" in item and item["location"] != site:
            raise serializers.ValidationError({"site": "Names another location than location: write one of them."})
        item["location"] = site
        return item

    def create_one(self, domain, item):
        return allocation.allocate_vlan(l2domain=domain, data=item)


@schema.free_space(listed=schema.AvailableGroupVLANSerializer, create=schema.AvailableVLANCreateSerializer,
                   created=VLANSerializer)
class VLANGroupAvailableVLANsView(AvailableVLANsView):
    """NetBox's ``/vlan-groups/{id}/available-vlans/``: the free ids as ``{"vid", "group"}`` (GET), or
    new VLANs with the lowest free ids (POST), as ``/l2-domains/{id}/available-vlans/``."""

    def get(self, request, pk):
        domain = self.get_parent(pk)
        group = VLANGroupSerializer(domain, context={"request": request}, brief=True).data
        return Response([{"vid": vid, "group": group} for vid in allocation.free_vids(domain.pk)])
