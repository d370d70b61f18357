"""Views of the ipam API."""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from catalog_site.api.views import DETAIL_ACTIONS, CatalogModelViewSet

from .. import filtersets
from ..models import DEFAULT_NAMESPACE, VLAN, IPAddress, L2Domain, Namespace, Prefix
from . import serializers

# What a prefix or an address shows nested: one join each, nothing per row. A location's parents are
# joined too, for its site (``dcim.selectors.site_of``: a zone is at most two levels below its site).
PREFIX_RELATED = ("namespace", "tenant", "location__parent__parent", "vlan", "gateway")
IPADDRESS_RELATED = ("namespace", "interface__device__location__parent__parent", "tenant")
VLAN_RELATED = ("l2domain", "tenant", "location__parent__parent")


class NamespaceViewSet(CatalogModelViewSet):
    """Namespaces (VRFs): prefixes and addresses are unique within one."""

    queryset = Namespace.objects.select_related("tenant")
    serializer_class = serializers.NamespaceSerializer
    filterset_class = filtersets.NamespaceFilterSet


class VRFViewSet(CatalogModelViewSet):
    """NetBox's VRFs: the namespaces, less "Global" (NetBox's global table is no VRF).

    The same rows as ``/api/ipam/namespaces/``, under NetBox's name and fields.
    """

    queryset = Namespace.objects.exclude(name=DEFAULT_NAMESPACE).select_related("tenant")
    serializer_class = serializers.VRFSerializer
    filterset_class = filtersets.VRFFilterSet


class PrefixViewSet(CatalogModelViewSet):
    """Prefixes; the detail adds the utilisation, and two read-only routes list what lies inside."""

    queryset = Prefix.objects.select_related(*PREFIX_RELATED)
    serializer_class = serializers.PrefixSerializer
    filterset_class = filtersets.PrefixFilterSet

    def get_serializer_class(self):
        # One object reads the same whether GET, PUT or PATCH answers it, so that a body read can be sent back.
        if self.action in DETAIL_ACTIONS:
            return serializers.PrefixDetailSerializer
        return super().get_serializer_class()

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(page, many=True, context=self.get_serializer_context(), brief=self.brief)
        return self.get_paginated_response(serializer.data)

    @extend_schema(filters=False, responses=serializers.PrefixSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="child-prefixes", filter_backends=[])
    def child_prefixes(self, request, pk=None):
        """Every prefix inside this one (nested ones included), in address order."""
        prefix = self.get_object()
        children = self.access.restrict(prefix.get_child_prefixes().select_related(*PREFIX_RELATED))
        return self.paginated(children, serializers.PrefixSerializer)

    @extend_schema(filters=False, responses=serializers.IPAddressSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="child-ip-addresses", filter_backends=[])
    def child_ip_addresses(self, request, pk=None):
        """Every address inside this prefix, in address order."""
        prefix = self.get_object()
        children = self.access.restrict(prefix.get_child_ip_addresses().select_related(*IPADDRESS_RELATED))
        return self.paginated(children, serializers.IPAddressSerializer)


class IPAddressViewSet(CatalogModelViewSet):
    """IP addresses, each with its length, unique in its namespace."""

    queryset = IPAddress.objects.select_related(*IPADDRESS_RELATED)
    serializer_class = serializers.IPAddressSerializer
    filterset_class = filtersets.IPAddressFilterSet


class L2DomainViewSet(CatalogModelViewSet):
    """L2 domains: VLAN ids are unique within one."""

    queryset = L2Domain.objects.select_related("tenant")
    serializer_class = serializers.L2DomainSerializer
    filterset_class = filtersets.L2DomainFilterSet


class VLANGroupViewSet(CatalogModelViewSet):
    """NetBox's VLAN groups: the L2 domains (the same rows as ``/api/ipam/l2-domains/``)."""

    queryset = L2Domain.objects.select_related("tenant")
    serializer_class = serializers.VLANGroupSerializer
    filterset_class = filtersets.VLANGroupFilterSet


class VLANViewSet(CatalogModelViewSet):
    """VLANs."""

    queryset = VLAN.objects.select_related(*VLAN_RELATED)
    serializer_class = serializers.VLANSerializer
    filterset_class = filtersets.VLANFilterSet
