"""Admin of resource pools: utilisation, the allocation ledger inline, and an "Allocate" page.

The allocate page calls the same service functions as the API (``ipam/allocation.py``), so it
refuses the same things with the same messages.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog_site import access
from catalog_site.admin import METADATA_FIELDSET, CatalogInline, CatalogModelAdmin

from . import allocation
from .models import (
    IPAddressAllocation,
    IPAddressPool,
    IPAddressPoolResource,
    NumberAllocation,
    NumberPool,
    PrefixAllocation,
    PrefixPool,
    PrefixPoolResource,
)
from .selectors import pool_utilization


class AllocateForm(forms.Form):
    identifier = forms.CharField(max_length=255, help_text="Usually a service identifier, e.g. DI-12345.")
    prefix_length = forms.IntegerField(required=False, min_value=0, max_value=128,
                                       help_text="Prefix pools only; empty for the pool's default.")


def utilization_bar(pool) -> str:
    if pool.pk is None:
        return "-"
    figures = pool_utilization(pool)
    used, total = figures["used"], figures["total"]
    percent = round(100 * used / total, 1) if total else 0.0
    return format_html(
        '<div style="width:12em;border:1px solid #ccc;"><div style="width:{}%;background:#79aec8;">&nbsp;</div></div>'
        "{} of {} used ({}%)", min(percent, 100), used, total, percent,
    )


class PoolAdmin(CatalogModelAdmin):
    """Shared pool admin: the Allocate page and the utilisation column (pools are few, so the
    changelist computing each row's utilisation is a handful of grouped queries per pool)."""

    search_fields = ("name", "description")
    list_filter = ("tenant",)
    autocomplete_fields = ("tenant",)

    @admin.display(description="Utilisation")
    def utilization(self, pool):
        return utilization_bar(pool)

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<int:pk>/allocate/",
                self.admin_site.admin_view(self.allocate_view),
                name=f"{info[0]}_{info[1]}_allocate",
            ),
            *super().get_urls(),
        ]

    def allocate_view(self, request, pk):
        """Allocating writes the pool: a pool the user may not see is a 404, one they may not change a 403."""
        pool = self.get_visible_object_or_404(request, pk)
        self.require_write(request, pool, "change")
        form = AllocateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = self.allocate(pool, form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except allocation.AllocationError as exc:
                form.add_error(None, str(exc))
            else:
                verb = "Allocated" if result.created else "Already allocated:"
                self.message_user(request, f"{verb} {result.resource} for {form.cleaned_data['identifier']}.",
                                  messages.SUCCESS)
                info = self.model._meta.app_label, self.model._meta.model_name
                return redirect(reverse(f"admin:{info[0]}_{info[1]}_change", args=[pool.pk]))
        context = {**self.admin_site.each_context(request), "title": f"Allocate from {pool}", "form": form,
                   "pool": pool, "opts": self.model._meta}
        return TemplateResponse(request, "admin/ipam/allocate.html", context)

    @admin.display(description="Allocate")
    def allocate_link(self, pool):
        info = self.model._meta.app_label, self.model._meta.model_name
        url = reverse(f"admin:{info[0]}_{info[1]}_allocate", args=[pool.pk])
        return format_html('<a class="button" href="{}">Allocate</a>', url)


class LedgerInline(CatalogInline, admin.TabularInline):
    """A pool's allocations, read-only: they are made and released through the allocation service."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class NumberAllocationInline(LedgerInline):
    """A number ledger row names no tenant, only an identifier (often another customer's service):
    it is shown to those who may operate the pool, as in the API."""

    model = NumberAllocation
    fields = ("identifier", "value", "created")

    def has_view_permission(self, request, obj=None):
        return obj is None or access.for_request(request).can_write(obj, "change")


@admin.register(NumberPool)
class NumberPoolAdmin(PoolAdmin):
    list_display = ("name", "start", "end", "l2domain", "utilization", "allocate_link")
    autocomplete_fields = ("tenant", "l2domain")
    inlines = (NumberAllocationInline,)
    readonly_fields = ("utilization", "created", "last_updated")
    fieldsets = ((None, {"fields": ("name", "start", "end", "l2domain", "tenant", "description", "utilization")}),
                 METADATA_FIELDSET)

    def allocate(self, pool, data):
        return allocation.allocate_number(pool=pool, identifier=data["identifier"])


class PrefixPoolResourceInline(CatalogInline, admin.TabularInline):
    model = PrefixPoolResource
    extra = 1
    autocomplete_fields = ("prefix",)


class PrefixAllocationInline(LedgerInline):
    model = PrefixAllocation
    fields = ("identifier", "prefix", "created")


@admin.register(PrefixPool)
class PrefixPoolAdmin(PoolAdmin):
    list_display = ("name", "namespace", "default_prefix_length", "utilization", "allocate_link")
    autocomplete_fields = ("tenant", "namespace")
    inlines = (PrefixPoolResourceInline, PrefixAllocationInline)
    readonly_fields = ("utilization", "created", "last_updated")
    fieldsets = ((None, {"fields": ("name", "namespace", "default_prefix_length", "default_status", "default_role",
                                    "tenant", "description", "utilization")}), METADATA_FIELDSET)

    def allocate(self, pool, data):
        return allocation.allocate_prefix(pool=pool, identifier=data["identifier"],
                                          prefix_length=data.get("prefix_length"))


class IPAddressPoolResourceInline(CatalogInline, admin.TabularInline):
    model = IPAddressPoolResource
    extra = 1
    autocomplete_fields = ("prefix",)


class IPAddressAllocationInline(LedgerInline):
    model = IPAddressAllocation
    fields = ("identifier", "ip_address", "created")


@admin.register(IPAddressPool)
class IPAddressPoolAdmin(PoolAdmin):
    list_display = ("name", "default_status", "utilization", "allocate_link")
    inlines = (IPAddressPoolResourceInline, IPAddressAllocationInline)
    readonly_fields = ("utilization", "created", "last_updated")
    fieldsets = ((None, {"fields": ("name", "default_status", "tenant", "description", "utilization")}),
                 METADATA_FIELDSET)

    def allocate(self, pool, data):
        return allocation.allocate_ip_address(pool=pool, identifier=data["identifier"])

