"""``manage.py generator_check <type> [--site SLUG] [--tenant SLUG] [--attribute name=value ...]``.

Tries a service type's generator on the current database, for an author about to ship a change:
orders a scratch service, delivers it, checks that a second run changes nothing, that
decommissioning gives everything back, and that a run failing partway leaves nothing
(``services.testing``). Everything happens in one transaction that is always rolled back: nothing
it does survives, whatever the outcome. One line per check; the exit status is 1 if any failed.
"""

import json
import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dcim.models import Location
from services import services, testing
from services.models import GeneratorRun, ProviderAuthorization, Service, ServiceType
from services.providers import choose_provider
from services.runs import describe_error
from tenancy.models import Tenant


class CheckFailed(Exception):
    """A check that failed, with the reason shown on its line."""


class Command(BaseCommand):
    help = ("Order, deliver, re-run, decommission and fail a scratch service of a type, on this database, in a "
            "transaction that is rolled back; one line per check, exit status 1 if any failed.")

    def add_arguments(self, parser):
        parser.add_argument("type", help="The slug of the service type.")
        parser.add_argument("--site", help="The slug of the site (default: one where a provider of the type serves).")
        parser.add_argument("--tenant", help="The slug of the tenant (default: one that authorized that provider).")
        parser.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE",
                            help="An attribute of the order; VALUE is read as JSON if it can be (a list, a "
                                 "number), as text otherwise. Repeatable. Unset required attributes take their "
                                 "default or first choice.")

    def handle(self, *args, type, site, tenant, attribute, **options):  # noqa: A002 - the argument's name
        service_type = ServiceType.objects.filter(slug=type).first()
        if service_type is None:
            known = ", ".join(ServiceType.objects.order_by("slug").values_list("slug", flat=True)) or "none"
            raise CommandError(f"There is no service type {type!r} (known: {known}).")
        if not service_type.generator:
            raise CommandError(f"{service_type.name} has no generator: there is nothing to check.")
        values = parse_attributes(attribute)
        with transaction.atomic():
            try:
                results = self.run_checks(service_type, site, tenant, values)
            finally:
                transaction.set_rollback(True)  # whatever happened, nothing survives
        failed = [name for name, ok, _ in results if not ok]
        self.stdout.write("Rolled back: the database is as it was.")
        if failed:
            raise CommandError(f"{len(failed)} check(s) of {service_type.name} failed: {', '.join(failed)}.",
                               returncode=1)
        self.stdout.write(f"All checks of {service_type.name} passed.")

    def report(self, results: list, name: str, ok: bool, detail: str) -> bool:
        results.append((name, ok, detail))
        line = f"{name}: {'ok' if ok else 'FAILED'}" + (f" ({detail})" if ok and detail else "")
        self.stdout.write(line if ok else f"{line}: {detail}")
        return ok

    def run_checks(self, service_type: ServiceType, site_slug, tenant_slug, values: dict) -> list:
        results = []
        try:
            tenant, site = where_to_order(service_type, site_slug, tenant_slug)
            attributes = order_attributes(service_type, values, tenant, site)
        except CheckFailed as exc:
            self.report(results, "order", False, str(exc))
            return results
        before = testing.footprint()
        identifier = f"CHECK-{uuid.uuid4().hex[:8].upper()}"
        try:
            service = order(service_type, identifier, tenant, site, attributes)
        except CheckFailed as exc:
            self.report(results, "order", False, str(exc))
            return results
        self.report(results, "order", True, f"{identifier} for {tenant.name} at {site.name}, {attributes}")

        try:
            run = testing.generator_run(service)
        except Exception as exc:  # noqa: BLE001 - a refused transition, an approval that cannot be given
            delivered = self.report(results, "deliver", False, describe_error(exc))
        else:
            delivered = run.status == GeneratorRun.Status.SUCCEEDED and service.status == "active"
            self.report(results, "deliver", delivered,
                        f"{len(run.changes)} change(s)" if delivered else
                        f"run #{run.pk} {run.status}, service {service.status}: {run.error or 'no reason given'}")
        if delivered:
            self.run_check(results, "second run changes nothing", testing.assert_idempotent, service)
            self.run_check(results, "decommission gives everything back", testing.assert_gives_back_everything,
                       service, before)
        else:
            self.report(results, "second run changes nothing", False, "not checked: the delivery failed")
            self.report(results, "decommission gives everything back", False, "not checked: the delivery failed")

        # Against the inventory as it is now: a leak found above is not counted twice.
        try:
            scratch = order(service_type, f"{identifier}-F", tenant, site, attributes)
        except CheckFailed as exc:
            self.report(results, "a failed run leaves nothing", False, f"not checked: the order failed: {exc}")
            return results
        self.run_check(results, "a failed run leaves nothing", testing.assert_failure_leaves_nothing, scratch,
                   testing.footprint())
        return results

    def run_check(self, results: list, name: str, function, *args) -> bool:
        try:
            function(*args)
        except AssertionError as exc:
            return self.report(results, name, False, str(exc))
        except Exception as exc:  # noqa: BLE001 - an author's bug is a failed check, shown with its reason
            return self.report(results, name, False, describe_error(exc))
        return self.report(results, name, True, "")


