"""Shared base models, API tokens and external identities."""

import hashlib
import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, router, transaction
from django.utils import timezone
from mptt.models import MPTTModel

from . import metadata
from .locks import advisory_lock


class ConstraintErrorFields:
    """Reports a violated constraint against the field a user would change.

    Django reports a multi-field unique constraint (a device name at a location) as a non-field
    error; the API would then answer ``non_field_errors`` and the admin show it above the form.
    ``constraint_error_fields`` maps a constraint's name to the field to blame instead.
    """

    constraint_error_fields: dict[str, str] = {}

    def validate_constraints(self, exclude=None):
        errors = {}
        using = router.db_for_write(type(self), instance=self)
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                try:
                    constraint.validate(model_class, self, exclude=exclude, using=using)
                except ValidationError as exc:
                    field = self.constraint_error_fields.get(constraint.name, NON_FIELD_ERRORS)
                    errors.setdefault(field, []).extend(exc.error_list)
        if errors:
            raise ValidationError(errors)


class ChangeTrackedModel(models.Model):
    """Adds creation and last-update timestamps."""

    created = models.DateTimeField(auto_now_add=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


MAX_FINALIZERS = 20


def finalizer_errors(value) -> list[str]:
    """What is wrong with ``value`` as the finalizers of an object (a list of unique names); empty if nothing.

    A finalizer's name has the syntax of an annotation key (``catalog_site.metadata``): ``example.com/backup``.
    """
    if not isinstance(value, list):
        return ["Expected a list of names (example.com/backup)."]
    if len(value) > MAX_FINALIZERS:
        return [f"At most {MAX_FINALIZERS} finalizers."]
    errors = []
    for name in value:
        problem = metadata.annotation_key_error(name) if isinstance(name, str) else "not a string"
        if problem:
            errors.append(f"Not a finalizer name ({problem.replace('an annotation key', 'a name')}).")
    duplicates = sorted({name for name in value if isinstance(name, str) and value.count(name) > 1})
    if duplicates:
        errors.append(f"Each finalizer is named once: {', '.join(duplicates)} is repeated.")
    return errors


def clean_finalizers(obj) -> None:
    """``ValidationError`` on ``finalizers`` unless they are a list of unique, well-formed names."""
    errors = finalizer_errors(obj.finalizers)
    if errors:
        raise ValidationError({"finalizers": errors})


class PrimaryModel(ChangeTrackedModel):
    """Base of every primary inventory object: timestamps, a description and free annotations.

    ``annotations`` holds namespaced key/values (``example.com/owner: netops``) that integrations
    attach to an object without a schema change. ``finalizers`` names the parties that must let go
    of the object before it is deleted: deleting it then only sets ``deleting_since``, and it goes
    when the last finalizer is removed (``catalog_site.finalizers``).
    """

    description = models.CharField(max_length=200, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    finalizers = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Names (example.com/backup) of the parties that must let go of this object before it "
            "is deleted; deleting an object that has some only marks it as deleting."
        ),
    )
    deleting_since = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When deletion was requested; the object goes once its last finalizer is removed.",
    )
    # The statuses reported on the object (``ObjectStatus``), deleted with it. Not a column: no migration.
    statuses = GenericRelation("catalog_site.ObjectStatus", content_type_field="object_type",
                               object_id_field="object_id")

    class Meta:
        abstract = True

    def __str__(self):
        return getattr(self, "name", None) or f"{self._meta.verbose_name} {self.pk}"

    def clean(self):
        super().clean()
        clean_finalizers(self)

    def clean_fields(self, exclude=None):
        """The fields' own checks, and the syntax and size of ``annotations`` (``catalog_site.metadata``).

        Checked here rather than in ``clean()``: a form without the field (an inline row) leaves it
        out, and the errors join those of the other fields.
        """
        errors = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if "annotations" not in errors and not (exclude and "annotations" in exclude):
            problems = metadata.annotation_errors(self.annotations)
            if problems:
                errors["annotations"] = problems
        if errors:
            raise ValidationError(errors)


