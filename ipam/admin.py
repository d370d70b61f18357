"""Admin of namespaces, prefixes, IP addresses, L2 domains and VLANs.

The lists are what a NetBox user expects, each computed for the page in a constant number of queries
(pinned by tests with 1,000 rows):

- prefixes as a tree (each row indented by how many visible prefixes of its namespace contain it)
  with a utilisation bar; filters by namespace, site, tenant and ``?parent_prefix=<id>``;
- IP addresses with the device and interface they are assigned to, each a link;
- VLANs with the interfaces that carry them.

A prefix's change page shows its utilisation and what lies inside it: child prefixes as a tree with
the free blocks between them (each with a link to allocate it), and addresses; capped, with a link
to the full filtered changelist, answered by the same range scans as the API.
"""

import math
from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog_site import access
from catalog_site.admin import (
    METADATA_FIELDSET,
    CatalogChangeList,
    CatalogModelAdmin,
    hide_invisible_relations,
    rights,
)
from catalog_site.admin_filters import TenantSubtreeFilter
from catalog_site.status_admin import admin_link
from dcim.admin import location_filters

from . import selectors
from .addressing import unpack
from .models import VLAN, IPAddress, L2Domain, Namespace, Prefix

# How many children the prefix page lists before pointing to the changelist.
CHILD_LIMIT = 100
# Utilisation from which a bar turns to a warning, and to danger (percent).
WARN_AT, DANGER_AT = 80, 95
# How many interfaces a VLAN's row names before "+N more".
CARRIERS_SHOWN = 3


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
    rows = [format_html("<tr>{}</tr>", row(obj)) for obj in queryset[:CHILD_LIMIT]]
    return table(headers, rows, total=total, see_all_url=see_all_url, noun=noun)


def table(headers, rows, *, total: int, see_all_url: str, noun: str):
    """``rows`` (escaped ``<tr>`` elements) under ``headers``, and a link to the ``total`` objects in
    the list view."""
    head = format_html_join("", "<th>{}</th>", ((header,) for header in headers))
    body = format_html_join("", "{}", ((row,) for row in rows))
    if total > CHILD_LIMIT:
        footer = format_html('<p>The first {} of {}. <a href="{}">See all {}</a></p>', CHILD_LIMIT, total,
                             see_all_url, noun)
    elif total:
        footer = format_html('<p><a href="{}">These {} {} in the list view</a></p>', see_all_url, total, noun)
    else:  # only free blocks
        footer = ""
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, footer)


def cells(*values):
    return format_html_join("", "<td>{}</td>", ((value,) for value in values))


# -- the prefix tree and utilisation, for a page of prefixes (computed in ipam.selectors) -----------

def utilization_bar(usage: dict):
    """A bar coloured by how full the prefix is, with the percentage written beside it (the bar
    itself is hidden from screen readers: the text says it all)."""
    percent = usage["percent"]
    level = "danger" if percent >= DANGER_AT else "warning" if percent >= WARN_AT else "ok"
    text = "<1%" if 0 < percent < 1 else f"{math.floor(percent)}%"
    return format_html(
        '<span class="ipam-utilization ipam-utilization--{}" title="{} of {} addresses used">'
        '<span class="ipam-utilization__track" aria-hidden="true">'
        '<span class="ipam-utilization__fill" style="width: {}%"></span></span>'
        '<span class="ipam-utilization__text">{}</span></span>',
        level, usage["used"], usage["total"], f"{min(percent, 100):.2f}", text,
    )


def indented_prefix(prefix, depth: int):
    return format_html('<span class="ipam-prefix" data-depth="{}" style="--ipam-depth: {}">{}</span>',
                       depth, depth, prefix)


class PrefixChangeList(CatalogChangeList):
    """The prefix list as a tree: each row of the page gets its depth and its utilisation, in three
    queries whatever the page's size."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)  # evaluates the page once; the template reads the same objects
        selectors.annotate_depth(rows, rights(request))
        selectors.annotate_utilization(rows)


# -- the prefix page: children and the free blocks between them -----------------------------------

def allocate_url(parent, viewer: access.Access, block=None) -> str:
    """The prefix add form, prefilled for a child of ``parent``: its namespace, ``block``, and the
    parent's tenant and location where the viewer may use them."""
    values = {"namespace": parent.namespace_id}
    if block is not None:
        values["prefix"] = str(block)
    if parent.tenant_id is not None and viewer.can_write(Prefix(tenant_id=parent.tenant_id), "add"):
        values["tenant"] = parent.tenant_id
    location = parent.location if parent.location_id is not None else None
    if location is not None and viewer.can_see(location):
        values["location"] = location.pk
    return f"{reverse('admin:ipam_prefix_add')}?{urlencode(values)}"


