"""Webhooks in the admin: the webhooks (their secret write-only) and the delivery log, read-only.

A tenant's webhooks are seen by its members and managed by its admins; global webhooks (no tenant),
and their deliveries, by superusers only. A webhook's page shows its latest deliveries, linked to the
delivery log filtered on it; the log has an action that sends failed deliveries again.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from . import webhooks
from .admin import CatalogModelAdmin, rights
from .models import Webhook, WebhookDelivery

GLOBAL_REFUSED = "Only a superuser may make a global webhook (one without a tenant): choose a tenant."
RECENT_DELIVERIES = 10


class WebhookForm(forms.ModelForm):
    """The secret is never shown: left empty it stays as it is; "Remove the secret" clears it."""

    payload_url = forms.CharField(max_length=500, label="Payload URL",  # checked by the model, with its reasons
                                  help_text=Webhook._meta.get_field("payload_url").help_text)
    secret = forms.CharField(required=False, max_length=200, widget=forms.PasswordInput(render_value=False),
                             help_text="Signs each delivery (X-Catalog-Signature-256). Never shown; leave empty "
                                       "to keep the current one.")
    remove_secret = forms.BooleanField(required=False, label="Remove the secret")

    class Meta:
        model = Webhook
        fields = ("name", "payload_url", "events", "conditions", "secret", "remove_secret", "enabled", "tenant")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kept_secret = self.instance.secret if self.instance.pk is not None else ""
        self.initial["secret"] = ""

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("remove_secret"):
            cleaned_data["secret"] = ""
        elif not cleaned_data.get("secret"):
            cleaned_data["secret"] = self.kept_secret
        return cleaned_data


def deliveries_url(webhook=None, **params) -> str:
    if webhook is not None:
        params["webhook__id__exact"] = webhook.pk
    url = reverse("admin:catalog_site_webhookdelivery_changelist")
    return f"{url}?{urlencode(params)}" if params else url


@admin.register(Webhook)
class WebhookAdmin(CatalogModelAdmin):
    """Webhooks: a tenant's are managed by its admins, global ones by superusers."""

    form = WebhookForm
    list_display = ("name", "payload_url", "events_shown", "tenant", "enabled", "secret_set", "deliveries_link")
    list_filter = ("enabled", "tenant")
    search_fields = ("name", "payload_url")
    readonly_fields = ("recent_deliveries", "created", "last_updated")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if rights(request).unrestricted else queryset.filter(tenant__isnull=False)

    def get_fieldsets(self, request, obj=None):
        fields = ["name", "payload_url", "events", "conditions", "secret"]
        if obj is not None and obj.secret:
            fields.append("remove_secret")
        fields += ["enabled", "tenant"]
        sets = [(None, {"fields": fields})]
        if obj is not None:
            sets.append(("Deliveries", {"fields": ("recent_deliveries",)}))
        sets.append(("Metadata", {"classes": ("collapse",), "fields": ("created", "last_updated")}))
        return sets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        tenant = form.base_fields.get("tenant")
        if tenant is not None and not request.user.is_superuser:
            tenant.required = True
            tenant.error_messages = {**tenant.error_messages, "required": GLOBAL_REFUSED}
        return form

    @admin.display(description="Events")
    def events_shown(self, obj):
        return ", ".join(obj.events or ())

    @admin.display(description="Secret", boolean=True)
    def secret_set(self, obj):
        return bool(obj.secret)

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj):
        return format_html('<a href="{}">Deliveries</a>', deliveries_url(obj))

    @admin.display(description="Latest deliveries")
    def recent_deliveries(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        latest = list(obj.deliveries.order_by("-pk")[:RECENT_DELIVERIES])
        if not latest:
            return format_html('<p class="help">{}</p>', "No delivery yet.")
        row = '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>'
        rows = format_html_join("", row, (
            (reverse("admin:catalog_site_webhookdelivery_change", args=[d.pk]), d.pk, d.event, d.status,
             d.response_code if d.response_code is not None else "-", d.attempts) for d in latest))
        return format_html('<table><thead><tr><th>Delivery</th><th>Event</th><th>Status</th><th>Answer</th>'
                           '<th>Attempts</th></tr></thead><tbody>{}</tbody></table><p><a href="{}">All deliveries'
                           "</a></p>", rows, deliveries_url(obj))


@admin.action(description="Send the selected failed deliveries again")
def redeliver_selected(modeladmin, request, queryset):
    """A new delivery of each failed one, to a webhook the user may change (the others are reported, not sent)."""
    viewer = rights(request)
    sent, skipped = 0, []
    with transaction.atomic():
        for delivery in queryset.select_related("webhook"):
            if delivery.status != WebhookDelivery.Status.FAILED or not delivery.webhook.enabled:
                skipped.append(f"#{delivery.pk} ({delivery.status})")
                continue
            try:
                viewer.check_write(delivery.webhook, "change")
            except (PermissionDenied, ValidationError):
                skipped.append(f"#{delivery.pk} (you may not change its webhook)")
                continue
            webhooks.redeliver(delivery)
            sent += 1
    if sent:
        modeladmin.message_user(request, f"{sent} deliveries sent again.", messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, "Not sent again (only failed deliveries of enabled webhooks you may change): "
                                         + ", ".join(skipped), messages.WARNING)


class WebhookListFilter(admin.RelatedFieldListFilter):
    """The webhooks the user may see: a global one is not shared infrastructure, superusers only see it."""

    def field_choices(self, field, request, model_admin):
        queryset = rights(request).restrict(Webhook.objects.order_by("name"))
        if not rights(request).unrestricted:
            queryset = queryset.filter(tenant__isnull=False)
        return [(webhook.pk, str(webhook)) for webhook in queryset]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(CatalogModelAdmin):
    """The delivery log, read-only, newest first."""

    list_display = ("__str__", "webhook", "event", "status", "response_code", "attempts", "created",
                    "next_attempt_at", "delivered_at")
    list_filter = ("status", "event", ("webhook", WebhookListFilter))
    list_select_related = ("webhook",)
    search_fields = ("event", "webhook__name", "error")
    ordering = ("-pk",)
    actions = (redeliver_selected,)
    fields = ("webhook", "event", "status", "attempts", "response_code", "response_excerpt", "error",
              "next_attempt_at", "created", "delivered_at", "payload")
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if rights(request).unrestricted else queryset.filter(webhook__tenant__isnull=False)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return bool(request.user.is_active and request.user.is_superuser)
