"""Admin base classes shared by every app."""

from django.contrib import admin
from mptt.admin import DraggableMPTTAdmin

from .models import Token

METADATA_FIELDSET = ("Metadata", {"classes": ("collapse",), "fields": ("annotations", "created", "last_updated")})


class CatalogModelAdmin(admin.ModelAdmin):
    """Base admin: timestamps read-only, a metadata fieldset, a sensible page size."""

    list_per_page = 50
    readonly_fields = ("created", "last_updated")
    show_full_result_count = False


class CatalogTreeAdmin(DraggableMPTTAdmin, CatalogModelAdmin):
    """A tree admin (indented, drag-and-drop); moves still go through the locked tree save."""

    list_display_links = ("indented_title",)
    mptt_level_indent = 20
    expand_tree_by_default = True


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    """API tokens: listed by prefix; new keys come from ``manage.py create_token`` (shown once)."""

    list_display = ("prefix", "user", "description", "created", "expires", "last_used")
    list_filter = ("expires",)
    search_fields = ("prefix", "user__username", "description")
    readonly_fields = ("prefix", "created", "last_used")
    autocomplete_fields = ("user",)

    def has_add_permission(self, request):
        return False
