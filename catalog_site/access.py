"""Who may see and change what: the one place that decides tenant-scoped access.

Tenants are the unit of access. A membership (user, tenant, role) grants its role on the tenant and
on every descendant; users belong to no tenant; superusers see and change everything.

Every model says how it reaches its tenant with ``tenant_access_path`` (resolved by
``tenant_path()``):

- a model with a ``tenant`` foreign key to the tenant model needs nothing: its path is ``"tenant"``;
- a model reached through another (an interface through its device, a run through its service)
  declares ``tenant_access_path = "device__tenant"``;
- the tenant model itself is its own tenant (``SELF``);
- a model with no tenant at all (manufacturers, service types) is shared: every authenticated user
  reads it and writing it needs the Django model permission. An object whose tenant is empty (the
  demo's switches, the customer pools) is shared infrastructure in the same way;
- a model may also be seen from outside its tenant's subtree: its classmethod
  ``access_extra_q(tenant_ids, prefix)`` adds the objects those tenants see besides (a resource
  provider is seen by the tenants it is available to). Writes still follow the path alone.
- a model may narrow its rule: ``access_narrow_q(prefix)`` removes objects from what members see,
  and ``access_hidden(obj)`` says the same of one object in memory (a change record of a global
  webhook is for superusers only, though it has no tenant).

A user without membership may draw rights from a registered rank source
(``register_rank_source``): a resource provider's service account reaches the tenants that
authorized the provider, as an editor.

The access rights of a request are read once (one query, on the first question asked) and kept on
the request: ``for_request(request)``. The API base classes, the filters, the related fields and the
admin base classes all ask it, so a new endpoint or admin page is scoped by default. The system
check ``catalog.E001`` refuses a model that points at a tenant-scoped model without saying how it
is scoped.
"""

from __future__ import annotations

import functools

from django.apps import apps
from django.core import checks
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Case, IntegerField, OuterRef, Q, Subquery, Value, When

TENANT_MODEL = "tenancy.Tenant"
MEMBERSHIP_MODEL = "tenancy.Membership"

VIEWER, EDITOR, ADMIN = 1, 2, 3
ROLE_RANK = {"viewer": VIEWER, "editor": EDITOR, "admin": ADMIN}
ROLE_NAME = {rank: name for name, rank in ROLE_RANK.items()}

SELF = "__self__"
SHARED = None
_AUTO = object()


def tenant_model():
    return apps.get_model(TENANT_MODEL)


@functools.cache
def tenant_path(model) -> str | None:
    """How ``model`` reaches its tenant: a lookup path, ``SELF`` for the tenant model, None if shared."""
    declared = getattr(model, "tenant_access_path", _AUTO)
    if declared is not _AUTO:
        return declared
    if model._meta.label == TENANT_MODEL:
        return SELF
    try:
        field = model._meta.get_field("tenant")
    except Exception:  # noqa: BLE001 - FieldDoesNotExist: no tenant, shared
        return SHARED
    if field.is_relation and field.related_model is not None and field.related_model._meta.label == TENANT_MODEL:
        return "tenant"
    return SHARED


def is_scoped(model) -> bool:
    return tenant_path(model) is not SHARED


def write_rank(model) -> int:
    """The role a write needs on the object's tenant (memberships: admin; everything else: editor)."""
    return getattr(model, "tenant_write_role", EDITOR)


@functools.cache
def _path_may_be_empty(model, path: str) -> bool:
    """Whether some object of ``model`` can have no tenant along ``path`` (a nullable hop)."""
    current = model
    for part in path.split("__"):
        field = current._meta.get_field(part)
        if field.null:
            return True
        current = field.related_model
    return False


def tenant_id_of(obj, action: str = "view") -> int | None:
    """The id of the tenant ``obj`` belongs to, following its path in memory (None: shared).

    A tenant belongs to itself, except that adding or deleting one is a write on its parent: a
    customer's admin cannot delete the tenant their own membership sits on.
    """
    path = tenant_path(type(obj))
    if path is SHARED:
        return None
    if path == SELF:
        return obj.parent_id if action in ("add", "delete") or obj.pk is None else obj.pk
    *hops, last = path.split("__")
    current = obj
    for hop in hops:
        if getattr(current, f"{hop}_id", None) is None and getattr(current, hop, None) is None:
            return None
        current = getattr(current, hop)
    return getattr(current, f"{last}_id")


def _role_rank_expression():
    return Case(*(When(role=name, then=Value(rank)) for name, rank in ROLE_RANK.items()),
                default=Value(0), output_field=IntegerField())


