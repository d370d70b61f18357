"""Resource providers: who may fulfil a service, where, for whom; and what their runs may touch.

The chain is Infratographer's: a provider's owner makes it *available* (to tenants of the owner's
subtree, at named locations); a tenant to which it is available *authorizes* it, for itself alone or
for its whole subtree; a service is ordered only where some provider of its type is both. An
authorization counts only while the provider is still available to the tenant that gave it.

A provider's runs act as its service account, whose rights (``service_account_ranks``, registered
with ``catalog_site.access``) are the subtrees the authorizations cover, as an editor. While a
generator runs, ``run_scope`` refuses every model write outside those tenants (and the service's
own tenant, so that a service that lost its authorization can still be reconciled and given back).
"""

from __future__ import annotations

import contextlib
import contextvars

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q

from catalog_site import access

from .models import SERVICE_ACCOUNT_PREFIX, Provider, ProviderAuthorization, Service

# -- availability and authorization ---------------------------------------------------------------

def availability_errors(owner, tenants) -> dict[str, list[str]]:
    """Why ``tenants`` cannot be in the availability of a provider owned by ``owner`` (empty: they can)."""
    if owner is None:
        return {}
    outside = [tenant.name for tenant in tenants if not (
        tenant.tree_id == owner.tree_id and owner.lft <= tenant.lft and tenant.rght <= owner.rght)]
    if outside:
        return {"available_to": [f"A provider is made available to its owner {owner.name} and its sub-tenants "
                                 f"only; not to {', '.join(sorted(outside))}."]}
    return {}


def authorization_errors(provider: Provider | None, tenant) -> dict[str, list[str]]:
    """Why ``tenant`` cannot authorize ``provider`` (empty: it can)."""
    if provider is None or provider.pk is None or tenant is None:
        return {}
    if not provider.available_to.filter(pk=tenant.pk).exists():
        return {"tenant": [f"{provider.name} is not available to {tenant.name}: its owner has not made it so."]}
    return {}


def _covering(tenant_ref: dict) -> Q:
    """Authorizations that cover a tenant (``tenant_ref``: its pk, tree_id, lft, rght, values or refs)."""
    return Q(tenant=tenant_ref["pk"]) | Q(
        scope=ProviderAuthorization.Scope.SUBTREE, tenant__tree_id=tenant_ref["tree_id"],
        tenant__lft__lte=tenant_ref["lft"], tenant__rght__gte=tenant_ref["rght"])


def effective_authorizations():
    """Authorizations whose tenant the provider is still available to."""
    return ProviderAuthorization.objects.filter(provider__available_to=F("tenant"))


def covering_authorizations(tenant):
    ref = {"pk": tenant.pk, "tree_id": tenant.tree_id, "lft": tenant.lft, "rght": tenant.rght}
    return effective_authorizations().filter(_covering(ref))


def with_authorization(queryset):
    """Services annotated with ``provider_authorized``: whether their provider still acts for their tenant.

    False after the authorization was revoked (or the availability withdrawn): the service keeps
    running until it is decommissioned, but no new service can be ordered so.
    """
    ref = {name: OuterRef(f"tenant__{name}") for name in ("tree_id", "lft", "rght")} | {"pk": OuterRef("tenant_id")}
    return queryset.annotate(provider_authorized=Exists(
        effective_authorizations().filter(_covering(ref), provider=OuterRef("provider_id"))))


def choose_provider(*, service_type, tenant, location, provider: Provider | None = None) -> Provider:
    """The provider that fulfils a service of ``service_type`` for ``tenant`` at ``location``.

    ``provider`` asks for that one. Otherwise the first by name among those that qualify. Refused
    with ``ValidationError`` on the field of the first condition that fails: no provider of the type
    (``service_type``), none available at the location (``location``), none authorized for the
    tenant (``tenant``).
    """
    candidates = Provider.objects.filter(service_types=service_type)
    label = service_type.name
    if provider is not None:
        candidates, label = candidates.filter(pk=provider.pk), provider.name
        if not candidates.exists():
            raise ValidationError({"provider": [f"{provider.name} does not fulfil {service_type.name}."]})
    elif not candidates.exists():
        raise ValidationError({"service_type": [f"No provider fulfils {service_type.name}: it cannot be ordered."]})
    here = candidates.filter(available_in=location)
    if not here.exists():
        raise ValidationError({"location": [
            f"No provider of {label} is available at {location.name} (availability is per location: "
            "a provider available in a region or metro is not available at its sites unless they are named)."]})
    authorized = here.filter(Exists(covering_authorizations(tenant).filter(provider=OuterRef("pk")))).order_by("name")
    chosen = authorized.first()
    if chosen is None:
        names = ", ".join(here.order_by("name").values_list("name", flat=True))
        raise ValidationError({"tenant": [
            f"{tenant.name} has not authorized a provider of {label} available at {location.name} "
            f"({names}): an admin of {tenant.name}, or of a parent that authorized it for its subtree, must "
            "authorize one first."]})
    return chosen


