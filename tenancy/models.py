"""Tenants and memberships."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from mptt.models import TreeForeignKey

from catalog_site.access import ADMIN
from catalog_site.models import ChangeTrackedModel, TreeModel


class Tenant(TreeModel):
    """A customer or an organisation unit. Tenants form a tree with any number of roots.

    Access follows the tree: a membership on a tenant reaches all of its descendants.
    """

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    parent = TreeForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["tree_id", "lft"]


class Membership(ChangeTrackedModel):
    """A user's role in a tenant; it grants access to the tenant and its whole subtree.

    Only an admin of the tenant (or of an ancestor) may grant, change or revoke one.
    """

    tenant_write_role = ADMIN

    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        EDITOR = "editor", "Editor"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["tenant__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="tenancy_membership_unique_user_tenant",
                                    violation_error_message="This user already has a membership in this tenant.")
        ]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"

    def clean(self):
        super().clean()
        # A resource provider's service account (services.Provider) reaches what authorized it, nothing else.
        if self.user_id is not None and type(self.user).objects.filter(
                pk=self.user_id, service_provider__isnull=False).exists():
            raise ValidationError({"user": "A provider's service account holds no membership: its access comes "
                                           "from the tenants that authorized the provider."})
