"""Admin of tenants (a draggable tree) and memberships; a membership is written by an admin of its tenant."""

from django.contrib import admin

from catalog_site.admin import METADATA_FIELDSET, CatalogInline, CatalogModelAdmin, CatalogTreeAdmin

from .models import Membership, Tenant


class MembershipInline(CatalogInline, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Tenant)
class TenantAdmin(CatalogTreeAdmin):
    list_display = ("tree_actions", "indented_title", "slug", "description")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    inlines = (MembershipInline,)
    fieldsets = ((None, {"fields": ("name", "slug", "parent", "description")}), METADATA_FIELDSET)


@admin.register(Membership)
class MembershipAdmin(CatalogModelAdmin):
    list_display = ("user", "tenant", "role", "created")
    list_filter = ("role",)
    search_fields = ("user__username", "tenant__name")
    autocomplete_fields = ("user", "tenant")
