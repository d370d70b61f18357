"""Filters of the tenancy API."""

import django_filters
from django.contrib.auth import get_user_model

from catalog_site.filtersets import BaseFilterSet, TreeNodeFilter

from .models import Membership, Tenant


class TenantFilterSet(BaseFilterSet):
    """``?name=``, ``?slug=``, ``?parent_id=`` (direct children), ``?ancestor_id=`` (whole subtree)."""

    parent_id = django_filters.ModelMultipleChoiceFilter(field_name="parent", queryset=Tenant.objects.all())
    ancestor_id = TreeNodeFilter(queryset=Tenant.objects.all(), label="Descendants of")
    search_fields = ("name", "slug", "description")

    class Meta:
        model = Tenant
        fields = {"name": ["exact", "icontains"], "slug": ["exact"], "level": ["exact"]}


class MembershipFilterSet(BaseFilterSet):
    """``?user_id=``, ``?username=``, ``?tenant_id=`` (X and its subtree), ``?role=``."""

    user_id = django_filters.ModelMultipleChoiceFilter(field_name="user", queryset=get_user_model().objects.all())
    username = django_filters.CharFilter(field_name="user__username")
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("user__username", "tenant__name")

    class Meta:
        model = Membership
        fields = {"role": ["exact"]}
