"""Admin of namespaces, prefixes, IP addresses, L2 domains and VLANs.

A prefix's change page shows its utilisation and what lies inside it (child prefixes and
addresses, capped, with a link to the full filtered changelist); the changelists accept
``?parent_prefix=<id>`` for that link, answered by the same range scans as the API.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog_site import access
from catalog_site.admin import METADATA_FIELDSET, CatalogModelAdmin

from .models import VLAN, IPAddress, L2Domain, Namespace, Prefix

# How many children the prefix page lists before pointing to the changelist.
CHILD_LIMIT = 100


class ParentPrefixFilter(admin.SimpleListFilter):
    """``?parent_prefix=<id>``: the objects inside a prefix (in its namespace).

    Only shown while active: listing every prefix as a filter choice would not scale. The prefix
    change page links here with the parameter set. A prefix the user may not see is treated like
    an id that does not exist: the filter is not applied and names nothing.
    """

    title = "inside prefix"
    parameter_name = "parent_prefix"

    def parent(self, request):
        value = self.value()
        if not value or not str(value).isdigit():
            return None
        return access.for_request(request).restrict(Prefix.objects.filter(pk=value)).first()

    def lookups(self, request, model_admin):
        parent = self.parent(request)
        return [(str(parent.pk), f"{parent.prefix} ({parent.namespace})")] if parent else []

    def queryset(self, request, queryset):
        parent = self.parent(request)
        if parent is None:
            return queryset
        return queryset.within(parent.cidr, namespace=parent.namespace_id)


def changelist_inside(model, prefix) -> str:
    url = reverse(f"admin:ipam_{model._meta.model_name}_changelist")
    return f"{url}?{ParentPrefixFilter.parameter_name}={prefix.pk}"


def children_table(queryset, headers, row, *, see_all_url, noun):
    """An HTML table of the first ``CHILD_LIMIT`` objects of ``queryset``, every value escaped."""
    total = queryset.count()
    if not total:
        return f"No {noun}."
    objects = queryset[:CHILD_LIMIT]
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join("", "<tr>{}</tr>", ((row(obj),) for obj in objects))
    if total > CHILD_LIMIT:
        footer = format_html('<p>The first {} of {}. <a href="{}">See all {}</a></p>', CHILD_LIMIT, total,
                             see_all_url, noun)
    else:
        footer = format_html('<p><a href="{}">These {} {} in the list view</a></p>', see_all_url, total, noun)
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, footer)


def cells(*values):
    return format_html_join("", "<td>{}</td>", ((value,) for value in values))


def change_link(obj):
    url = reverse(f"admin:ipam_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


@admin.register(Namespace)
class NamespaceAdmin(CatalogModelAdmin):
    list_display = ("name", "rd", "tenant", "description")
    list_select_related = ("tenant",)
    search_fields = ("name", "rd", "description")
    autocomplete_fields = ("tenant",)
    fieldsets = ((None, {"fields": ("name", "rd", "tenant", "description")}), METADATA_FIELDSET)


@admin.register(Prefix)
class PrefixAdmin(CatalogModelAdmin):
    """Prefixes, listed in address order (the model's ordering, not the text's)."""

    list_display = ("prefix", "namespace", "status", "role", "tenant", "location", "vlan")
    list_select_related = ("namespace", "tenant", "location", "vlan")
    list_filter = (ParentPrefixFilter, "status", "family", "namespace", "role")
    search_fields = ("prefix", "description")
    autocomplete_fields = ("namespace", "tenant", "location", "vlan", "gateway")
    readonly_fields = (*CatalogModelAdmin.readonly_fields, "utilization", "child_prefixes", "child_ip_addresses")
    fieldsets = (
        (None, {"fields": ("namespace", "prefix", "status", "role", "tenant", "location", "vlan", "gateway",
                           "description")}),
        ("Contents", {"fields": ("utilization", "child_prefixes", "child_ip_addresses")}),
        METADATA_FIELDSET,
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # nothing is inside a prefix that does not exist yet
            fieldsets = [fieldset for fieldset in fieldsets if fieldset[0] != "Contents"]
        return fieldsets

    @admin.display(description="Utilisation")
    def utilization(self, obj):
        usage = obj.get_utilization()
        what = "addresses covered by child prefixes" if obj.status == Prefix.Status.CONTAINER else "addresses in use"
        return f"{usage['used']} of {usage['total']} {what} ({usage['percent']}%)"

    @admin.display(description="Child prefixes")
    def child_prefixes(self, obj):
        viewer = getattr(obj, "viewer_access", access.ANONYMOUS)
        return children_table(
            viewer.restrict(obj.get_child_prefixes().select_related("tenant")),
            ("Prefix", "Status", "Role", "Tenant", "Description"),
            lambda child: cells(change_link(child), child.get_status_display(), child.role, child.tenant or "",
                                child.description),
            see_all_url=changelist_inside(Prefix, obj),
            noun="child prefixes",
        )

    @admin.display(description="Child IP addresses")
    def child_ip_addresses(self, obj):
        viewer = getattr(obj, "viewer_access", access.ANONYMOUS)
        return children_table(
            viewer.restrict(obj.get_child_ip_addresses().select_related("interface__device")),
            ("Address", "Status", "Role", "DNS name", "Interface"),
            lambda address: cells(change_link(address), address.get_status_display(), address.get_role_display(),
                                  address.dns_name,
                                  address.interface if viewer.can_see(address.interface) and address.interface
                                  else ""),
            see_all_url=changelist_inside(IPAddress, obj),
            noun="IP addresses",
        )


@admin.register(IPAddress)
class IPAddressAdmin(CatalogModelAdmin):
    list_display = ("address", "namespace", "status", "role", "interface", "tenant", "dns_name")
    list_select_related = ("namespace", "interface__device", "tenant")
    list_filter = (ParentPrefixFilter, "status", "role", "family", "namespace")
    search_fields = ("address", "dns_name", "description")
    autocomplete_fields = ("namespace", "interface", "tenant")
    fieldsets = (
        (None, {"fields": ("namespace", "address", "status", "role", "interface", "tenant", "dns_name",
                           "description")}),
        METADATA_FIELDSET,
    )


@admin.register(L2Domain)
class L2DomainAdmin(CatalogModelAdmin):
    list_display = ("name", "slug", "tenant", "description")
    list_select_related = ("tenant",)
    search_fields = ("name", "slug", "description")
    autocomplete_fields = ("tenant",)
    fieldsets = ((None, {"fields": ("name", "slug", "tenant", "description")}), METADATA_FIELDSET)


@admin.register(VLAN)
class VLANAdmin(CatalogModelAdmin):
    list_display = ("vid", "name", "l2domain", "status", "role", "tenant", "location")
    list_display_links = ("vid", "name")
    list_select_related = ("l2domain", "tenant", "location")
    list_filter = ("status", "l2domain", "role")
    search_fields = ("name", "description", "vid")
    autocomplete_fields = ("l2domain", "tenant", "location")
    fieldsets = ((None, {"fields": ("l2domain", "vid", "name", "status", "role", "tenant", "location",
                                    "description")}),
                 METADATA_FIELDSET)


# The pools' admin lives beside, in its own module (imported here so that the admin finds it).
from .pool_admin import IPAddressPoolAdmin, NumberPoolAdmin, PrefixPoolAdmin  # noqa: E402, F401
