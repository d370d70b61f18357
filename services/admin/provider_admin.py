"""Admin of resource providers: their availability, the authorizations they hold, the services they fulfil."""

from django import forms
from django.contrib import admin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog_site import access
from catalog_site.admin import METADATA_FIELDSET, CatalogInline, CatalogModelAdmin
from tenancy.models import Tenant

from .. import providers
from ..models import Provider, ProviderAuthorization


class ProviderForm(forms.ModelForm):
    """Availability stays within the owner's subtree (the rule the API applies too)."""

    def clean(self):
        cleaned = super().clean()
        owner = cleaned.get("owner")
        errors = providers.availability_errors(owner, cleaned.get("available_to") or [])
        for field, messages in errors.items():
            self.add_error(field, messages)
        return cleaned


class AuthorizationInline(CatalogInline, admin.TabularInline):
    """Who authorized the provider: read here, granted and revoked on the authorizations page."""

    model = ProviderAuthorization
    fields = ("tenant", "scope", "created")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Provider)
class ProviderAdmin(CatalogModelAdmin):
    """Providers: made available by an admin of the owner tenant, to sub-tenants and at named locations."""

    form = ProviderForm
    list_display = ("name", "owner", "type_list", "available_to_list", "location_count", "authorization_list")
    list_select_related = ("owner",)
    search_fields = ("name", "slug", "description")
    filter_horizontal = ("service_types", "available_to", "available_in")
    autocomplete_fields = ("owner",)
    inlines = (AuthorizationInline,)
    fieldsets = (
        (None, {"fields": ("name", "slug", "owner", "service_types", "description", "service_account")}),
        ("Availability", {"fields": ("available_to", "available_in"),
                          "description": "Tenants of the owner's subtree that may authorize it, and the locations "
                                         "where it delivers. A location is not inherited: name each site."}),
        ("Services", {"fields": ("service_table",)}),
        METADATA_FIELDSET,
    )
    readonly_fields = ("service_account", "service_table", "created", "last_updated")

    def get_queryset(self, request):
        # The list shows only the tenants and authorizations the viewer may see.
        viewer = access.for_request(request)
        return super().get_queryset(request).prefetch_related(
            "service_types", "available_in",
            Prefetch("available_to", queryset=viewer.restrict(Tenant.objects.all())),
            Prefetch("authorizations", queryset=viewer.restrict(
                ProviderAuthorization.objects.select_related("tenant"))))

    @admin.display(description="Service types")
    def type_list(self, obj):
        return ", ".join(service_type.name for service_type in obj.service_types.all())

    @admin.display(description="Available to")
    def available_to_list(self, obj):
        return ", ".join(tenant.name for tenant in obj.available_to.all())

    @admin.display(description="Locations")
    def location_count(self, obj):
        return len(obj.available_in.all())

    @admin.display(description="Authorized by")
    def authorization_list(self, obj):
        return ", ".join(f"{row.tenant.name} ({row.scope})" for row in obj.authorizations.all())

    @admin.display(description="Services it fulfils")
    def service_table(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        viewer = getattr(obj, "viewer_access", access.ANONYMOUS)
        rows = list(providers.with_authorization(viewer.restrict(
            obj.services.select_related("tenant")).order_by("service_identifier"))[:50])
        if not rows:
            return format_html('<p class="help">{}</p>', "None that you can see.")
        body = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>', (
            (reverse("admin:services_service_change", args=[row.pk]), row.service_identifier, row.tenant,
             row.status, "yes" if row.provider_authorized else "no: the authorization was revoked") for row in rows))
        return format_html("<table><thead><tr><th>Service</th><th>Tenant</th><th>Status</th><th>Authorized</th>"
                           "</tr></thead><tbody>{}</tbody></table>", body)


class AuthorizationForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            for field, messages in providers.authorization_errors(cleaned.get("provider"),
                                                                  cleaned.get("tenant")).items():
                self.add_error(field, messages)
        return cleaned


@admin.register(ProviderAuthorization)
class ProviderAuthorizationAdmin(CatalogModelAdmin):
    """Authorizations: an admin of a tenant authorizes a provider available to it, or revokes (deletes) it."""

    form = AuthorizationForm
    list_display = ("provider", "tenant", "scope", "created")
    list_filter = ("scope",)
    list_select_related = ("provider", "tenant")
    search_fields = ("provider__name", "tenant__name")
    autocomplete_fields = ("tenant",)
    fields = ("provider", "tenant", "scope")

    def get_readonly_fields(self, request, obj=None):
        # An authorization does not move: revoke it and authorize anew.
        return ("provider", "tenant", "created", "last_updated") if obj is not None else ("created", "last_updated")
