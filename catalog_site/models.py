"""Shared base models and the API token."""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, router, transaction
from django.utils import timezone
from mptt.models import MPTTModel

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


class PrimaryModel(ChangeTrackedModel):
    """Base of every primary inventory object: timestamps, a description and free annotations.

    ``annotations`` holds namespaced key/values (``example.com/owner: netops``) that integrations
    attach to an object without a schema change.
    """

    description = models.CharField(max_length=200, blank=True)
    annotations = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return getattr(self, "name", None) or f"{self._meta.verbose_name} {self.pk}"


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
            advisory_lock(self._tree_lock_name())
            self._refresh_tree_fields()
            return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        with transaction.atomic():
            advisory_lock(self._tree_lock_name())
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

    ``prefix`` keeps the first characters of the key so that a user can tell tokens apart.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, *, user, description: str = "", expires=None) -> tuple["Token", str]:
        """Create a token for ``user``; returns the token and its key (never stored in clear)."""
        key = secrets.token_hex(20)
        token = cls.objects.create(
            user=user, digest=_hash_key(key), prefix=key[:8], description=description, expires=expires
        )
        return token, key
