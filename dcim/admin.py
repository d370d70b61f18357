"""Admin of locations (a draggable tree), manufacturers, device types and roles, devices (with their interfaces)
and interfaces."""

import copy

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from catalog_site.admin import METADATA_FIELDSET, CatalogInline, CatalogModelAdmin, CatalogTreeAdmin

from .models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer


class InterfaceForm(forms.ModelForm):
    """Checks tagged VLANs against the mode with the model's rule (``full_clean()`` cannot see m2m values).

    Where the form has no ``tagged_vlans`` field (the device page's inline), the VLANs the interface
    already carries are checked against the new mode, and the error goes above the row.
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


class InterfaceInline(CatalogInline, admin.TabularInline):
    """A device's interfaces, edited on the device's page (tagged VLANs on the interface's own page)."""

    model = Interface
    form = InterfaceForm
    extra = 0
    fields = ("name", "type", "layer", "role", "status", "enabled", "speed", "mode", "untagged_vlan")
    autocomplete_fields = ("untagged_vlan",)
    show_change_link = True


@admin.register(Device)
class DeviceAdmin(CatalogModelAdmin):
    """Devices, with their interfaces inline."""

    list_display = ("name", "location", "role", "index", "status", "device_type", "tenant")
    list_filter = ("role", "status", "device_type__manufacturer")
    list_select_related = ("location", "role", "device_type", "tenant")
    search_fields = ("name", "serial", "device_type__model", "description")
    autocomplete_fields = ("location", "device_type", "tenant")
    inlines = (InterfaceInline,)
    fieldsets = (
        (None, {"fields": ("name", "location", "role", "index", "status", "tenant", "description")}),
        ("Hardware", {"fields": ("device_type", "serial")}),
        METADATA_FIELDSET,
    )


@admin.register(Interface)
class InterfaceAdmin(CatalogModelAdmin):
    """Interfaces of every device."""

    form = InterfaceForm
    list_display = ("device", "name", "type", "layer", "role", "status", "enabled", "speed", "mode", "untagged_vlan")
    list_filter = ("type", "layer", "role", "status", "enabled", "mode")
    list_select_related = ("device", "untagged_vlan")
    search_fields = ("name", "description", "device__name")
    autocomplete_fields = ("device", "untagged_vlan", "tagged_vlans")
    fieldsets = (
        (None, {"fields": ("device", "name", "type", "layer", "role", "status", "enabled", "speed", "description")}),
        ("Switching", {"fields": ("mode", "untagged_vlan", "tagged_vlans")}),
        METADATA_FIELDSET,
    )
