"""Service types (the catalog), parameters, services, the resources they own and their lifecycle log.

Writes go through ``services.services``: it enforces attribute modifiers, the lifecycle and the
optimistic version check, so that the API and the admin refuse the same things with the same words.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q

from catalog_site.access import ADMIN
from catalog_site.models import ChangeTrackedModel, PrimaryModel

from .lifecycle import LIFECYCLES, Status, get_lifecycle
from .schema import DefinitionError, approval_required, normalise_suggestion_values

identifier_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    "Use letters, digits, dots, dashes and underscores, starting with a letter or digit.",
)
dotted_path_validator = RegexValidator(
    r"^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)+$", "Give a dotted Python path (package.module.Class)."
)


class ServiceType(PrimaryModel):
    """A kind of service customers can order (Dedicated Internet), declared as data.

    ``attributes`` holds the attribute definitions, normalised by ``services.schema``: name, label,
    kind, description, modifier (``r``/``rw``/``rw+``), required, default, choices and annotations
    (``web_*`` keys drive the admin). Types come from the YAML files of ``services/catalog/``
    (``manage.py load_catalog``) or from the API; both go through ``services.service_type_save``,
    which refuses a definition that would strand existing services.
    """

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100, unique=True)
    icon = models.CharField(
        max_length=50, blank=True,
        help_text="A shipped icon name (services/static/services/icons: globe) or a short text such as an emoji.",
    )
    lifecycle = models.CharField(max_length=50, default="default", choices=[(name, name) for name in LIFECYCLES])
    generator = models.CharField(
        max_length=200, blank=True, validators=[dotted_path_validator],
        help_text="Dotted path of the generator class that provisions services of this type.",
    )
    attributes = models.JSONField(default=list, blank=True)
    approval_rule = models.JSONField(
        default=bool, blank=True,
        help_text='Whether delivering a service needs an approval: true, false, or {"when": {attribute: [values]}} '
                  "(the definition's requires_approval).")
    source = models.CharField(max_length=200, blank=True, editable=False,
                              help_text="The catalog file this type was last loaded from.")

    class Meta:
        ordering = ["name"]

    def get_lifecycle(self):
        return get_lifecycle(self.lifecycle)

    def requires_approval(self, attributes: dict) -> bool:
        """Whether delivering a service of this type with ``attributes`` needs a plan approved first."""
        return approval_required(self.approval_rule, attributes)

    def attribute_map(self) -> dict[str, dict]:
        """The attribute definitions by name, in declaration order."""
        return {attribute["name"]: attribute for attribute in self.attributes}


class Parameter(PrimaryModel):
    """A named list of values (with a description and annotations) that feeds suggestion lists.

    External systems and generators keep it current through ``/api/services/parameters/``; an
    attribute annotated ``web_suggested_values: {type: parameters, parameter_name: NAME}`` offers
    its values in the admin, read live at each form. Values are plain or ``{label, value}``.
    """

    name = models.SlugField(max_length=100, unique=True)
    values = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def clean(self):
        super().clean()
        try:
            normalise_suggestion_values(self.values)
        except DefinitionError as exc:
            raise ValidationError({"values": exc.reason}) from exc


SERVICE_ACCOUNT_PREFIX = "provider-"


def service_account_name(slug: str) -> str:
    """The user name of the service account of the provider ``slug``."""
    return f"{SERVICE_ACCOUNT_PREFIX}{slug}"[:150]


def create_service_account(provider: "Provider"):
    """A user for the provider's runs: no password, no staff flag, no membership."""
    user = get_user_model()(username=service_account_name(provider.slug), is_active=True,
                            first_name=provider.name[:150])
    user.set_unusable_password()
    user.save()
    return user


