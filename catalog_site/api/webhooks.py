"""The webhooks API: ``/api/core/webhooks/`` and their delivery log, ``/api/core/webhook-deliveries/``.

A webhook (``catalog_site.events``, ``catalog_site.webhooks``) has a ``name``, the ``payload_url`` events are
POSTed to (NetBox's name: ``url`` is every object's link in the API), the ``events`` it receives, optional
``conditions`` on the payload, a ``secret`` that signs each delivery (write-only: it is never read back;
``secret_set`` says whether there is one; omitted on update it stays) and ``enabled``.

Scope: a webhook with a ``tenant`` receives the events of the tenant's subtree and is seen and managed
by the tenant's admins (viewers and editors of the tenant see it too; only admins write it). A global
webhook (no tenant) receives every event: only superusers see and manage those.

Deliveries are read-only: ``?webhook_id=``, ``?status=``, ``?event=``. ``POST
/api/core/webhook-deliveries/{id}/redeliver/`` sends a failed delivery again, as a new delivery (202).
"""

import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog_site import access, webhooks
from catalog_site.events import EVENTS
from catalog_site.filtersets import BaseFilterSet, IdInFilter
from catalog_site.models import Webhook, WebhookDelivery
from tenancy.models import Tenant

from .exceptions import Conflict, read_after_commit
from .serializers import BaseModelSerializer, RelatedObjectField
from .views import CatalogModelViewSet

TENANT_SERIALIZER = "tenancy.api.serializers.TenantSerializer"
GLOBAL_REFUSED = "Only a superuser may make a global webhook (one without a tenant): choose a tenant."
SCALAR = {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True}


@extend_schema_field({"type": "array", "items": {"type": "string"}, "minItems": 1,
                      "description": "Event names (" + ", ".join(EVENTS) + "), a family (object.*) or * for all."})
class EventsField(serializers.JSONField):
    """The events a webhook receives: checked by the model (names, families, *)."""


@extend_schema_field({"type": "object", "additionalProperties": {"oneOf": [SCALAR, {"type": "array",
                                                                                   "items": SCALAR}]}})
class ConditionsField(serializers.JSONField):
    """``{"path.in.payload": value or [values]}``: checked by the model."""