# -- service accounts -----------------------------------------------------------------------------

def service_account_ranks(user) -> dict[int, int]:
    """The rights of a provider's service account: editor on every tenant its authorizations cover."""
    from tenancy.models import Tenant

    # Service accounts are named after their provider: other users cost no query here.
    if not user.username.startswith(SERVICE_ACCOUNT_PREFIX) or not Provider.objects.filter(
            service_account=user).exists():
        return {}
    ref = {"pk": OuterRef("pk"), "tree_id": OuterRef("tree_id"), "lft": OuterRef("lft"), "rght": OuterRef("rght")}
    covered = effective_authorizations().filter(_covering(ref), provider__service_account=user)
    return dict.fromkeys(Tenant._base_manager.filter(Exists(covered)).values_list("pk", flat=True), access.EDITOR)


# -- the scope of a run ---------------------------------------------------------------------------

class RunScopeError(Exception):
    """A generator tried to write an object outside the tenants its run may touch."""


_scope: contextvars.ContextVar[RunScope | None] = contextvars.ContextVar("services_run_scope", default=None)


class RunScope:
    """The tenants a run of ``service`` may write in: its provider's reach, and the service's own tenant.

    Objects without a tenant (shared infrastructure: switch ports, pools' free space) stay writable.
    """

    def __init__(self, service: Service):
        self.service = service
        self.provider = service.provider
        reach = set(access.for_user(self.provider.service_account).ranks) if self.provider else set()
        self.tenant_ids = reach | {service.tenant_id}

    def actor(self) -> str:
        if self.provider is not None:
            return f"Provider {self.provider.name} (run of {self.service})"
        return f"The run of {self.service}"

    def check(self, obj, action: str) -> None:
        model = type(obj)
        if not access.is_scoped(model):
            return
        tenants = {access.tenant_id_of(obj, action)}
        if obj.pk is not None and action != "add":
            path = access.tenant_path(model)
            stored = model._base_manager.filter(pk=obj.pk)
            tenants |= set(stored.values_list("pk" if path == access.SELF else path, flat=True))
        foreign = {pk for pk in tenants if pk is not None and pk not in self.tenant_ids}
        if foreign:
            from tenancy.models import Tenant

            names = ", ".join(sorted(Tenant._base_manager.filter(pk__in=foreign).values_list("name", flat=True)))
            whom = f"the tenants that authorized {self.provider.name}" if self.provider else \
                f"the service's tenant {self.service.tenant}"
            stored = model._base_manager.filter(pk=obj.pk).first() if obj.pk is not None else None
            what = f"{model._meta.verbose_name} {stored or obj}" + (f" (#{obj.pk})" if obj.pk is not None else "")
            raise RunScopeError(f"{self.actor()} may not {action} {what}: it belongs to {names}, outside {whom}.")


@contextlib.contextmanager
def run_scope(service: Service):
    """Refuse, for the duration, every model write outside what a run of ``service`` may touch."""
    token = _scope.set(RunScope(service))
    try:
        yield
    finally:
        _scope.reset(token)


def _guard_save(sender, instance, raw=False, **kwargs):
    scope = _scope.get()
    if scope is not None and not raw:
        scope.check(instance, "add" if instance._state.adding else "change")


def _guard_delete(sender, instance, **kwargs):
    scope = _scope.get()
    if scope is not None:
        scope.check(instance, "delete")


def connect_guards() -> None:
    from django.db.models.signals import pre_delete, pre_save

    pre_save.connect(_guard_save, dispatch_uid="services.providers.guard_save")
    pre_delete.connect(_guard_delete, dispatch_uid="services.providers.guard_delete")
