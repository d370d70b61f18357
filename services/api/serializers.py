"""Serializers of the services API.

Services and service types are written through ``services.services`` (never ``Model.save()``), so
that the rules and messages are the ones the admin shows. Domain refusals become DRF errors here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog_site import access
from catalog_site.api.exceptions import validation_error_detail
from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField, StrictInputMixin
from dcim.models import Location
from tenancy.models import Tenant

from .. import approvals, providers, runs, services
from ..lifecycle import Status
from ..models import Approval, GeneratorRun, Parameter, Provider, Service, ServiceResource, ServiceType
from ..schema import DefinitionErrors, normalise_type_definition
from ..selectors import deletion_blocker, documentation_sections

TYPE_DEFINITION_FIELDS = ("slug", "name", "description", "icon", "lifecycle", "generator", "attributes",
                          "annotations")
# Definition keys stored under another name: requires_approval is the type's approval_rule.
TYPE_DEFINITION_SOURCES = {"requires_approval": "approval_rule"}


def user_of(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class ParameterSerializer(BaseModelSerializer):
    """A named list of suggested values; ``values`` items are plain values or ``{label, value}``."""

    class Meta:
        model = Parameter
        fields = ("id", "url", "display", "name", "values", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name")


class ServiceTypeSerializer(BaseModelSerializer):
    """A service type with its full attribute metadata and its lifecycle.

    Writes go through ``service_type_save``: the definition is checked as a catalog file is, and a
    change that would strand existing services is refused. Types declared in ``services/catalog/``
    are rewritten from their file by the next ``load_catalog``.
    """

    attributes = serializers.JSONField(required=False)
    annotations = serializers.JSONField(required=False)
    requires_approval = serializers.JSONField(
        source="approval_rule", required=False,
        help_text='Whether delivering a service waits for an approval: true, false, or {"when": {attribute: '
                  '[values]}} (an approval when any listed attribute has one of its values).')
    lifecycle = serializers.CharField(required=False)
    lifecycle_transitions = serializers.SerializerMethodField()
    service_count = serializers.SerializerMethodField()

    class Meta:
        model = ServiceType
        fields = ("id", "url", "display", "slug", "name", "description", "icon", "lifecycle",
                  "lifecycle_transitions", "generator", "requires_approval", "attributes", "annotations", "source",
                  "service_count",
                  "created", "last_updated")
        read_only_fields = ("source",)
        brief_fields = ("id", "url", "display", "slug", "name")

    def get_lifecycle_transitions(self, obj) -> dict[str, list[str]]:
        return obj.get_lifecycle().describe()["transitions"]

    def get_service_count(self, obj) -> int:
        count = getattr(obj, "service_count", None)
        if count is None:  # a type just written: count what the caller may see, as the list does
            count = access.for_request(self.context.get("request")).restrict(obj.services.all()).count()
        return count

    def definition(self, attrs: dict, instance=None) -> dict:
        """The type definition a write asks for: the stored one with the fields sent applied."""
        definition = {name: getattr(instance, name) for name in TYPE_DEFINITION_FIELDS} if instance else {}
        definition |= {name: getattr(instance, source) for name, source in TYPE_DEFINITION_SOURCES.items()} \
            if instance else {}
        definition |= {name: attrs[name] for name in TYPE_DEFINITION_FIELDS if name in attrs}
        return definition | {name: attrs[source] for name, source in TYPE_DEFINITION_SOURCES.items() if source in attrs}

    def validate(self, attrs):
        # The definition is checked as a catalog file is (here, so that a bulk create reports each
        # item); service_type_save checks it again, with what existing services need, when saving.
        try:
            normalise_type_definition(self.definition(attrs, self.instance))
        except DefinitionErrors as exc:
            raise serializers.ValidationError(exc.by_field()) from exc
        return attrs

    def _save(self, validated_data, instance=None):
        try:
            service_type, _ = services.service_type_save(definition=self.definition(validated_data, instance),
                                                         instance=instance)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from exc
        return service_type

    def create(self, validated_data):
        return self._save(validated_data)

    def update(self, instance, validated_data):
        return self._save(validated_data, instance)


class ServiceTypeField(RelatedObjectField):
    """The service type of a service, written by id, ``{"id": n}`` or slug."""

    # What the OpenAPI schema adds to the id and {"id": n} a related object is written as.
    write_alternatives = ({"type": "string", "description": "The service type's slug."},)

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.isdigit():
            service_type = self.get_queryset().filter(slug=data).first()
            if service_type is None:
                raise serializers.ValidationError(f"No service type with slug {data!r}.")
            return service_type
        return super().to_internal_value(data)


class ServiceResourceSerializer(serializers.ModelSerializer):
    """An object a service owns: its role, its type (``app.model``), id and display name."""

    object_type = serializers.SerializerMethodField()
    display = serializers.SerializerMethodField()

    class Meta:
        model = ServiceResource
        fields = ("id", "role", "object_type", "object_id", "display", "created")

    def get_object_type(self, obj) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}"

    def get_display(self, obj) -> str:
        return str(obj.object) if obj.object is not None else f"(deleted {obj.object_id})"


class DocumentationSectionSerializer(serializers.Serializer):
    """A documentation attribute of a service, rendered: its name, its title and sanitised HTML."""

    name = serializers.CharField()
    title = serializers.CharField()
    html = serializers.CharField()


class ServiceSerializer(BaseModelSerializer):
    """A service.

    - ``service_type`` is written by id or slug; ``tenant`` and ``location`` (a site) by id.
    - ``attributes`` are checked against the type. On update they are *changes*: keys not sent are
      kept, ``null`` clears one, a value equal to the current one is accepted whatever its modifier.
    - ``version`` is required on update and must be the current one (else 409).
    - ``status`` changes only through ``POST /{id}/transition/``.
    - ``resources`` (owned objects) and ``documentation`` (sanitised HTML) are read-only.
    - ``finalizers`` change through the service layer too (a new version); ``deletion_blocked`` says why
      a service being deleted stays (its decommission failed), else null.
    """

    service_type = ServiceTypeField(serializer=ServiceTypeSerializer, queryset=ServiceType.objects.all())
    tenant = RelatedObjectField(serializer="tenancy.api.serializers.TenantSerializer", queryset=Tenant.objects.all())
    location = RelatedObjectField(serializer="dcim.api.serializers.LocationSerializer",
                                  queryset=Location.objects.all())
    status = serializers.CharField(read_only=True)
    version = serializers.IntegerField(required=False, min_value=1)
    attributes = serializers.JSONField(required=False)
    annotations = serializers.JSONField(required=False)
    resources = ServiceResourceSerializer(many=True, read_only=True)
    documentation = serializers.SerializerMethodField()
    deletion_blocked = serializers.SerializerMethodField()
    provider = RelatedObjectField(serializer="services.api.providers.ProviderSerializer",
                                  queryset=Provider.objects.all(), required=False, allow_null=True)
    provider_authorized = serializers.SerializerMethodField()
    pending_approval = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = ("id", "url", "display", "service_identifier", "account_reference", "service_type", "tenant",
                  "location", "provider", "provider_authorized", "status", "pending_approval", "version",
                  "attributes", "resources", "documentation", "description", "annotations", "deletion_blocked",
                  "created", "last_updated")
        brief_fields = ("id", "url", "display", "service_identifier", "status")

    # service_update refuses, while the service is being deleted, every change but the removal of finalizers.
    writes_while_deleting = True

    # A status sent equal to the current one passes (a body read and sent back); any other is refused.
    read_only_reasons = {"status": "The status changes only through POST /api/services/services/{id}/transition/."}

    @extend_schema_field(DocumentationSectionSerializer(many=True))
    def get_documentation(self, obj) -> list[dict]:
        return documentation_sections(obj)

    def get_deletion_blocked(self, obj) -> str | None:
        return deletion_blocker(obj)

    def get_pending_approval(self, obj) -> int | None:
        """The id of the approval the service waits for (``/api/services/approvals/{id}/``), or null."""
        if obj.status != Status.PENDING_APPROVAL:
            return None
        approval = approvals.pending_approval(obj)
        return approval.pk if approval else None

    def get_provider_authorized(self, obj) -> bool | None:
        """Whether the provider still acts for the tenant (false once the authorization is revoked); null if none."""
        if obj.provider_id is None:
            return None
        known = getattr(obj, "provider_authorized", None)
        if known is None:
            known = providers.covering_authorizations(obj.tenant).filter(provider=obj.provider_id).exists()
        return known

    def validate_attributes(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object of attribute values.")
        return value

    def validate_annotations(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object.")
        return value

    def validate(self, attrs):
        if self.instance is None:
            attrs.pop("version", None)
            try:
                # Checked here (not only in create()) so that a bulk create reports each item's errors.
                services.service_validate_create(**attrs)
            except services.ServiceValidationError as exc:
                raise serializers.ValidationError(exc.api_detail()) from exc
        elif "version" not in attrs:
            raise serializers.ValidationError({"version": ["Send the version you read: every update is checked "
                                                           "against the current version."]})
        elif attrs.pop("provider", self.instance.provider) != self.instance.provider:
            raise serializers.ValidationError({"provider": ["The provider is chosen when the service is ordered; "
                                                            "it follows a change of tenant or site by itself."]})
        return attrs

    def create(self, validated_data):
        try:
            return services.service_create(user=user_of(self), **validated_data)
        except services.ServiceValidationError as exc:
            raise serializers.ValidationError(exc.api_detail()) from exc

    def update(self, instance, validated_data):
        version = validated_data.pop("version")
        try:
            return services.service_update(service=instance, version=version, user=user_of(self), **validated_data)
        except services.ServiceValidationError as exc:
            raise serializers.ValidationError(exc.api_detail()) from exc


class TransitionSerializer(StrictInputMixin, serializers.Serializer):
    """The body of ``POST /services/{id}/transition/``: the status wanted and the version read."""

    to = serializers.ChoiceField(choices=Status.choices)
    version = serializers.IntegerField(min_value=1)
    message = serializers.CharField(required=False, allow_blank=True, max_length=300)


class GeneratorRunSerializer(BaseModelSerializer):
    """A generator run (read-only): what it was asked to do, how it went, its log and its changes.

    ``log`` is live while the run works (read from the cache its worker writes to), stored once it ends.
    """

    service = RelatedObjectField(serializer=ServiceSerializer, read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reverted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    log = serializers.SerializerMethodField()
    change_count = serializers.SerializerMethodField()

    class Meta:
        model = GeneratorRun
        fields = ("id", "url", "display", "service", "action", "status", "attempts", "error", "change_count",
                  "changes", "log", "requested_by", "queued_at", "started_at", "finished_at", "duration", "task_id",
                  "reverted_at", "reverted_by")
        read_only_fields = fields
        brief_fields = ("id", "url", "display", "action", "status")

    def get_log(self, obj) -> list[str]:
        return runs.live_log(obj)

    def get_change_count(self, obj) -> int:
        return len(obj.changes)


class ApprovalSerializer(BaseModelSerializer):
    """An approval (read-only): the service waiting, the plan shown (``plan_changes``: what delivering it
    would change), who asked, who decided and why. Decided through ``POST /{id}/approve/`` and ``/reject/``.

    ``service_status`` is the service's status now: in-delivery (or further) once approved, back to
    draft, active or failed once rejected.
    """

    service = RelatedObjectField(serializer=ServiceSerializer, read_only=True)
    service_status = serializers.CharField(source="service.status", read_only=True)
    plan_run = RelatedObjectField(serializer=GeneratorRunSerializer, read_only=True)
    apply_run = RelatedObjectField(serializer=GeneratorRunSerializer, read_only=True)
    plan_status = serializers.SerializerMethodField()
    plan_error = serializers.SerializerMethodField()
    plan_changes = serializers.SerializerMethodField()
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Approval
        fields = ("id", "url", "display", "service", "service_status", "status", "from_status", "service_version",
                  "plan_run", "plan_status", "plan_error", "plan_changes", "apply_run", "requested_by",
                  "requested_at", "decided_by", "decided_at", "comment", "superseded_reason")
        read_only_fields = fields
        brief_fields = ("id", "url", "display", "status")

    def get_plan_status(self, obj) -> str | None:
        """The plan's status: succeeded, or failed (``plan_error`` says why delivering would fail now)."""
        return obj.plan_run.status if obj.plan_run else None

    def get_plan_error(self, obj) -> str:
        return obj.plan_run.error if obj.plan_run else ""

    def get_plan_changes(self, obj) -> list[dict]:
        """What the plan would change: ``{"action", "model", "id", "display", "fields": {name: [old, new]}}``."""
        return obj.plan_run.changes if obj.plan_run else []


class ApprovalDecisionSerializer(StrictInputMixin, serializers.Serializer):
    """The body of ``POST /approvals/{id}/approve/`` (optional comment) and ``/reject/`` (comment: the reason)."""

    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)