class Provider(PrimaryModel):
    """Who fulfils service types (from Infratographer): available -> authorized -> ordered.

    The owner tenant makes the provider available to tenants of its own subtree (``available_to``)
    and at locations (``available_in``; never inherited down the location tree: a provider
    available in a metro is not available at the metro's sites unless they are named). A tenant to
    which it is available authorizes it (``ProviderAuthorization``), for itself or its subtree. A
    service is ordered only where a provider of its type is available and authorized
    (``services.providers``). The provider's runs act as its ``service_account``, a user created
    with it that holds no membership: its access is the subtrees of the tenants that authorized it.
    """

    tenant_access_path = "owner"
    tenant_write_role = ADMIN

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    owner = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="owned_providers",
                              help_text="The tenant that runs the provider; its admins manage it.")
    service_types = models.ManyToManyField(ServiceType, related_name="providers", blank=True,
                                           help_text="The service types it fulfils.")
    available_to = models.ManyToManyField(
        "tenancy.Tenant", related_name="available_providers", blank=True,
        help_text="Tenants of the owner's subtree that may authorize it.")
    available_in = models.ManyToManyField(
        "dcim.Location", related_name="available_providers", blank=True,
        help_text="Locations where it delivers: only those named, not the locations under them.")
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_provider", editable=False,
        blank=True,
        help_text="The user its runs act as; created with the provider.")

    class Meta:
        ordering = ["name"]

    def clean(self):
        super().clean()
        if self.service_account_id is None and self.slug and get_user_model()._default_manager.filter(
                username=service_account_name(self.slug)).exists():
            raise ValidationError({"slug": f"The user name {service_account_name(self.slug)} of its service "
                                           "account is taken: choose another slug."})

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if self.service_account_id is None:
                self.service_account = create_service_account(self)
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            account = self.service_account
            result = super().delete(*args, **kwargs)
            account.delete()
        return result

    @classmethod
    def access_extra_q(cls, tenant_ids, prefix: str = "") -> Q:
        """Beyond the owner's subtree: the tenants it is available to and those whose services it fulfils."""
        ids = sorted(tenant_ids)
        return (Q(**{f"{prefix}pk__in": cls.available_to.through.objects.filter(tenant_id__in=ids)
                     .values("provider_id")})
                | Q(**{f"{prefix}pk__in": Service.objects.filter(tenant_id__in=ids, provider__isnull=False)
                       .values("provider_id")}))


class ProviderAuthorization(ChangeTrackedModel):
    """A tenant's consent that a provider acts for it: for the tenant alone or its whole subtree.

    Only an admin of the tenant grants or revokes it (deleting the row revokes it). The provider's
    owner sees the authorizations of its providers.
    """

    tenant_write_role = ADMIN

    class Scope(models.TextChoices):
        TENANT = "tenant", "This tenant only"
        SUBTREE = "subtree", "This tenant and its sub-tenants"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="authorizations")
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="provider_authorizations")
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.TENANT)

    class Meta:
        ordering = ["provider__name", "tenant__name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "tenant"], name="services_authorization_unique_provider_tenant",
                                    violation_error_message="This tenant has already authorized this provider.")
        ]

    def __str__(self):
        return f"{self.provider} authorized by {self.tenant} ({self.scope})"

    @classmethod
    def access_extra_q(cls, tenant_ids, prefix: str = "") -> Q:
        """The provider's owner sees who authorized its provider."""
        return Q(**{f"{prefix}provider__owner__in": sorted(tenant_ids)})


class Service(PrimaryModel):
    """One customer's instance of a service type, at a site, with its attribute values.

    ``version`` implements optimistic concurrency as in Inmanta LSM: every write names the version
    it read, a stale one is refused, and every accepted write increments it. ``status`` moves only
    along the type's lifecycle (``services.service_transition``).
    """

    service_identifier = models.CharField(
        max_length=100, unique=True, validators=[identifier_validator],
        help_text="Unique identifier of the service; generators key their allocations on it.",
    )
    account_reference = models.CharField(max_length=100, blank=True,
                                         help_text="The customer's account or contract reference.")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="services")
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.PROTECT, related_name="services")
    location = models.ForeignKey("dcim.Location", on_delete=models.PROTECT, related_name="services",
                                 help_text="The site where the service is delivered.")
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.DRAFT)
    attributes = models.JSONField(default=dict, blank=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, null=True, blank=True, related_name="services",
                                 help_text="The provider that fulfils the service, chosen when it is ordered.")
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["service_identifier"]
        indexes = [models.Index(fields=["status"], name="services_service_status")]
        permissions = [("approve_service", "Can approve service plans")]

    def __str__(self):
        return self.service_identifier

    def clean(self):
        super().clean()
        if self.location_id is not None and self.location.kind != "site":
            raise ValidationError(
                {"location": f"A service is delivered at a site, not at a {self.location.get_kind_display().lower()}."}
            )

    @property
    def lifecycle(self):
        return self.service_type.get_lifecycle()