def parse_attributes(pairs: list[str]) -> dict:
    """``["bandwidth=1000", "note=hello"]`` -> ``{"bandwidth": 1000, "note": "hello"}``."""
    values = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"--attribute {pair!r}: expected NAME=VALUE.")
        try:
            values[name] = json.loads(raw)
        except ValueError:
            values[name] = raw
    return values


def where_to_order(service_type: ServiceType, site_slug: str | None, tenant_slug: str | None):
    """The tenant and site of the scratch order: those given, or a pair a provider of the type serves."""
    site = _by_slug(Location, site_slug, "site") if site_slug else None
    tenant = _by_slug(Tenant, tenant_slug, "tenant") if tenant_slug else None
    if site is not None and tenant is not None:
        return tenant, site
    authorizations = ProviderAuthorization.objects.filter(provider__service_types=service_type).select_related(
        "provider", "tenant").order_by("provider__name", "tenant__name")
    if tenant is not None:
        authorizations = authorizations.filter(tenant=tenant)
    for authorization in authorizations:
        locations = authorization.provider.available_in.order_by("name")
        for location in ([site] if site is not None else locations):
            candidate = tenant or authorization.tenant
            try:
                choose_provider(service_type=service_type, tenant=candidate, location=location)
            except ValidationError:
                continue
            return candidate, location
    where = f" at {site.name}" if site else ""
    who = f" for {tenant.name}" if tenant else ""
    raise CheckFailed(f"No provider of {service_type.name} is available{where} and authorized{who}: add a "
                      "provider of the type, make it available at a site and have a tenant authorize it, or "
                      "name a --site and --tenant it serves.")


def _by_slug(model, slug: str, what: str):
    obj = model.objects.filter(slug=slug).first()
    if obj is None:
        raise CommandError(f"There is no {what} {slug!r}.")
    return obj


def order_attributes(service_type: ServiceType, values: dict, tenant, site: Location) -> dict:
    """The attributes of the order: ``values``, then for each required attribute left its default, or a
    value that fits its kind (the first choice, the smallest number, the site of the order; a list gets
    its fewest items, each at another site the provider serves)."""
    attributes = dict(values)
    sites = None
    for definition in service_type.attributes:
        name = definition["name"]
        if name in attributes or definition["modifier"] == "r" or not definition.get("required"):
            continue
        if definition.get("default") is not None:
            continue  # the order takes it
        if definition["kind"] == "list" and sites is None:
            sites = served_sites(service_type, tenant, site)
        guess = _guess(definition, sites or [site])
        if guess is None:
            raise CheckFailed(f"{name} is required and has no default, and no value can be made up for it: "
                              f"give it with --attribute {name}=<JSON>.")
        attributes[name] = guess
    return attributes


def served_sites(service_type: ServiceType, tenant, site: Location) -> list[Location]:
    """``site``, then the other sites where a provider of the type serves ``tenant`` (by name)."""
    found = [site]
    for location in Location.objects.filter(kind=Location.Kind.SITE).exclude(pk=site.pk).order_by("name"):
        try:
            choose_provider(service_type=service_type, tenant=tenant, location=location)
        except ValidationError:
            continue
        found.append(location)
    return found


def _guess(definition: dict, sites: list[Location], index: int = 0):
    """A value that fits ``definition`` (None if none can be made up); ``index`` is the item's place in a list."""
    kind = definition["kind"]
    if kind == "choice":
        return definition["choices"][0]["value"]
    if kind == "integer":
        return definition.get("min_value") if definition.get("min_value") is not None else 1
    if kind == "boolean":
        return False
    if kind == "site":
        return sites[index].slug if index < len(sites) else None
    if kind in ("text", "markdown"):
        return "generator check"
    if kind == "list":
        return _guess_items(definition, sites)
    return None


def _guess_items(definition: dict, sites: list[Location]) -> list[dict] | None:
    items = []
    for index in range(max(definition.get("min_items") or 1, 1)):
        item = {}
        for field in definition.get("item_attributes", []):
            needed = field.get("required") or field["name"] == definition.get("item_key")
            if field["modifier"] == "r" or not needed or field.get("default") is not None:
                continue
            value = _guess(field, sites, index)
            if value is None:
                return None
            item[field["name"]] = value
        items.append(item)
    return items


def order(service_type: ServiceType, identifier: str, tenant, site, attributes: dict) -> Service:
    try:
        return services.service_create(service_type=service_type, service_identifier=identifier, tenant=tenant,
                                       location=site, attributes=attributes)
    except ValidationError as exc:
        raise CheckFailed(describe_error(exc)) from exc