class Access:
    """The access rights of one user: the tenants they reach, each with their best role."""

    def __init__(self, user):
        self.user = user
        self.unrestricted = bool(user and user.is_active and user.is_superuser)
        self._ranks: dict[int, int] | None = None
        self._extra_seen: dict[tuple, bool] = {}

    # -- the one query -----------------------------------------------------------------
    @property
    def ranks(self) -> dict[int, int]:
        """Tenant id -> best role rank, for every tenant the user reaches (cached: one query)."""
        if self._ranks is None:
            if self.unrestricted or not (self.user and self.user.is_authenticated and self.user.is_active):
                self._ranks = {}
            else:
                membership = apps.get_model(MEMBERSHIP_MODEL)
                covering = (
                    membership.objects.filter(
                        user=self.user,
                        tenant__tree_id=OuterRef("tree_id"),
                        tenant__lft__lte=OuterRef("lft"),
                        tenant__rght__gte=OuterRef("rght"),
                    )
                    .annotate(rank=_role_rank_expression())
                    .order_by("-rank")
                    .values("rank")[:1]
                )
                rows = (
                    tenant_model()._base_manager.annotate(rank=Subquery(covering))
                    .filter(rank__isnull=False)
                    .values_list("pk", "rank")
                )
                self._ranks = dict(rows)
                if not self._ranks:
                    # No membership: maybe a service account, whose rights come from elsewhere.
                    for source in _RANK_SOURCES:
                        self._ranks = source(self.user) or {}
                        if self._ranks:
                            break
        return self._ranks

    def tenant_ids(self, min_rank: int = VIEWER) -> frozenset[int] | None:
        """The ids of the tenants reached with at least ``min_rank``; None means every tenant."""
        if self.unrestricted:
            return None
        return frozenset(pk for pk, rank in self.ranks.items() if rank >= min_rank)

    def rank(self, tenant_id: int | None) -> int:
        if self.unrestricted:
            return ADMIN
        return self.ranks.get(tenant_id, 0) if tenant_id is not None else 0

    # -- reads -------------------------------------------------------------------------
    def visible_q(self, model, min_rank: int = VIEWER, prefix: str = "") -> Q:
        """A Q matching the objects of ``model`` this user may see (``prefix``: reached through a relation)."""
        path = tenant_path(model)
        if self.unrestricted or path is SHARED:
            return Q()
        ids = sorted(self.tenant_ids(min_rank))
        if path == SELF:
            return Q(**{f"{prefix}pk__in": ids})
        query = Q(**{f"{prefix}{path}__in": ids})
        if _path_may_be_empty(model, path):
            query |= Q(**{f"{prefix}{path}__isnull": True})
        extra = getattr(model, "access_extra_q", None)
        if extra is not None and min_rank == VIEWER:
            query |= extra(ids, prefix)
        narrow = getattr(model, "access_narrow_q", None)
        if narrow is not None:
            query &= narrow(prefix)
        return query

    def restrict(self, queryset, min_rank: int = VIEWER):
        """``queryset`` less what this user may not see."""
        if self.unrestricted or not is_scoped(queryset.model):
            return queryset
        return queryset.filter(self.visible_q(queryset.model, min_rank))

    def restrict_users(self, queryset):
        """Users are in no tenant: a user sees themselves and the members of the tenants they see."""
        if self.unrestricted:
            return queryset
        if not (self.user and self.user.is_authenticated):
            return queryset.none()
        members = apps.get_model(MEMBERSHIP_MODEL).objects.filter(tenant_id__in=sorted(self.tenant_ids()))
        return queryset.filter(Q(pk=self.user.pk) | Q(pk__in=members.values("user_id")))

    def can_see(self, obj) -> bool:
        """Whether the object in memory is visible (no query beyond the rights themselves)."""
        if obj is None or self.unrestricted or not is_scoped(type(obj)):
            return True
        hidden = getattr(type(obj), "access_hidden", None)
        if hidden is not None and hidden(obj):
            return False
        tenant_id = tenant_id_of(obj)
        if tenant_id is None or tenant_id in self.ranks:
            return True
        if getattr(type(obj), "access_extra_q", None) is None or obj.pk is None or not self.ranks:
            return False
        key = (type(obj), obj.pk)  # seen through another relation: asked once per object and request
        if key not in self._extra_seen:
            self._extra_seen[key] = self.restrict(type(obj)._base_manager.filter(pk=obj.pk)).exists()
        return self._extra_seen[key]

    # -- writes ------------------------------------------------------------------------
    def can_write(self, obj, action: str) -> bool:
        """Whether this user may ``action`` ("add", "change", "delete") the object as it stands in memory."""
        if self.unrestricted:
            return True
        tenant_id = tenant_id_of(obj, action)
        if tenant_id is None:
            opts = type(obj)._meta
            return self.user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")
        return self.rank(tenant_id) >= write_rank(type(obj))

    def check_write(self, obj, action: str, *, before=None) -> None:
        """Refuse a write the user may not make.

        ``obj`` is the object as it will be (unsaved for "add"; with the new values for "change"),
        ``before`` the stored object for "change". A target tenant the user cannot see is a
        ValidationError on the field that points at it (it does not exist, for this user); a
        visible one with too small a role, or a shared object without the model permission, is
        PermissionDenied.
        """
        if self.unrestricted:
            return
        model = type(obj)
        if before is not None and not self.can_write(before, action):
            raise PermissionDenied(self.refusal(before, action))
        path = tenant_path(model)
        target = tenant_id_of(obj, action)
        if target is not None and target not in self.ranks:
            field = "parent" if path == SELF else path.split("__")[0]
            raise ValidationError({field: "Not found: no such object is within your reach."})
        if before is not None and path == SELF and obj.parent_id != before.parent_id:
            # A move: the tenant leaves its old parent's reach and enters the new one's.
            for parent_id in (before.parent_id, obj.parent_id):
                if parent_id is None:
                    if not self.user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}"):
                        raise PermissionDenied("Only a superuser can make or move a top-level tenant.")
                elif self.rank(parent_id) < write_rank(model):
                    raise PermissionDenied(self.refusal(obj, action))
            return
        if not self.can_write(obj, action):
            raise PermissionDenied(self.refusal(obj, action))

    def refusal(self, obj, action: str) -> str:
        opts = type(obj)._meta
        if tenant_id_of(obj, action) is None:
            permission = f"'{opts.app_label}.{action}_{opts.model_name}'"
            if tenant_path(type(obj)) is SELF:  # a tenant without a parent: nobody's membership reaches it
                return f"You may not {action} a top-level {opts.verbose_name}: that needs the {permission} permission."
            return (f"You may not {action} this {opts.verbose_name}: it is shared infrastructure and needs the "
                    f"{permission} permission.")
        return (f"You may not {action} this {opts.verbose_name}: that needs the "
                f"{ROLE_NAME[write_rank(type(obj))]} role on its tenant.")