class ServiceResource(models.Model):
    """An object owned by a service (a VLAN, a prefix, an interface), with the role it plays.

    Generators record what they produce here and delete what they no longer produce (or, for a
    shared object such as a switch port, give it back with ``give_back``); the row is the ownership
    record, so an object is owned at most once per service and role. A service that still owns
    resources cannot be deleted.
    """

    tenant_access_path = "service__tenant"

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="resources")
    role = models.CharField(max_length=50)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    object = GenericForeignKey("content_type", "object_id")
    give_back = models.JSONField(
        null=True, blank=True,
        help_text="For a shared object the service only claims (a switch port): the field values that give it "
                  "back when the service no longer needs it. Empty for an object the service owns outright, "
                  "which is deleted instead.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service_id", "role", "pk"]  # by column: no join to the service
        indexes = [models.Index(fields=["content_type", "object_id"], name="services_resource_object")]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "role", "content_type", "object_id"],
                name="services_resource_unique_service_role_object",
                violation_error_message="This service already owns this object in this role.",
            )
        ]

    def __str__(self):
        return f"{self.service} {self.role}: {self.content_type.app_label}.{self.content_type.model} {self.object_id}"


class LifecycleEvent(models.Model):
    """One entry of a service's history: an order, a transition or an update, and who asked for it."""

    record_changes = False  # itself a history (of the service's statuses)

    tenant_access_path = "service__tenant"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30)
    version = models.PositiveIntegerField(help_text="The service's version after the event.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    message = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.service}: {self.from_status or '-'} -> {self.to_status} (v{self.version})"


class GeneratorRun(models.Model):
    """One run of a service's generator: what was asked, how it went, and what it changed.

    A run is one database transaction (``services.runs.execute_run``): it succeeds entirely or leaves
    nothing behind. ``changes`` lists what it did, one entry per object:
    ``{"action": "created"|"updated"|"deleted"|"released", "model": "ipam.vlan", "id": 7,
    "display": "...", "fields": {"name": [old, new]}}``. A ``plan`` run computes the same list and
    rolls back. While a run works its log lines live in the cache (see ``services.runs.RunLog``),
    so that other connections can follow it; they are stored here when it ends.
    """

    record_changes = False  # bookkeeping of the run that groups its changes

    tenant_access_path = "service__tenant"

    class Action(models.TextChoices):
        PROVISION = "provision", "Provision"
        DECOMMISSION = "decommission", "Decommission"
        RECONCILE = "reconcile", "Reconcile"
        PLAN = "plan", "Plan (dry run)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="generator_runs")
    action = models.CharField(max_length=20, choices=Action.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    log = models.JSONField(default=list, blank=True, help_text="The run's log lines, stored when it ends.")
    changes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.DurationField(null=True, blank=True, help_text="Time of the last attempt.")
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True, help_text="The Celery task that executes the run.")
    reverted_at = models.DateTimeField(null=True, blank=True, help_text="When the run's changes were reverted.")
    reverted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["service", "-id"], name="services_run_service"),
            models.Index(fields=["status"], name="services_run_status"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} run #{self.pk} of {self.service}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class Approval(models.Model):
    """A request to deliver a service whose type asks for an approval, with the plan it was shown.

    Created when such a service is asked to enter in-delivery (``services.approvals``): the service
    waits in pending-approval, and the plan (a dry run: ``plan_run``) says what delivering it would
    change. Approving moves it to in-delivery; its provision run (``apply_run``) compares what it
    does with the plan and, if they differ, applies nothing and asks for a new approval (this one is
    then superseded). Rejecting sends the service back to ``from_status``.
    """

    record_changes = False  # itself a history (of the decisions), like the lifecycle events

    tenant_access_path = "service__tenant"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="approvals")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    plan_run = models.ForeignKey(GeneratorRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 help_text="The plan (dry run) shown to the approver.")
    apply_run = models.ForeignKey(GeneratorRun, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="applied_approvals",
                                  help_text="The provision run that applies the approved plan.")
    from_status = models.CharField(max_length=30, help_text="Where the service was: where a rejection sends it back.")
    service_version = models.PositiveIntegerField(help_text="The service's version when the approval was requested.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="The approver's comment; the reason of a rejection.")
    superseded_reason = models.TextField(blank=True, help_text="Why the approved plan could not be applied.")

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["service", "-id"], name="services_approval_service"),
                   models.Index(fields=["status"], name="services_approval_status")]

    def __str__(self):
        return f"Approval #{self.pk} of {self.service} ({self.status})"
