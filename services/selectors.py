"""Reads of the service catalog: querysets for lists, suggestion lists, documentation, stranding checks."""

from django.db.models import Count, Prefetch, Q

from catalog_site import access

from . import providers
from .documentation import render_markdown
from .lifecycle import DECOMMISSION_FINALIZER, Status
from .models import GeneratorRun, Parameter, Service, ServiceResource, ServiceType
from .schema import clean_value, is_documentation, normalise_suggestion_values, suggestion_spec


def service_list_queryset():
    """Services with what the API and admin show of them, in a fixed number of queries."""
    resources = ServiceResource.objects.select_related("content_type").prefetch_related("object")
    return providers.with_authorization(Service.objects.select_related(
        "service_type", "tenant", "location", "provider").prefetch_related(Prefetch("resources", queryset=resources)))


def deletion_blocker(service: Service) -> str | None:
    """Why a service being deleted stays when something went wrong (its decommission failed, it still owns
    resources); None otherwise, also while its decommission is under way."""
    if service.deleting_since is None:
        return None
    if service.status == Status.FAILED:
        run = (GeneratorRun.objects.filter(service=service, action=GeneratorRun.Action.DECOMMISSION,
                                           status=GeneratorRun.Status.FAILED).order_by("-pk").first())
        reason = f"decommission run #{run.pk} failed: {run.error.rstrip('.')}" if run else "the service failed"
        return f"Its deletion waits: {reason}. Retry (decommission again) once the cause is fixed."
    if service.status == Status.DECOMMISSIONED and DECOMMISSION_FINALIZER in service.finalizers:
        count = service.resources.count()
        if count:
            return f"Its deletion waits: it still owns {count} resource(s)."
    return None


def catalog_entries(rights: access.Access | None = None):
    """The service types shown on the catalog page, with how many services each has.

    With ``rights``, only the services those rights see are counted: another tenant's services
    never show, not even in a count.
    """
    visible = rights.visible_q(Service, prefix="services__") if rights is not None else Q()
    return ServiceType.objects.annotate(service_count=Count("services", filter=visible)).order_by("name")


def suggested_values(attribute: dict) -> list[dict]:
    """The attribute's suggestions as ``[{"value", "label"}]``; a parameter is read now, so edits show at once."""
    spec = suggestion_spec(attribute)
    if not spec:
        return []
    if spec["type"] == "literal":
        return normalise_suggestion_values(spec["values"])
    values = Parameter.objects.filter(name=spec["parameter_name"]).values_list("values", flat=True).first()
    try:
        return normalise_suggestion_values(values or [])
    except Exception:  # noqa: BLE001 - a parameter saved around its clean() must not break a form
        return []


def documentation_sections(service: Service) -> list[dict]:
    """The service's documentation attributes as ``[{"name", "title", "html"}]`` (sanitised HTML)."""
    sections = []
    for attribute in service.service_type.attributes:
        if is_documentation(attribute):
            title = attribute["annotations"].get("web_title") or attribute["label"]
            sections.append({"name": attribute["name"], "title": str(title),
                             "html": render_markdown(service.attributes.get(attribute["name"]))})
    return sections


def stranding_problems(service_type: ServiceType, attributes: list[dict]) -> list[tuple[str, str]]:
    """What a new attribute list would break in the type's existing services, as (attribute, reason).

    An attribute in use removed, a value in use no longer valid (a dropped choice, a changed kind),
    or a new required attribute that existing services lack and no default fills.
    """
    if service_type.pk is None:
        return []
    definitions = {attribute["name"]: attribute for attribute in attributes}
    users: dict[tuple[str, str], list[str]] = {}
    for identifier, values in Service.objects.filter(service_type=service_type).values_list(
        "service_identifier", "attributes"
    ).iterator():
        for name, value in values.items():
            if name not in definitions:
                users.setdefault((name, "is removed but still set on"), []).append(identifier)
                continue
            try:
                clean_value(definitions[name], value)
            except ValueError:
                users.setdefault((name, f"no longer accepts the value {value!r} of"), []).append(identifier)
        for name, attribute in definitions.items():
            if attribute["required"] and attribute["default"] is None and values.get(name) is None:
                users.setdefault((name, "is required without a default, and is missing on"), []).append(identifier)
    problems = []
    for (name, reason), identifiers in sorted(users.items()):
        shown = ", ".join(identifiers[:5]) + (f" and {len(identifiers) - 5} more" if len(identifiers) > 5 else "")
        problems.append((name, f"{reason} {len(identifiers)} service(s): {shown}."))
    return problems
