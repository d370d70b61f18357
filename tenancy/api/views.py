"""Views of the tenancy API."""

from catalog_site.api.views import CatalogModelViewSet

from .. import filtersets
from ..models import Membership, Tenant
from . import serializers


class TenantViewSet(CatalogModelViewSet):
    queryset = Tenant.objects.select_related("parent")
    serializer_class = serializers.TenantSerializer
    filterset_class = filtersets.TenantFilterSet


class MembershipViewSet(CatalogModelViewSet):
    queryset = Membership.objects.select_related("user", "tenant")
    serializer_class = serializers.MembershipSerializer
    filterset_class = filtersets.MembershipFilterSet