class TreeModel(MPTTModel, PrimaryModel):
    """A django-mptt tree whose writes are serialised.

    Concurrent MPTT inserts and moves each read the left/right values of the nodes they touch and
    shift the rest; two of them at once can corrupt the tree. Every write therefore takes a lock
    named after the model and re-reads the tree fields it relies on inside that lock.
    """

    class Meta:
        abstract = True

    class MPTTMeta:
        order_insertion_by = ["name"]

    def clean(self):
        super().clean()
        parent_id = getattr(self, f"{self._mptt_meta.parent_attr}_id")
        if parent_id is None or self.pk is None:
            return
        name = self._meta.verbose_name
        if parent_id == self.pk:
            raise ValidationError({"parent": f"A {name} cannot be its own parent."})
        stored = type(self)._base_manager.filter(pk=self.pk).values("tree_id", "lft", "rght").first()
        if stored and type(self)._base_manager.filter(
            pk=parent_id, tree_id=stored["tree_id"], lft__gt=stored["lft"], rght__lt=stored["rght"]
        ).exists():
            raise ValidationError({"parent": f"A {name} cannot be moved under one of its own descendants."})

    def _tree_lock_name(self) -> str:
        return f"tree:{self._meta.label_lower}"

    def lock_tree(self) -> None:
        """Take this model's tree lock until the transaction ends (re-entrant).

        Every writer of a tree takes it before any row lock of the tree: an MPTT write updates the
        bounds of many rows, so a writer that locked one row first (``finalizers.lock``) and then waited
        for the tree would deadlock with the writer that holds the tree and updates that row.
        """
        advisory_lock(self._tree_lock_name())

    def _refresh_tree_fields(self) -> None:
        opts = self._mptt_meta
        tree_fields = [opts.tree_id_attr, opts.left_attr, opts.right_attr, opts.level_attr]
        parent = getattr(self, opts.parent_attr)
        if parent is not None and parent.pk is not None:
            parent.refresh_from_db(fields=tree_fields)
        if self.pk is not None and not self._state.adding:
            fresh = type(self)._base_manager.filter(pk=self.pk).values(*tree_fields).first()
            if fresh:
                for name, value in fresh.items():
                    setattr(self, name, value)

    def save(self, *args, **kwargs):
        with transaction.atomic():
            self.lock_tree()
            self._refresh_tree_fields()
            return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            self.lock_tree()
            self._refresh_tree_fields()
            return super().delete(*args, **kwargs)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenQuerySet(models.QuerySet):
    def for_key(self, key: str):
        """The active token whose key is ``key``, or None."""
        token = self.select_related("user").filter(digest=_hash_key(key)).first()
        if token is None or (token.expires is not None and token.expires <= timezone.now()):
            return None
        return token


class Token(models.Model):
    """An API token. Only a SHA-256 digest of the key is stored; the key is shown once, at creation.

    ``prefix`` keeps the first characters of the key so that a user can tell tokens apart. A token
    without ``write_enabled`` only reads: the API refuses it every unsafe method (403).
    """

    record_changes = False  # a credential: its changes are not shown to others

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    write_enabled = models.BooleanField(
        default=True, help_text="Without it the token only reads: writes are refused with 403."
    )

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, *, user, description: str = "", expires=None, write_enabled: bool = True) -> tuple["Token", str]:
        """Create a token for ``user``; returns the token and its key (never stored in clear)."""
        key = secrets.token_hex(20)
        token = cls.objects.create(
            user=user, digest=_hash_key(key), prefix=key[:8], description=description, expires=expires,
            write_enabled=write_enabled,
        )
        return token, key


class IdentityConflict(Exception):
    """An external identity cannot be given a user: its derived user name belongs to a local user."""