def child_prefix_rows(parent, children, viewer: access.Access, *, until: int, may_add: bool):
    """The rows of the child table: the children indented under each other, and the free blocks
    between them marked "Available" (with a link to allocate each, for those who may add prefixes)."""
    depths = selectors.nesting_depths([(unpack(child.network), unpack(child.broadcast)) for child in children])
    rows = [((unpack(child.network), child.prefix_length),
             format_html("<tr>{}</tr>", cells(indented_prefix(admin_link(child), depth), child.get_status_display(),
                                              child.role, child.tenant or "", child.description)))
            for child, depth in zip(children, depths, strict=True)]
    for block in selectors.free_blocks(parent, until, CHILD_LIMIT):
        action = format_html('<a href="{}">allocate here</a>', allocate_url(parent, viewer, block)) if may_add else ""
        rows.append(((int(block.network), block.prefixlen),
                     format_html('<tr class="ipam-available">{}</tr>',
                                 cells(indented_prefix(block, 0), "Available", "", "", action))))
    rows.sort(key=lambda row: row[0])
    return [html for _, html in rows]


@admin.register(Namespace)
class NamespaceAdmin(CatalogModelAdmin):
    list_display = ("name", "rd", "tenant", "description")
    list_select_related = ("tenant",)
    search_fields = ("name", "rd", "description")
    autocomplete_fields = ("tenant",)
    fieldsets = ((None, {"fields": ("name", "rd", "tenant", "description")}), METADATA_FIELDSET)


class IPAMListMedia:
    """The lists' stylesheet (indentation, utilisation bars, interface lists)."""

    class Media:
        css = {"all": ("ipam/admin.css",)}


@admin.register(Prefix)
class PrefixAdmin(IPAMListMedia, CatalogModelAdmin):
    """Prefixes, listed in address order (the model's ordering, not the text's) as a tree, each with
    its utilisation."""

    list_display = ("prefix_tree", "namespace", "status", "utilization_bar", "role", "tenant", "location", "vlan")
    list_display_links = ("prefix_tree",)
    list_select_related = ("namespace", "tenant", "location", "vlan")
    list_filter = (ParentPrefixFilter, "namespace", *location_filters("location"), TenantSubtreeFilter, "status",
                   "family", "role")
    search_fields = ("prefix", "description")
    autocomplete_fields = ("namespace", "tenant", "location", "vlan", "gateway")
    readonly_fields = (*CatalogModelAdmin.readonly_fields, "utilization", "child_prefixes", "child_ip_addresses")
    fieldsets = (
        (None, {"fields": ("namespace", "prefix", "status", "role", "tenant", "location", "vlan", "gateway",
                           "description")}),
        ("Contents", {"fields": ("utilization", "child_prefixes", "child_ip_addresses")}),
        METADATA_FIELDSET,
    )

    def get_changelist(self, request, **kwargs):
        return PrefixChangeList

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Read by the child table: the free blocks' "allocate here" links are for those who may add.
            obj.may_add_prefix = self.has_add_permission(request)
        return obj

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # nothing is inside a prefix that does not exist yet
            fieldsets = [fieldset for fieldset in fieldsets if fieldset[0] != "Contents"]
        return fieldsets

    @admin.display(description="Prefix")
    def prefix_tree(self, obj):
        return indented_prefix(obj.prefix, getattr(obj, "depth", 0))

    @admin.display(description="Utilisation")
    def utilization_bar(self, obj):
        usage = getattr(obj, "usage", None)
        return utilization_bar(usage) if usage is not None else ""

    @admin.display(description="Utilisation")
    def utilization(self, obj):
        usage = obj.get_utilization()
        what = "addresses covered by child prefixes" if obj.status == Prefix.Status.CONTAINER else "addresses in use"
        return format_html("{} {} of {} {} ({}%)", utilization_bar(usage), usage["used"], usage["total"], what,
                           usage["percent"])

    @admin.display(description="Child prefixes")
    def child_prefixes(self, obj):
        viewer = getattr(obj, "viewer_access", access.ANONYMOUS)
        may_add = getattr(obj, "may_add_prefix", False)
        children = viewer.restrict(obj.get_child_prefixes().select_related("tenant"))
        total = children.count()
        listed = list(children[:CHILD_LIMIT])
        # Cut short, the table shows the free blocks only as far as the children it lists.
        until = unpack(listed[-1].broadcast) if total > CHILD_LIMIT else unpack(obj.broadcast)
        rows = child_prefix_rows(obj, listed, viewer, until=until, may_add=may_add)
        if not rows:  # nothing inside: the prefix is not offered as its own child
            add = format_html(' <a href="{}">Add a child prefix</a>', allocate_url(obj, viewer)) if may_add else ""
            return format_html("No child prefixes.{}", add)
        return table(("Prefix", "Status", "Role", "Tenant", "Description"), rows,
                     total=total, see_all_url=changelist_inside(Prefix, obj), noun="child prefixes")

    @admin.display(description="Child IP addresses")
    def child_ip_addresses(self, obj):
        viewer = getattr(obj, "viewer_access", access.ANONYMOUS)
        return children_table(
            viewer.restrict(obj.get_child_ip_addresses().select_related("interface__device")),
            ("Address", "Status", "Role", "DNS name", "Interface"),
            lambda address: cells(admin_link(address), address.get_status_display(), address.get_role_display(),
                                  address.dns_name,
                                  address.interface if viewer.can_see(address.interface) and address.interface
                                  else ""),
            see_all_url=changelist_inside(IPAddress, obj),
            noun="IP addresses",
        )


