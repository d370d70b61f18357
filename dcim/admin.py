"""Admin of locations (a draggable tree), manufacturers, device types and roles, devices and interfaces.

The device and interface lists read as NetBox's: filters by region, site and location (a location
and all it contains), the site as a column, speeds as 10G, interfaces in natural order, and the
service that holds a port. What a page shows besides its rows (sites, services, filter choices) is
computed once per page and limited to what the viewer may see.
"""

import copy
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog_site.admin import (
    METADATA_FIELDSET,
    CatalogChangeList,
    CatalogModelAdmin,
    CatalogTreeAdmin,
    hide_invisible_relations,
    rights,
)
from catalog_site.admin_filters import ObeyedListFilter, TenantSubtreeFilter, as_id
from catalog_site.status_admin import admin_link

from .models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer, format_speed


class InterfaceForm(forms.ModelForm):
    """Checks tagged VLANs against the mode with the model's rule (``full_clean()`` cannot see m2m values).

    Where the form has no ``tagged_vlans`` field (a form of some of the fields), the VLANs the interface
    already carries are checked against the new mode, and the error goes above the form.
    """

    class Meta:
        model = Interface
        fields = ("device", "name", "type", "layer", "role", "status", "enabled", "speed", "mode", "untagged_vlan",
                  "tagged_vlans", "description", "annotations")

    def clean(self):
        cleaned_data = super().clean()
        if "tagged_vlans" in self.fields:
            vlans = cleaned_data.get("tagged_vlans") or []
        else:
            vlans = list(self.instance.tagged_vlans.all()) if self.instance.pk else []
        interface = copy.copy(self.instance)
        interface.mode = cleaned_data.get("mode", interface.mode)
        try:
            interface.validate_tagged_vlans(vlans)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else NON_FIELD_ERRORS, messages)
        return cleaned_data