class ExternalIdentity(models.Model):
    """A user who arrives with a bearer token (JWT) of a configured identity provider.

    The user is keyed on the token's issuer and subject, never on a name the token chooses: the
    user name is derived from a hash of both, so that no claim can take over an existing account.
    Such a user is created on the first authenticated request with no password, no staff flag and
    no membership, hence no access to any tenant until one is granted.
    """

    record_changes = False  # a credential's mapping, touched by every login

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="external_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issuer", "subject"]
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"],
                                    name="catalog_site_externalidentity_unique_issuer_subject")
        ]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"

    @staticmethod
    def username_for(*, issuer: str, subject: str) -> str:
        """``jwt-<12 hex>``: a hash of issuer and subject (JSON-encoded, so that no pair collides)."""
        return "jwt-" + hashlib.sha256(json.dumps([issuer, subject]).encode()).hexdigest()[:12]

    @classmethod
    def user_for(cls, *, issuer: str, subject: str, email: str | None = None, name: str | None = None):
        """The user of ``(issuer, subject)``, created on first sight.

        ``email`` and ``name`` (the token's claims, None when absent) are copied into the user's
        email and first name when they changed. Raises ``IdentityConflict`` when the derived user
        name already belongs to a local user.
        """
        identity = cls.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if identity is None:
            identity = cls._create(issuer=issuer, subject=subject, email=email or "", name=name or "")
        user = identity.user
        changed = {field: value for field, value in (("email", email), ("first_name", name))
                   if value is not None and getattr(user, field) != value}
        if changed:
            for field, value in changed.items():
                setattr(user, field, value)
            user.save(update_fields=list(changed))
        now = timezone.now()
        # Record the visit at most once a minute, so that reads do not each cost a write.
        if identity.last_seen is None or (now - identity.last_seen).total_seconds() > 60:
            cls.objects.filter(pk=identity.pk).update(last_seen=now)
        return user

    @classmethod
    def _create(cls, *, issuer: str, subject: str, email: str, name: str) -> "ExternalIdentity":
        user = get_user_model()(username=cls.username_for(issuer=issuer, subject=subject), email=email,
                                first_name=name, is_staff=False, is_superuser=False)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
                return cls.objects.create(user=user, issuer=issuer, subject=subject, last_seen=timezone.now())
        except IntegrityError:
            # Either a concurrent first request created the identity, or a local user holds the name.
            identity = cls.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
            if identity is None:
                raise IdentityConflict(f"The user name {user.username!r} belongs to a local user.") from None
            return identity


class ObjectStatus(ChangeTrackedModel):
    """What an external system reports about a primary object: JSON ``data`` under a namespace and a source.

    Several sources may report in one namespace (``monitoring.example.com``: ``prometheus`` and
    ``blackbox``); each (object, namespace, source) holds one status, replaced as a whole by the next
    report (``catalog_site.statuses.status_upsert``). ``last_updated`` is the time of the last report.

    A status is seen by whoever sees its object and written by whoever may change it. It has no
    tenant of its own: ``catalog_site.statuses.visible_statuses`` restricts every list, object type by
    object type, and ``tenant_access_path = None`` only says that ``Access.restrict`` cannot.
    """

    record_changes = False  # reports replaced whole by their source, at any rate

    tenant_access_path = None

    object_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    object = GenericForeignKey("object_type", "object_id")
    namespace = models.CharField(max_length=metadata.DNS_SUBDOMAIN_MAX_LENGTH, validators=[metadata.validate_namespace],
                                 help_text="A DNS name its reporter controls (monitoring.example.com).")
    source = models.CharField(max_length=metadata.SOURCE_MAX_LENGTH, validators=[metadata.validate_source],
                              help_text="Who reports, within the namespace (prometheus).")
    data = models.JSONField(default=dict, blank=True, help_text="The status itself: a JSON object.")

    class Meta:
        ordering = ["object_type", "object_id", "namespace", "source"]
        verbose_name = "object status"
        verbose_name_plural = "object statuses"
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id", "namespace", "source"],
                                    name="catalog_site_objectstatus_unique_key",
                                    violation_error_message="This object already has a status from this source "
                                                            "in this namespace."),
        ]

    def __str__(self):
        return f"{self.namespace}/{self.source} of {self.object_label} {self.object_id}"

    @property
    def object_label(self) -> str:
        """``app_label.model`` of the object (``dcim.device``), from the content type cache."""
        object_type = ContentType.objects.get_for_id(self.object_type_id)
        return f"{object_type.app_label}.{object_type.model}"

    def clean(self):
        super().clean()
        problems = metadata.json_object_errors(self.data, max_bytes=metadata.STATUS_DATA_MAX_BYTES, what="data")
        if problems:
            raise ValidationError({"data": problems})
        model = ContentType.objects.get_for_id(self.object_type_id).model_class() if self.object_type_id else None
        if self.object_type_id is not None and not (model and issubclass(model, PrimaryModel)):
            raise ValidationError({"object_type": "Only primary objects (devices, prefixes, services...) carry "
                                                  "statuses."})