class WebhookSerializer(BaseModelSerializer):
    """A webhook; ``secret`` is write-only (``secret_set`` says whether it has one)."""

    # Text: the model checks the URL and says why one is refused (scheme, host, address), in one message.
    payload_url = serializers.CharField(max_length=500, help_text="Where the events are POSTed: an http:// or "
                                                                  "https:// URL of a public address.")
    events = EventsField(help_text="The events it receives: names, a family (run.*) or * for all.")
    conditions = ConditionsField(required=False, help_text='{"path.in.payload": value or [values]}: every one must '
                                                           "hold for an event to be sent (none: every event).")
    secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=200,
                                   style={"input_type": "password"},
                                   help_text="Signs each delivery (X-Catalog-Signature-256). Write-only; left out "
                                             "on update it stays, empty removes it.")
    secret_set = serializers.SerializerMethodField(help_text="Whether the webhook has a secret.")
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), required=False,
                                allow_null=True, help_text="Receives only the events of this tenant's subtree; "
                                                           "null: every event (superusers only).")

    class Meta:
        model = Webhook
        fields = ("id", "url", "display", "name", "payload_url", "events", "conditions", "secret", "secret_set",
                  "enabled", "tenant", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name")

    def get_fields(self):
        fields = super().get_fields()
        if "url" in fields:
            fields["url"] = serializers.HyperlinkedIdentityField(view_name="core-api:webhook-detail")
        return fields

    def get_secret_set(self, obj) -> bool:
        return bool(obj.secret)

    def validate(self, attrs):
        tenant = attrs["tenant"] if "tenant" in attrs else getattr(self.instance, "tenant", None)
        if tenant is None and not access.for_request(self.context.get("request")).unrestricted:
            raise serializers.ValidationError({"tenant": [GLOBAL_REFUSED]})
        return super().validate(attrs)


class WebhookDeliverySerializer(BaseModelSerializer):
    """One event sent (or to send) to one webhook, with its attempts and the receiver's last answer."""

    webhook = RelatedObjectField(serializer=WebhookSerializer, read_only=True)
    payload = serializers.JSONField(read_only=True, help_text="The event as it is sent (the body, as JSON).")

    class Meta:
        model = WebhookDelivery
        fields = ("id", "url", "display", "webhook", "event", "status", "attempts", "response_code",
                  "response_excerpt", "error", "next_attempt_at", "created", "delivered_at", "payload")
        read_only_fields = fields
        brief_fields = ("id", "url", "display", "event", "status")

    def get_fields(self):
        fields = super().get_fields()
        if "url" in fields:
            fields["url"] = serializers.HyperlinkedIdentityField(view_name="core-api:webhookdelivery-detail")
        return fields


# -- filters ----------------------------------------------------------------------------------------------

class WebhookFilterSet(BaseFilterSet):
    """``?name=``, ``?enabled=``, ``?tenant_id=``, ``?q=`` (name or payload URL contains)."""

    search_fields = ("name", "payload_url")

    class Meta:
        model = Webhook
        fields = {"name": ["exact"], "enabled": ["exact"]}


class WebhookDeliveryFilterSet(BaseFilterSet):
    """``?webhook_id=``, ``?status=``, ``?event=`` (several allowed each), ``?q=`` (event contains)."""

    webhook_id = IdInFilter(field_name="webhook_id", label="Webhook id (several: comma-separated or repeated)")
    status = django_filters.MultipleChoiceFilter(choices=WebhookDelivery.Status.choices)
    event = django_filters.MultipleChoiceFilter(choices=[(name, name) for name in EVENTS])
    search_fields = ("event",)

    class Meta:
        model = WebhookDelivery
        fields = ()


# -- views ---------------------------------------------------------------------------------------------------

class WebhookViewSet(CatalogModelViewSet):
    """Webhooks: a tenant's are managed by its admins; global ones (no tenant) by superusers only."""

    queryset = Webhook.objects.select_related("tenant")
    serializer_class = WebhookSerializer
    filterset_class = WebhookFilterSet
    ordering_fields = ("id", "name", "enabled", "created", "last_updated")

    def get_queryset(self):
        queryset = super().get_queryset()
        # The access rules would show a webhook without a tenant as shared infrastructure: it is not.
        return queryset if self.access.unrestricted else queryset.filter(tenant__isnull=False)


class WebhookDeliveryViewSet(CatalogModelViewSet):
    """The delivery log, newest first (read-only); ``POST /{id}/redeliver/`` sends a failed delivery again."""

    queryset = WebhookDelivery.objects.select_related("webhook__tenant")
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet
    ordering_fields = ("id", "created", "next_attempt_at", "delivered_at", "attempts")
    http_method_names = ["get", "head", "options"]  # read-only; redeliver takes POST (its own methods)

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset if self.access.unrestricted else queryset.filter(webhook__tenant__isnull=False)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], http_method_names=["post", "options"])
    def redeliver(self, request, pk=None):
        """Send a failed delivery again: a new delivery of the same event and payload to its webhook (202 with it).

        Needs the right to change the webhook (an admin of its tenant). A delivery that has not failed is a 409.
        """
        delivery = self.get_object()
        self.access.check_write(delivery.webhook, "change")
        if delivery.status != WebhookDelivery.Status.FAILED:
            raise Conflict({"detail": f"Only a failed delivery is sent again; this one is {delivery.status}."})
        if not delivery.webhook.enabled:
            raise Conflict({"detail": f"The webhook {delivery.webhook} is disabled: enable it first."})

        def read():
            return self.get_serializer(self.get_queryset().get(pk=again.pk)).data

        with transaction.atomic():
            again = webhooks.redeliver(delivery)
            committed = read()
        return Response(read_after_commit(read, committed), status=status.HTTP_202_ACCEPTED)