ANONYMOUS = Access(None)

# Functions user -> {tenant id: rank} asked, in order, for a user without any membership (the
# services app registers the service accounts of resource providers).
_RANK_SOURCES: list = []


def register_rank_source(source) -> None:
    """Add a source of rights for users who hold no membership (idempotent)."""
    if source not in _RANK_SOURCES:
        _RANK_SOURCES.append(source)


def for_user(user) -> Access:
    """The access rights of ``user``, read fresh (outside a request)."""
    return Access(user)


def for_request(request) -> Access:
    """The access rights of the request's user, read once per request and kept on it."""
    if request is None:
        return ANONYMOUS
    http_request = getattr(request, "_request", request)  # DRF wraps Django's request
    access = getattr(http_request, "_catalog_access", None)
    user = getattr(request, "user", None)
    if access is None or access.user is not user:
        access = Access(user)
        http_request._catalog_access = access
    return access


@checks.register()
def check_scoping(app_configs=None, **kwargs):
    """Every model that points at a tenant-scoped model says how it is scoped (catalog.E001).

    A model with a foreign key to a scoped model (an interface to its device) would otherwise be
    shared by default and show every tenant's rows. It declares ``tenant_access_path`` (a path, or
    None to say on purpose that it is shared).
    """
    errors = []
    for model in apps.get_models():
        if "tenant_access_path" in model.__dict__ or tenant_path(model) is not SHARED:
            continue
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model is not None
                and is_scoped(field.related_model)
                and model._meta.app_label not in ("admin", "auth", "contenttypes", "sessions")
            ):
                errors.append(checks.Error(
                    f"{model._meta.label} points at the tenant-scoped {field.related_model._meta.label} "
                    f"through '{field.name}' but does not declare tenant_access_path.",
                    hint="Set tenant_access_path = \"<relation>__tenant\" (or None if it is shared on purpose).",
                    obj=model, id="catalog.E001",
                ))
                break
    return errors