class ObjectChange(models.Model):
    """One create, update or delete of a recorded object: who, when, in which request or run, before and after.

    Written by ``catalog_site.changelog`` for every model of the catalog's apps (a model opts out with
    ``record_changes = False``: derived indexes, bookkeeping rows, credentials). ``request_id`` groups
    the changes of one HTTP request or management command, ``run_id`` those of one generator run (no
    foreign key: the record outlives the run, the object, and even its service). ``tenant`` is the
    object's tenant when it changed, so that a change is seen under the same rules as its object;
    no database constraint, so that a deleted tenant's history stays hidden rather than shared.
    ``prechange_data`` and ``postchange_data`` hold the object's concrete fields (foreign keys by id).
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"

    class Source(models.TextChoices):
        API = "api", "API"
        WEB = "web", "Web (admin)"
        RUN = "run", "Generator run"
        COMMAND = "command", "Management command"
        SYSTEM = "system", "System"

    record_changes = False

    time = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    user_name = models.CharField(max_length=150, blank=True, help_text="The user's name, kept if the user goes.")
    token = models.ForeignKey(Token, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                              help_text="The API token of the request, if it came with one.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SYSTEM)
    request_id = models.UUIDField(null=True, blank=True, db_index=True,
                                  help_text="Groups the changes of one request or management command.")
    run_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True,
                                            help_text="Groups the changes of one generator run.")
    service_identifier = models.CharField(max_length=100, blank=True,
                                          help_text="The service whose run made the change.")
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    object_repr = models.CharField(max_length=200)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                               blank=True, related_name="+")
    superuser_only = models.BooleanField(
        default=False, help_text="The object is seen by superusers only (a global webhook): so is its change.")
    prechange_data = models.JSONField(null=True, blank=True)
    postchange_data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "object change"
        indexes = [models.Index(fields=["object_type", "object_id", "-id"], name="catalog_change_object")]

    def __str__(self):
        return f"{self.get_action_display()} {self.object_repr}"

    # Narrowing ``catalog_site.access``'s tenant rule: an untenanted record is shared, unless its object is not.
    @classmethod
    def access_narrow_q(cls, prefix: str = "") -> models.Q:
        return models.Q(**{f"{prefix}superuser_only": False})

    @staticmethod
    def access_hidden(change) -> bool:
        return change.superuser_only

    @property
    def object_label(self) -> str:
        object_type = ContentType.objects.get_for_id(self.object_type_id)
        return f"{object_type.app_label}.{object_type.model}"

    def diff(self) -> dict:
        """``{field: [before, after]}`` for the fields that differ (every field of a creation or deletion)."""
        before, after = self.prechange_data or {}, self.postchange_data or {}
        return {name: [before.get(name), after.get(name)] for name in {**before, **after}
                if before.get(name) != after.get(name)}


# -- webhooks (catalog_site.events, catalog_site.webhooks) ------------------------------------------------

from .access import ADMIN as _ADMIN  # noqa: E402 - with the webhooks it serves, appended to the module


class Webhook(ChangeTrackedModel):
    """A URL that receives the events it subscribes to (``catalog_site.events``), signed with its secret.

    A webhook without a tenant is global: it receives every event, and only superusers see and manage it.
    A tenant's webhook receives the events of the tenant's subtree only, and is managed by the tenant's
    admins. ``conditions`` narrow the events further: ``{"model": "dcim.device", "data.status": ["active",
    "planned"]}`` (every condition must hold; a list means any of its values).
    """

    tenant_write_role = _ADMIN  # managed by the tenant's admins, as memberships are
    # Never in the change log (and so in no event): the secret, and the URL, which often carries a credential
    # of its own (chat services' incoming webhooks: https://hooks.example.com/services/<token>).
    changelog_exclude_fields = ("secret", "payload_url")

    @staticmethod
    def changelog_superuser_only(webhook) -> bool:
        """A global webhook is seen by superusers only: so are the records of its changes."""
        return webhook.tenant_id is None

    name = models.CharField(max_length=100, unique=True)
    payload_url = models.URLField(max_length=500, verbose_name="payload URL",
                                  help_text="Where the events are POSTed: an http:// or https:// URL of a public "
                                            "address.")
    events = models.JSONField(default=list, blank=True,  # an empty list is refused by clean(), with a reason
                              help_text='The events it receives: names ("object.created"), a family ("run.*") or "*" '
                                        "for all.")
    conditions = models.JSONField(default=dict, blank=True,
                                  help_text='Optional: {"path.in.payload": value or [values]}, every one must hold '
                                            '(such as {"model": "services.service"}).')
    secret = models.CharField(max_length=200, blank=True,
                              help_text="Signs each delivery (X-Catalog-Signature-256, HMAC-SHA256 of the body). "
                                        "Never shown again once written.")
    enabled = models.BooleanField(default=True)
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="webhooks",
                               help_text="Receives only the events of this tenant's subtree; empty: every event "
                                         "(superusers only).")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_url = instance.__dict__.get("payload_url")
        return instance

    def clean(self):
        from . import events, webhooks

        super().clean()
        errors = {}
        problems = events.events_errors(self.events)
        if problems:
            errors["events"] = problems
        problems = events.conditions_errors(self.conditions)
        if problems:
            errors["conditions"] = problems
        # Checked when written, not on every save: a host that stops resolving must not block disabling it.
        if self.payload_url and self.payload_url != getattr(self, "_stored_url", None):
            problem = webhooks.url_problem(self.payload_url)
            if problem:
                errors["payload_url"] = [problem]
        if errors:
            raise ValidationError(errors)

    def clean_fields(self, exclude=None):
        # An ftp:// URL would pass Django's URL check only to be refused after: one message, ours.
        exclude = set(exclude or ())
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.message_dict
            if "payload_url" in errors and self.payload_url and isinstance(self.payload_url, str):
                from . import webhooks

                try:
                    webhooks.split_url(self.payload_url)
                except webhooks.UrlRefused as refused:
                    errors["payload_url"] = [str(refused)]
            raise ValidationError(errors) from exc


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one webhook: its payload, its attempts and the receiver's answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    OPEN = (Status.PENDING, Status.RETRYING)

    record_changes = False  # the delivery log: bookkeeping, and its payload is already an event
    tenant_access_path = "webhook__tenant"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True, help_text="The first 500 characters of the "
                                                                               "receiver's answer.")
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pk"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="catalog_webhook_due")]

    def __str__(self):
        return f"{self.event} to {self.webhook} ({self.status})"


def _webhooks_changed(sender, **kwargs):
    from . import events

    events.webhooks_changed()


def _webhook_deleted(sender, instance, **kwargs):
    # A change published during the cascade that deletes the webhook (a tenant's deletion) may have given it a
    # delivery after its own were collected: gone with it, or the commit would find it pointing at nothing.
    WebhookDelivery.objects.filter(webhook_id=instance.pk).delete()
    _webhooks_changed(sender)


models.signals.post_save.connect(_webhooks_changed, sender=Webhook, dispatch_uid="catalog_webhooks_saved")
models.signals.post_delete.connect(_webhook_deleted, sender=Webhook, dispatch_uid="catalog_webhooks_deleted")