@admin.register(Location)
class LocationAdmin(CatalogTreeAdmin):
    """The location tree; a location's kind decides what it may contain."""

    list_display = ("tree_actions", "indented_title", "kind", "status", "slug", "tenant", "description")
    list_filter = ("kind", "status")
    list_select_related = ("tenant",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent", "tenant")
    fieldsets = ((None, {"fields": ("name", "slug", "kind", "status", "parent", "tenant", "description")}),
                 METADATA_FIELDSET)


@admin.register(Manufacturer)
class ManufacturerAdmin(CatalogModelAdmin):
    """Makers of devices."""

    list_display = ("name", "slug", "description")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = ((None, {"fields": ("name", "slug", "description")}), METADATA_FIELDSET)


@admin.register(DeviceType)
class DeviceTypeAdmin(CatalogModelAdmin):
    """Models of devices, by manufacturer."""

    list_display = ("model", "manufacturer", "slug", "part_number", "u_height", "description")
    list_filter = ("manufacturer",)
    list_select_related = ("manufacturer",)
    search_fields = ("model", "slug", "part_number", "description", "manufacturer__name")
    prepopulated_fields = {"slug": ("model",)}
    autocomplete_fields = ("manufacturer",)
    fieldsets = (
        (None, {"fields": ("manufacturer", "model", "slug", "part_number", "u_height", "is_full_depth",
                           "description")}),
        METADATA_FIELDSET,
    )


@admin.register(DeviceRole)
class DeviceRoleAdmin(CatalogModelAdmin):
    """What devices do (core, edge...); generators find devices by role slug."""

    list_display = ("name", "slug", "color", "description")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = ((None, {"fields": ("name", "slug", "color", "description")}), METADATA_FIELDSET)


# -- shared by the device and interface lists -------------------------------------------------------------

def visible_pks(viewer, model, pks) -> set:
    """Those of ``pks`` whose object of ``model`` ``viewer`` may see (one query; none for a superuser)."""
    pks = set(pks) - {None}
    if viewer.unrestricted or not pks:
        return pks
    return set(viewer.restrict(model._base_manager.filter(pk__in=pks)).values_list("pk", flat=True))


def visible_sites(viewer, devices) -> dict:
    """Device pk -> the site it stands in, if ``viewer`` may see that site (select ``location__parent__parent``)."""
    sites = {device.pk: device.site for device in devices}
    shown = visible_pks(viewer, Location, {site.pk for site in sites.values() if site is not None})
    return {pk: site for pk, site in sites.items() if site is not None and site.pk in shown}


def holding_services(viewer, interface_pks) -> dict:
    """Interface pk -> the services ``viewer`` may see that own or claim it, for a whole page in one query.

    Ownership is ``services.ServiceResource`` (a generic relation from the service to the object).
    The services app sits above dcim, so its model is reached by name, never imported.
    """
    resources = apps.get_model("services", "ServiceResource").objects.filter(
        content_type__app_label=Interface._meta.app_label, content_type__model=Interface._meta.model_name,
        object_id__in=set(interface_pks),
    )
    held = {}
    for resource in viewer.restrict(resources).select_related("service").order_by("service__service_identifier"):
        services = held.setdefault(resource.object_id, [])
        if resource.service not in services:
            services.append(resource.service)
    return held


def service_links(services) -> str:
    """The services as links to their admin pages, comma-separated."""
    return format_html_join(", ", '<a href="{}">{}</a>', (
        (reverse("admin:services_service_change", args=[service.pk]), service.service_identifier)
        for service in services))


class PageAnnotatedChangeList(CatalogChangeList):
    """A changelist whose admin computes, for the page at once, what its columns show (``annotate_page``)."""

    def get_results(self, request):
        super().get_results(request)
        self.model_admin.annotate_page(request, self.result_list)


# NetBox's filter parameters over the location tree: parameter -> (title, the kinds of location it offers).
LOCATION_PARAMETERS = {
    "region_id": ("region", Location.REGION_KINDS),
    "site_id": ("site", (Location.Kind.SITE,)),
    "location_id": ("location", (Location.Kind.BUILDING, Location.Kind.ZONE)),
}


def within_location(request, queryset, parameter: str, value: str, path: str):
    """``queryset`` narrowed to the objects at location ``value`` (of the parameter's kinds) or anywhere below it.

    ``path`` leads from the object to its location. An unknown location, or one the user may not see,
    finds nothing, as an unknown id does in Django's own filters.
    """
    kinds = LOCATION_PARAMETERS[parameter][1]
    location = rights(request).restrict(Location.objects.filter(kind__in=kinds)).filter(pk=as_id(value)).first()
    if location is None:
        return queryset.none()
    return queryset.filter(**{f"{path}__tree_id": location.tree_id, f"{path}__lft__gte": location.lft,
                              f"{path}__rght__lte": location.rght})


class LocationSubtreeFilter(ObeyedListFilter):
    """Objects at a region, site or location or below it (``location_path`` leads to their location);
    the choices are the locations the user may see."""

    location_path = "location"

    def lookups(self, request, model_admin):
        kinds = LOCATION_PARAMETERS[self.parameter_name][1]
        locations = list(rights(request).restrict(Location.objects.filter(kind__in=kinds)))
        # In tree order, indented by depth (a metro under its country); no-break spaces, which HTML keeps.
        top = min((location.level for location in locations), default=0)
        return [(str(location.pk), "\u00a0" * 3 * (location.level - top) + location.name) for location in locations]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return within_location(request, queryset, self.parameter_name, value, self.location_path)


def location_filters(path: str) -> tuple:
    """The region, site and location filters of a list whose objects reach their location by ``path``."""
    return tuple(
        type(f"{title.title()}Filter", (LocationSubtreeFilter,),
             {"title": title, "parameter_name": parameter, "location_path": path})
        for parameter, (title, _) in LOCATION_PARAMETERS.items()
    )


class InterfaceDeviceFilter(ObeyedListFilter):
    """Interfaces of one device. It offers the devices of the region, site or location chosen (every device
    would be thousands) and the device chosen, of those the user may see."""

    title = "device"
    parameter_name = "device_id"

    def lookups(self, request, model_admin):
        devices = rights(request).restrict(Device.objects.order_by("name", "pk"))
        chosen = {name: request.GET[name] for name in LOCATION_PARAMETERS if request.GET.get(name)}
        for parameter, value in chosen.items():
            devices = within_location(request, devices, parameter, value, "location")
        if not chosen:
            if as_id(self.value()) is None:
                return []
            devices = devices.filter(pk=as_id(self.value()))
        return [(str(device.pk), device.name) for device in devices]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(device_id=as_id(value))


def site_filter_link(site) -> str:
    """A site (one the viewer may see, or None) as a link to the same list filtered by it."""
    return format_html('<a href="?site_id={}">{}</a>', site.pk, site.name) if site is not None else ""


# -- devices and interfaces --------------------------------------------------------------------------------

@admin.register(Device)
class DeviceAdmin(CatalogModelAdmin):
    """Devices, by site, role, manufacturer and status; a device's page lists its interfaces, naturally sorted.

    The interfaces are listed read-only (a form per interface does not fit the page), with links to
    edit them in the interface list and to add one.
    """

    list_display = ("name", "site_column", "location_column", "role", "status", "device_type", "tenant")
    list_filter = (*location_filters("location"), "role", "device_type__manufacturer", "status",
                   TenantSubtreeFilter)
    list_select_related = ("location__parent__parent", "role", "device_type", "tenant")
    search_fields = ("name", "serial", "device_type__model", "description")
    autocomplete_fields = ("location", "device_type", "tenant")
    fieldsets = (
        (None, {"fields": ("name", "location", "role", "index", "status", "tenant", "description")}),
        ("Hardware", {"fields": ("device_type", "serial")}),
        METADATA_FIELDSET,
    )

    class Media:
        css = {"all": ("dcim/lists.css",)}

    def get_changelist(self, request, **kwargs):
        return PageAnnotatedChangeList

    def annotate_page(self, request, devices):
        # The location is a column of ours, not a field: the base class would blank a hidden one before
        # the site could be read through it.
        sites = {device.pk: device.site for device in devices}
        shown = visible_pks(rights(request), Location, {device.location_id for device in devices}
                            | {site.pk for site in sites.values() if site is not None})
        for device in devices:
            site = sites[device.pk]
            device.shown_site = site if site is not None and site.pk in shown else None
            device.shown_location = device.location if device.location_id in shown else None

    @admin.display(description="Site")
    def site_column(self, device):
        return site_filter_link(device.shown_site)

    @admin.display(description="Location", ordering="location__name")
    def location_column(self, device):
        """The building or zone within the site, as NetBox's location (empty for a device at the site itself)."""
        location = device.shown_location
        return location.name if location is not None and location.kind != Location.Kind.SITE else ""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context.update(self.interface_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def interface_context(self, request, device) -> dict:
        """The device page's interface table (natural order) and its links, as the viewer may see them."""
        viewer = rights(request)
        vlan_model = Interface._meta.get_field("untagged_vlan").related_model
        interfaces = list(device.interfaces.select_related("untagged_vlan").prefetch_related(
            Prefetch("tagged_vlans", queryset=viewer.restrict(vlan_model.objects.order_by("vid")))))
        hide_invisible_relations(interfaces, [Interface._meta.get_field("untagged_vlan")], viewer)
        held = holding_services(viewer, [interface.pk for interface in interfaces])
        probe = Interface(device=device)
        add_url = None
        if viewer.can_write(probe, "add"):
            add_url = f"{reverse('admin:dcim_interface_add')}?{urlencode({'device': device.pk})}"
        return {
            "interface_rows": [interface_row(interface, held.get(interface.pk, ())) for interface in interfaces],
            "interfaces_url": f"{reverse('admin:dcim_interface_changelist')}?{urlencode({'device_id': device.pk})}",
            "interfaces_editable": viewer.can_write(probe, "change"),
            "add_interface_url": add_url,
        }


def interface_row(interface: Interface, services) -> dict:
    """What the device page shows of one interface."""
    tagged = ", ".join(str(vlan.vid) for vlan in interface.tagged_vlans.all())
    return {
        "name": interface.name,
        "url": reverse("admin:dcim_interface_change", args=[interface.pk]),
        "type": interface.get_type_display(),
        "role": interface.get_role_display(),
        "status": interface.status,
        "status_label": interface.get_status_display(),
        "enabled": interface.enabled,
        "speed": format_speed(interface.speed),
        "vlan": interface.untagged_vlan or "",
        "tagged": tagged,
        "services": service_links(services),
        "description": interface.description,
    }


@admin.register(Interface)
class InterfaceAdmin(CatalogModelAdmin):
    """Interfaces of every device, in natural order (Ethernet2 before Ethernet10), with their site, speed and
    the service that holds them."""

    form = InterfaceForm
    list_display = ("interface_name", "device_link", "site_column", "type", "status", "speed_column",
                    "vlan_column", "services_column")
    list_filter = (*location_filters("device__location"), InterfaceDeviceFilter, "status", "role", "type",
                   "enabled", "layer", "mode")
    list_select_related = ("device__location__parent__parent", "untagged_vlan")
    search_fields = ("name", "description", "device__name")
    autocomplete_fields = ("device", "untagged_vlan", "tagged_vlans")
    readonly_fields = (*CatalogModelAdmin.readonly_fields, "held_by")
    fieldsets = (
        (None, {"fields": ("device", "name", "type", "layer", "role", "status", "enabled", "speed", "description",
                           "held_by")}),
        ("Switching", {"fields": ("mode", "untagged_vlan", "tagged_vlans")}),
        METADATA_FIELDSET,
    )

    class Media:
        css = {"all": ("dcim/lists.css",)}

    def get_changelist(self, request, **kwargs):
        return PageAnnotatedChangeList

    def annotate_page(self, request, interfaces):
        viewer = rights(request)
        sites = visible_sites(viewer, {interface.device for interface in interfaces})
        held = holding_services(viewer, [interface.pk for interface in interfaces])
        hide_invisible_relations(interfaces, [Interface._meta.get_field("untagged_vlan")], viewer)
        for interface in interfaces:
            interface.shown_site = sites.get(interface.device_id)
            interface.shown_services = held.get(interface.pk, ())

    @admin.display(description="Name", ordering="name_key")
    def interface_name(self, interface):
        return interface.name

    @admin.display(description="Device", ordering="device__name")
    def device_link(self, interface):
        return admin_link(interface.device, interface.device.name)

    @admin.display(description="Site")
    def site_column(self, interface):
        return site_filter_link(interface.shown_site)

    @admin.display(description="Speed", ordering="speed")
    def speed_column(self, interface):
        return format_speed(interface.speed)

    @admin.display(description="VLAN", ordering="untagged_vlan__vid")
    def vlan_column(self, interface):
        return interface.untagged_vlan or ""

    @admin.display(description="Service")
    def services_column(self, interface):
        return service_links(interface.shown_services)

    @admin.display(description="Held by")
    def held_by(self, interface):
        if interface.pk is None:
            return ""
        viewer = getattr(interface, "viewer_access", None)
        services = holding_services(viewer, [interface.pk]).get(interface.pk, ()) if viewer is not None else ()
        return service_links(services)
