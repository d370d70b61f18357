"""List filters shared by the apps' admins: filters that obey a value they do not offer, and the
tenant-subtree filter every tenant-scoped list has.

A filter's choices are what the user may see; a value naming a hidden or unknown object matches
nothing, as the API's filters do, so that trying ids tells nothing.
"""

import re

from django.apps import apps
from django.contrib import admin

from . import access
from .filtersets import tree_range_q


def as_id(value: str | None) -> int | None:
    """A filter's value as an id, or None when it is not one (letters, signs, more digits than an id has)."""
    return int(value) if value is not None and re.fullmatch(r"[0-9]{1,18}", value) else None


class ObeyedListFilter(admin.SimpleListFilter):
    """A filter that applies its value even when it offers no choice: Django skips a filter without choices,
    so a value the user may not see (nothing offered) would otherwise list everything instead of nothing."""

    def has_output(self):
        return super().has_output() or self.value() is not None


class TenantSubtreeFilter(ObeyedListFilter):
    """``?tenant_id=<id>``: a tenant and its sub-tenants, as the API's filter; the choices drawn as the tree."""

    title = "tenant (with its sub-tenants)"
    parameter_name = "tenant_id"

    def tenants(self, request):
        tenant = apps.get_model("tenancy", "Tenant")
        return access.for_request(request).restrict(tenant.objects.all()).order_by("tree_id", "lft")

    def lookups(self, request, model_admin):
        return [(str(node.pk), f"{'— ' * node.level}{node.name}") for node in self.tenants(request)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        node = self.tenants(request).filter(pk=as_id(value)).first()
        return queryset.filter(tree_range_q([node], "tenant")) if node is not None else queryset.none()