class IPAddressChangeList(CatalogChangeList):
    """The address list: an interface the viewer may not see (nor, so, its device) reads as empty
    (one query for the page)."""

    def get_results(self, request):
        super().get_results(request)
        hide_invisible_relations(self.result_list, [IPAddress._meta.get_field("interface")], rights(request))


@admin.register(IPAddress)
class IPAddressAdmin(IPAMListMedia, CatalogModelAdmin):
    """Addresses, with the device and interface each is assigned to (NetBox's "assigned" columns)."""

    list_display = ("address", "namespace", "status", "role", "assigned_device", "assigned_interface", "tenant",
                    "dns_name")
    list_select_related = ("namespace", "interface__device", "tenant")
    list_filter = (ParentPrefixFilter, "namespace", *location_filters("interface__device__location"),
                   TenantSubtreeFilter, "status", "role", "family")
    search_fields = ("address", "dns_name", "description")
    autocomplete_fields = ("namespace", "interface", "tenant")
    fieldsets = (
        (None, {"fields": ("namespace", "address", "status", "role", "interface", "tenant", "dns_name",
                           "description")}),
        METADATA_FIELDSET,
    )

    def get_changelist(self, request, **kwargs):
        return IPAddressChangeList

    @admin.display(description="Device", ordering="interface__device__name")
    def assigned_device(self, obj):
        return admin_link(obj.interface.device, obj.interface.device.name) if obj.interface else ""

    @admin.display(description="Interface", ordering="interface__name")
    def assigned_interface(self, obj):
        return admin_link(obj.interface, obj.interface.name) if obj.interface else ""


@admin.register(L2Domain)
class L2DomainAdmin(CatalogModelAdmin):
    list_display = ("name", "slug", "tenant", "description")
    list_select_related = ("tenant",)
    search_fields = ("name", "slug", "description")
    autocomplete_fields = ("tenant",)
    fieldsets = ((None, {"fields": ("name", "slug", "tenant", "description")}), METADATA_FIELDSET)


def carrier_item(interface, is_tagged: bool):
    """An interface as its device and its name, each a link to its page; marked if it carries the VLAN tagged."""
    device, name = admin_link(interface.device, interface.device.name), admin_link(interface, interface.name)
    if is_tagged:
        return format_html('<li>{} {} <span class="ipam-tagged">tagged</span></li>', device, name)
    return format_html("<li>{} {}</li>", device, name)


def carriers_cell(shown, total):
    """The interfaces that carry a VLAN, then "+N more"."""
    if not shown:
        return ""
    items = format_html_join("", "{}", ((carrier_item(interface, is_tagged),) for interface, is_tagged in shown))
    more = format_html('<li class="ipam-more">+{} more</li>', total - len(shown)) if total > len(shown) else ""
    return format_html('<ul class="ipam-carriers">{}{}</ul>', items, more)


class VLANChangeList(CatalogChangeList):
    """The VLAN list: each row of the page gets the interfaces that carry it (two queries)."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)
        carriers = selectors.vlan_carriers(rows, rights(request), CARRIERS_SHOWN)
        for row in rows:
            row.carriers = carriers[row.pk]


@admin.register(VLAN)
class VLANAdmin(IPAMListMedia, CatalogModelAdmin):
    """VLANs, each with the interfaces that carry it (untagged, then tagged)."""

    list_display = ("vid", "name", "l2domain", "status", "role", "tenant", "location", "interfaces")
    list_display_links = ("vid", "name")
    list_select_related = ("l2domain", "tenant", "location")
    list_filter = ("l2domain", *location_filters("location"), TenantSubtreeFilter, "status", "role")
    search_fields = ("name", "description", "vid")
    autocomplete_fields = ("l2domain", "tenant", "location")
    fieldsets = ((None, {"fields": ("l2domain", "vid", "name", "status", "role", "tenant", "location",
                                    "description")}),
                 METADATA_FIELDSET)

    def get_changelist(self, request, **kwargs):
        return VLANChangeList

    @admin.display(description="Interfaces")
    def interfaces(self, obj):
        shown, total = getattr(obj, "carriers", ([], 0))
        return carriers_cell(shown, total)


# The pools' admin lives beside, in its own module (imported here so that the admin finds it).
from .pool_admin import IPAddressPoolAdmin, NumberPoolAdmin, PrefixPoolAdmin  # noqa: E402, F401
