"""Writes of the service catalog. The API, the admin, the catalog loader and generator runs call these.

Every rule lives here once:
- attribute values are checked against the service type (kind, choices, required);
- modifiers (Inmanta LSM): ``r`` is written only by generators, ``rw`` is set when the service is
  ordered and frozen, ``rw+`` may change while the lifecycle allows updates;
- the lifecycle: only the type's transitions, and the update path (an ``rw+`` change on an active
  service sends it back through delivery); entering in-delivery waits in pending-approval when the
  type asks for an approval (``services.approvals``);
- optimistic concurrency: each write names the version it read, checked under a row lock; every
  accepted write increments the version.
Refusals are ``ServiceValidationError`` (a 400, keyed by field and by attribute),
``IllegalTransition`` (a 400 listing the legal targets), ``VersionConflict`` and ``DeletionRefused`` (409).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog_site import events, finalizers
from dcim.models import Location

from . import providers
from .lifecycle import DECOMMISSION_FINALIZER, DELETING_TARGETS, Status
from .models import LifecycleEvent, Parameter, Service, ServiceType
from .schema import (
    DefinitionErrors,
    clean_value,
    error_messages,
    item_label,
    normalise_type_definition,
    suggestion_spec,
)
from .selectors import stranding_problems

IDENTITY_FIELDS = ("service_identifier", "tenant", "location")
METADATA_FIELDS = ("account_reference", "description", "annotations", "finalizers")


class ServiceValidationError(ValidationError):
    """Refused input: field errors plus attribute errors keyed by attribute name.

    As a Django ``ValidationError`` the attribute errors read ``"bandwidth: <reason>"`` under
    ``attributes``; ``api_detail()`` nests them instead (``{"attributes": {"bandwidth": [...]}}``).
    """

    def __init__(self, fields: dict[str, list[str]] | None = None, attributes: dict[str, list[str]] | None = None):
        self.field_errors = {name: list(messages) for name, messages in (fields or {}).items()}
        self.attribute_errors = {name: list(messages) for name, messages in (attributes or {}).items()}
        merged = dict(self.field_errors)
        if self.attribute_errors:
            merged.setdefault("attributes", []).extend(
                f"{name}: {message}" for name, messages in self.attribute_errors.items() for message in messages
            )
        super().__init__(merged)

    def api_detail(self) -> dict:
        detail: dict = dict(self.field_errors)
        if self.attribute_errors:
            detail["attributes"] = self.attribute_errors
        return detail


class IllegalTransition(ValidationError):
    """A transition the lifecycle does not allow from the service's status."""

    def __init__(self, message: str, legal: tuple[str, ...]):
        self.legal = list(legal)
        super().__init__({"to": [message]})


class VersionConflict(Exception):
    """The write named a version other than the current one: someone changed the service meanwhile."""

    def __init__(self, service: Service, version):
        self.current_version = service.version
        self.message = (f"Service {service.service_identifier} is at version {service.version}, not {version}: "
                        "it changed since you read it. Reload it and try again.")
        super().__init__(self.message)


class DeletionRefused(Exception):
    """The service cannot be deleted in its status (a run is delivering it)."""


# -- attribute rules ------------------------------------------------------------------------------

def attribute_write_refusal(attribute: dict, *, service: Service | None) -> str | None:
    """Why a user cannot set ``attribute`` now (``service`` None: while ordering), or None if they can.

    The admin shows the same sentence as help text on a read-only field.
    """
    modifier = attribute["modifier"]
    if modifier == "r":
        return "Set by the system (the service's generator); it cannot be written."
    if service is None:
        return None
    if modifier == "rw":
        return "Set when the service is ordered; it cannot be changed afterwards."
    lifecycle = service.lifecycle
    if service.status == lifecycle.approval_status:
        return ("It is waiting for the approval of a plan made with the current values: have that approval "
                "rejected (the requester may withdraw it) to change it.")
    if not lifecycle.allows_update(service.status):
        allowed = ", ".join(lifecycle.update_path)
        return f"Can be changed later, but only while the service is {allowed}; it is {service.status}."
    return None


def identity_write_refusal(field: str, *, service: Service) -> str | None:
    """Why ``field`` (identifier, tenant, location) cannot change now, or None if it can."""
    if service.status in service.lifecycle.identity_editable:
        return None
    allowed = ", ".join(sorted(service.lifecycle.identity_editable))
    return f"Can change only while the service is {allowed}; it is {service.status}."


def _site_problems(attribute: dict, value, known=None) -> list[str]:
    """The sites ``value`` names (a ``site`` attribute, or ``site`` fields of a list's items) that do not exist.

    Sites already named by ``known`` (the stored value) are not asked about again: a site renamed
    or removed since does not block an unrelated change.
    """
    def references(val) -> list[tuple[str, str, str]]:
        if attribute["kind"] == "site":
            return [("", "", val)] if isinstance(val, str) else []
        if attribute["kind"] != "list" or not isinstance(val, list):
            return []
        fields = [field["name"] for field in attribute["item_attributes"] if field["kind"] == "site"]
        return [(f"{item_label(attribute, index, item)}: ", field, item[field])
                for index, item in enumerate(val) for field in fields
                if isinstance(item, dict) and isinstance(item.get(field), str)]

    wanted = references(value)
    if not wanted:
        return []
    seen = {(field, slug) for _prefix, field, slug in references(known)}
    asked = {slug for _prefix, field, slug in wanted if (field, slug) not in seen}
    found = set(Location.objects.filter(kind="site", slug__in=asked).values_list("slug", flat=True))
    return [f"{prefix}{field + ': ' if field else ''}No site with the slug {slug!r}."
            for prefix, field, slug in wanted if slug in asked and slug not in found]


def _item_index(attribute: dict, items) -> dict:
    """The items of a stored list value by their key."""
    key = attribute["item_key"]
    return {item[key]: item for item in items or [] if isinstance(item, dict) and key in item}


def _generated_fields(attribute: dict) -> list[str]:
    return [field["name"] for field in attribute.get("item_attributes", []) if field["modifier"] == "r"]


def _merge_items(attribute: dict, given: list[dict], stored) -> tuple[list[dict], list[str], list[str]]:
    """A user's list value with the ``r`` fields of its items taken from ``stored``; and the problems.

    Returns the merged items, the problems of ``r`` fields (sent with another value than the stored
    one: always refused) and the problems of ``rw`` fields of existing items (changed: refused when
    the list changes). Items are matched by the list's ``item_key``.
    """
    key = attribute["item_key"]
    old = _item_index(attribute, stored)
    generated = _generated_fields(attribute)
    frozen = [field["name"] for field in attribute["item_attributes"] if field["modifier"] == "rw"]
    merged, generated_problems, frozen_problems = [], [], []
    for index, item in enumerate(given):
        label = item_label(attribute, index, item)
        previous = old.get(item.get(key))
        item = dict(item)
        for name in generated:
            kept = previous.get(name) if previous else None
            if name in item and item[name] != kept:
                generated_problems.append(f"{label}: {name}: Set by the system (the service's generator); "
                                          "it cannot be written.")
            item.pop(name, None)
            if kept is not None:
                item[name] = kept
        if previous is not None:
            frozen_problems.extend(
                f"{label}: {name} is set when the item is added and cannot change "
                f"(it is {previous.get(name)!r}); remove the item and add a new one instead."
                for name in frozen if name != key and item.get(name) != previous.get(name))
        merged.append(item)
    return merged, generated_problems, frozen_problems


def generated_item_fields(attribute: dict) -> list[str]:
    """The ``r`` fields of a list attribute's items (none for another kind): a generator writes them."""
    return _generated_fields(attribute)


def _without(attribute: dict, items) -> list[dict]:
    """A list value without the ``r`` fields of its items: what a generator must leave as it is."""
    generated = set(_generated_fields(attribute))
    return [{name: value for name, value in item.items() if name not in generated} for item in items or []]


def _type_rule_errors(service_type: ServiceType, attributes: dict) -> dict[str, list[str]]:
    """The errors of the type's own rules: its generator class's ``validate_attributes(attributes)``, if any.

    A schema says what each attribute takes; a rule across attributes (point-to-point has two
    terminations) is the type's, and its generator knows it. A generator that cannot be imported
    has no rules here: its run fails with that message.
    """
    from .generators import GeneratorError, generator_class  # generators build on this module

    try:
        cls = generator_class(service_type)
    except GeneratorError:
        return {}
    validate = getattr(cls, "validate_attributes", None)
    if validate is None:
        return {}
    errors = validate(dict(attributes)) or {}
    return {name: [messages] if isinstance(messages, str) else list(messages)
            for name, messages in errors.items() if messages}


def _clean_new_attributes(service_type: ServiceType, values: dict) -> tuple[dict, dict]:
    """The attributes of a new service (defaults applied) and the errors, by attribute name."""
    definitions = service_type.attribute_map()
    errors: dict[str, list[str]] = {}
    result = {}
    for name in values:
        if name not in definitions:
            errors[name] = [f"Not an attribute of {service_type.name}."]
    for name, attribute in definitions.items():
        given = values.get(name)
        if given is not None and given != "":
            refusal = attribute_write_refusal(attribute, service=None)
            if refusal:
                errors[name] = [refusal]
                continue
        try:
            value = clean_value(attribute, given)
        except ValueError as exc:
            errors[name] = error_messages(exc) + _site_problems(attribute, given)
            continue
        if value is None:
            value = attribute["default"]
        problems = _site_problems(attribute, value)
        if attribute["kind"] == "list" and value is not None:
            value, generated_problems, _ = _merge_items(attribute, value, None)
            problems = generated_problems + problems
        if problems:
            errors[name] = problems
        elif value is None and attribute["required"]:
            errors[name] = ["This attribute is required."]
        elif value is not None:
            result[name] = value
    if not errors:
        errors = _type_rule_errors(service_type, result)
    return result, errors


def _apply_attribute_changes(service: Service, changes: dict) -> tuple[dict, set[str], dict]:
    """The service's attributes with ``changes`` applied, the changed names, and the errors.

    A value equal to the current one is not a change, so a client may send back what it read.
    ``None`` clears an attribute. A list is sent whole: items are added and removed, and an existing
    item (matched by the list's ``item_key``) may change its ``rw+`` fields; its ``rw`` fields are
    set when it is added, and ``r`` fields are kept from the stored item (sent with another value,
    refused). Once every change is accepted, the type's own rules (``_type_rule_errors``) see the result.
    """
    definitions = service.service_type.attribute_map()
    current = dict(service.attributes)
    errors: dict[str, list[str]] = {}
    changed: set[str] = set()
    for name, given in changes.items():
        attribute = definitions.get(name)
        if attribute is None:
            errors[name] = [f"Not an attribute of {service.service_type.name}."]
            continue
        try:
            value = clean_value(attribute, given)
        except ValueError as exc:
            errors[name] = error_messages(exc) + _site_problems(attribute, given, known=current.get(name))
            continue
        item_problems = []
        if attribute["kind"] == "list" and value is not None:
            value, generated_problems, frozen_problems = _merge_items(attribute, value, current.get(name))
            item_problems = generated_problems + (frozen_problems if value != current.get(name) else [])
        if value == current.get(name) and not item_problems:
            continue
        refusal = attribute_write_refusal(attribute, service=service)
        problems = item_problems or _site_problems(attribute, value, known=current.get(name))
        if refusal:
            errors[name] = [refusal]
        elif problems:
            errors[name] = problems
        elif value is None and attribute["required"]:
            errors[name] = ["This attribute is required."]
        else:
            changed.add(name)
            if value is None:
                current.pop(name, None)
            else:
                current[name] = value
    if changed and not errors:
        errors = _type_rule_errors(service.service_type, current)
    return current, changed, errors


def _full_clean(service: Service, field_errors: dict, attribute_errors: dict) -> None:
    try:
        service.full_clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            field_errors.setdefault(name, []).extend(messages)
    if field_errors or attribute_errors:
        raise ServiceValidationError(field_errors, attribute_errors)


def _lock(service: Service, version, *, check_version: bool = True) -> Service:
    """The service's row, locked until the transaction ends, after checking ``version``.

    Only the service's row: locking its type too would serialise every write to services of a type.
    """
    locked = Service.objects.select_for_update(of=("self",)).select_related("service_type").get(pk=service.pk)
    if check_version and (isinstance(version, bool) or version != locked.version):
        raise VersionConflict(locked, version)
    return locked


def record_history(service: Service, *, from_status: str, user, message: str) -> None:
    """Add an entry to the service's history; a change of status is also published (``service.status_changed``)."""
    user = user if getattr(user, "pk", None) else None
    LifecycleEvent.objects.create(service=service, from_status=from_status, to_status=service.status,
                                  version=service.version, user=user, message=message[:300])
    if from_status and from_status != service.status:
        events.publish("service.status_changed", {
            "service": service.pk, "service_identifier": service.service_identifier, "from": from_status,
            "to": service.status, "version": service.version, "user": user.username if user else None,
            "message": message[:300],
        }, tenant_id=service.tenant_id)


def _needs_approval(service: Service, to: str) -> bool:
    """Whether entering ``to`` must wait for an approval: the type's rule matches the service's attributes."""
    return service.lifecycle.gates(to) and service.service_type.requires_approval(service.attributes)


def on_enter_working_state(*, service: Service, from_status: str, user=None) -> None:
    """Called when ``service`` enters a working state (in-delivery, in-decommissioning).

    Queues the generator run the state calls for (provision, decommission), and returns it; its task
    is sent when the transaction commits, and the run moves the service on. A type without a
    generator queues nothing (None): its services are moved on by hand.
    """
    from .runs import request_working_run  # runs builds on this module

    return request_working_run(service=service, user=user)


# -- services ------------------------------------------------------------------------------------

def _provider_errors(service: Service, requested=None) -> dict[str, list[str]]:
    """Choose the provider of ``service`` (``requested``, or the first that qualifies); the errors if none does.

    Only asked once the tenant and the site are known to be valid, so that an error names the
    condition that really failed.
    """
    if service.tenant_id is None or service.location_id is None or service.location.kind != "site":
        return {}
    try:
        service.provider = providers.choose_provider(service_type=service.service_type, tenant=service.tenant,
                                                     location=service.location, provider=requested)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def service_validate_create(*, service_type: ServiceType, service_identifier: str, tenant, location,
                            attributes: dict | None = None, account_reference: str = "", description: str = "",
                            annotations: dict | None = None, provider=None,
                            finalizers: list | None = None) -> Service:
    """The unsaved service an order would create, or ``ServiceValidationError`` with every problem.

    A provider of the type must be available at the site and authorized for the tenant
    (``services.providers.choose_provider``); ``provider`` asks for a particular one.
    """
    values, attribute_errors = _clean_new_attributes(service_type, attributes or {})
    lifecycle = service_type.get_lifecycle()
    service = Service(service_type=service_type, service_identifier=service_identifier, tenant=tenant,
                      location=location, attributes=values, account_reference=account_reference or "",
                      description=description or "", annotations=annotations or {}, status=lifecycle.initial,
                      finalizers=finalizers or [])
    _full_clean(service, _provider_errors(service, provider), attribute_errors)
    return service


@transaction.atomic
def service_create(*, user=None, **fields) -> Service:
    """Order a service: validated as ``service_validate_create``; it starts in the lifecycle's initial status."""
    service = service_validate_create(**fields)
    service.version = 1
    service.save()
    record_history(service, from_status="", user=user, message="Ordered")
    return service


@transaction.atomic
def service_update(*, service: Service, version: int, user=None, attributes: dict | None = None,
                   **fields) -> Service:
    """Change a service's attributes and fields, if ``version`` is current and the rules allow it.

    ``attributes`` holds changes only (``None`` clears one). Tenant, location and identifier may
    change only in the states that allow it; the service type never changes. A change of an ``rw+``
    attribute follows the lifecycle's update path (active -> in-delivery). A write that changes
    nothing is accepted without a new version.
    """
    locked = _lock(service, version)
    field_errors: dict[str, list[str]] = {}
    unknown = set(fields) - set(IDENTITY_FIELDS) - set(METADATA_FIELDS) - {"service_type"}
    if unknown:
        raise TypeError(f"service_update() got unexpected fields {sorted(unknown)}")
    if "service_type" in fields and fields["service_type"] != locked.service_type:
        field_errors["service_type"] = ["The service type of a service cannot change; order a new service."]
    changed_fields = []
    for name in IDENTITY_FIELDS + METADATA_FIELDS:
        if name not in fields or fields[name] == getattr(locked, name):
            continue
        refusal = identity_write_refusal(name, service=locked) if name in IDENTITY_FIELDS else None
        if refusal:
            field_errors[name] = [refusal]
        else:
            setattr(locked, name, fields[name])
            changed_fields.append(name)
    new_attributes, changed_attributes, attribute_errors = _apply_attribute_changes(locked, attributes or {})
    locked.attributes = new_attributes
    if {"tenant", "location"} & set(changed_fields) and not field_errors:
        # Another tenant or site: a provider must serve it too, the current one if it still can.
        still_served = locked.provider_id is not None and not _provider_errors(locked, locked.provider)
        if not still_served:
            field_errors.update(_provider_errors(locked))
    _full_clean(locked, field_errors, attribute_errors)
    if not changed_fields and not changed_attributes:
        return locked
    if locked.deleting_since is not None:
        refused = sorted((set(changed_fields) - {"finalizers"}) | changed_attributes)
        if refused:
            raise finalizers.ObjectDeleting(locked, f"a change of {', '.join(refused)}")
        if finalizers.set_finalizers(locked, locked.finalizers):
            return locked  # its last finalizer removed: the service is deleted (pk None)
    from_status = locked.status
    lifecycle = locked.lifecycle
    rw_plus_changed = any(locked.service_type.attribute_map()[name]["modifier"] == "rw+"
                          for name in changed_attributes)
    if rw_plus_changed:
        locked.status = lifecycle.update_path[from_status]
    gated = locked.status != from_status and _needs_approval(locked, locked.status)
    if gated:
        locked.status = lifecycle.approval_status
    locked.version += 1
    locked.save()
    message = "Updated " + ", ".join(sorted(changed_fields) + sorted(changed_attributes))
    record_history(locked, from_status=from_status, user=user,
                   message=message + (": waiting for approval" if gated else ""))
    if gated:
        _request_approval(locked, from_status=from_status, user=user)
    elif locked.status != from_status and locked.status in lifecycle.working:
        on_enter_working_state(service=locked, from_status=from_status, user=user)
    return locked


def _request_approval(service: Service, *, from_status: str, user) -> None:
    from . import approvals  # approvals builds on this module

    approvals.request_approval(service=service, from_status=from_status, user=user)


@transaction.atomic
def service_transition(*, service: Service, to: str, version: int, user=None, message: str = "",
                       release_finalizer: bool = True) -> Service:
    """Move a service to ``to`` if its lifecycle allows it from the current status.

    A service being deleted only goes down the decommission path. Entering in-delivery, for a
    service whose type asks for an approval, leads to pending-approval with a plan instead
    (``services.approvals``). Reaching decommissioned releases
    its ``catalog/decommission`` finalizer (``service_release_decommission``; a generator run does
    that itself once its row is saved: ``release_finalizer=False``); if that deletes the service,
    the service returned has no pk.
    """
    locked = _lock(service, version)
    lifecycle = locked.lifecycle
    legal = lifecycle.targets(locked.status)
    if locked.deleting_since is not None:
        legal = tuple(target for target in legal if target in DELETING_TARGETS)
    if to not in legal:
        where = "none" if not legal else ", ".join(legal)
        deleting = " (it is being deleted: only decommissioning is left)" if locked.deleting_since else ""
        raise IllegalTransition(f"A service cannot go from {locked.status} to {to}{deleting}. "
                                f"Legal transitions: {where}.", legal)
    from_status = locked.status
    gated = _needs_approval(locked, to)
    locked.status = lifecycle.approval_status if gated else to
    locked.version += 1
    locked.save(update_fields=["status", "version", "last_updated"])
    message = message or lifecycle.label(from_status, to)
    record_history(locked, from_status=from_status, user=user,
                   message=message + (": waiting for approval" if gated else ""))
    if gated:
        _request_approval(locked, from_status=from_status, user=user)
    elif to in lifecycle.working:
        on_enter_working_state(service=locked, from_status=from_status, user=user)
    if release_finalizer and to == Status.DECOMMISSIONED and service_release_decommission(service=locked, user=user):
        locked.pk = None
    return locked


@transaction.atomic
def service_approval_move(*, service: Service, to: str, user=None, message: str = ""):
    """Move a service into or out of its lifecycle's approval status, as ``services.approvals`` decides.

    Out of it: to the gated status (approved: its working run is queued) or back to where it was
    (rejected). Into it: from the gated status, when the approved plan no longer holds. No user
    transition does either: this is the approvals' own door. Returns the service and the run queued
    (or None). ``IllegalTransition`` for any other move.
    """
    locked = _lock(service, None, check_version=False)
    lifecycle = locked.lifecycle
    from_status = locked.status
    waiting = lifecycle.approval_status
    legal = ((from_status == waiting and (to in lifecycle.approval_gated or to in lifecycle.approval_sources()))
             or (to == waiting and from_status in lifecycle.approval_gated))
    if not waiting or not legal:
        raise IllegalTransition(f"An approval cannot move a service from {from_status} to {to}.", ())
    locked.status = to
    locked.version += 1
    locked.save(update_fields=["status", "version", "last_updated"])
    record_history(locked, from_status=from_status, user=user, message=message or Status(to).label)
    run = None
    if to in lifecycle.working:
        run = on_enter_working_state(service=locked, from_status=from_status, user=user)
    return locked, run


@transaction.atomic
def service_set_generated_attributes(*, service: Service, attributes: dict, version: int | None = None) -> Service:
    """Write ``r`` attributes (documentation, allocated values) on behalf of the service's generator.

    Only ``r`` attributes are accepted: user-owned values are not the generator's to change. A list
    whose items have ``r`` fields is accepted too, sent whole: the generator fills those fields, and
    the items and their other fields must stay as stored. The version check is optional because a
    generator run already holds the service's run lock.
    """
    locked = _lock(service, version, check_version=version is not None)
    definitions = locked.service_type.attribute_map()
    errors: dict[str, list[str]] = {}
    values = dict(locked.attributes)
    for name, given in attributes.items():
        attribute = definitions.get(name)
        if attribute is None or (attribute["modifier"] != "r" and not generated_item_fields(attribute)):
            errors[name] = ["Not a generator-owned (r) attribute of this service type."]
            continue
        try:
            value = clean_value(attribute, given)
        except ValueError as exc:
            errors[name] = error_messages(exc)
            continue
        if attribute["modifier"] != "r" and _without(attribute, value) != _without(attribute, values.get(name)):
            errors[name] = ["A generator sets only the generator-owned (r) fields of the items; the items and "
                            "their other fields are the user's: send them back as stored."]
            continue
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    if errors:
        raise ServiceValidationError(attributes=errors)
    if values != locked.attributes:
        locked.attributes = values
        locked.version += 1
        locked.save(update_fields=["attributes", "version", "last_updated"])
    return locked


def deletion_refusal(service: Service) -> str | None:
    """Why ``service`` cannot be deleted now (a run is delivering it), or None if it can."""
    lifecycle = service.lifecycle
    decommissionable = service.status == Status.IN_DECOMMISSIONING or lifecycle.allows(service.status,
                                                                                      Status.IN_DECOMMISSIONING)
    if service.deleting_since is not None or service.status in lifecycle.deletable or decommissionable:
        return None
    if service.status == lifecycle.approval_status:
        return (f"Service {service.service_identifier} is waiting for approval: have the approval rejected first "
                "(it goes back to where it was), then delete it.")
    return (f"Service {service.service_identifier} is {service.status}: a run is delivering it. Delete it once it "
            "is active or failed; it is then decommissioned first.")


@transaction.atomic
def service_delete(*, service: Service, user=None) -> bool:
    """Delete a service, or start its deletion; True if its row is gone (finalizers: ``catalog_site.finalizers``).

    - draft or decommissioned (it owns nothing): deleted at once, unless it has finalizers;
    - active or failed (it may own resources): given the ``catalog/decommission`` finalizer and moved to
      in-decommissioning, which queues its decommission run; the run removes the finalizer once every
      resource is given back (``service_release_decommission``), and the row goes then, unless other
      finalizers remain. A failed decommission leaves it failed, still being deleted: decommissioning it
      again (the retry) finishes the deletion;
    - in-decommissioning: given the finalizer; the decommission under way finishes the deletion;
    - in-delivery: ``DeletionRefused``;
    - already being deleted: nothing changes.
    """
    locked = Service.objects.select_for_update(of=("self",)).select_related("service_type").get(pk=service.pk)
    if locked.deleting_since is not None:
        return False
    refusal = deletion_refusal(locked)
    if refusal:
        raise DeletionRefused(refusal)
    decommission = locked.status not in locked.lifecycle.deletable
    if finalizers.request_deletion(locked, add=[DECOMMISSION_FINALIZER] if decommission else []):
        return True
    locked.version += 1
    locked.save(update_fields=["version", "last_updated"])
    record_history(locked, from_status=locked.status, user=user,
                   message=f"Deletion requested {finalizers.waiting(locked)}")
    if decommission and locked.status != Status.IN_DECOMMISSIONING:
        service_transition(service=locked, to=Status.IN_DECOMMISSIONING, version=locked.version, user=user,
                           message="Decommission: the service is being deleted")
    return False


@transaction.atomic
def service_release_decommission(*, service: Service, user=None) -> bool:
    """Remove the ``catalog/decommission`` finalizer of a decommissioned service that owns nothing any more;
    True if that was its last finalizer, and the service is deleted.

    Its generator runs and history go with it (they cascade): a run calls this once its own row is saved.
    """
    locked = Service.objects.select_for_update(of=("self",)).get(pk=service.pk)
    if (DECOMMISSION_FINALIZER not in locked.finalizers or locked.status != Status.DECOMMISSIONED
            or locked.resources.exists()):
        return False
    if finalizers.remove_finalizer(locked, DECOMMISSION_FINALIZER):
        return True
    locked.version += 1
    locked.save(update_fields=["version", "last_updated"])
    record_history(locked, from_status=locked.status, user=user,
            message=f"Decommissioned: {DECOMMISSION_FINALIZER} removed; still {finalizers.waiting(locked)[1:-1]}")
    return False


# -- service types -------------------------------------------------------------------------------

@transaction.atomic
def service_type_save(*, definition: dict, instance: ServiceType | None = None, source: str = "") \
        -> tuple[ServiceType, str]:
    """Create or update a service type from a definition; returns it and "created"/"updated"/"unchanged".

    Without ``instance`` the type is found by slug. A definition that would strand existing services
    (an attribute in use removed, a choice in use dropped, a value no longer valid, a new required
    attribute without a default) is refused with ``ValidationError`` naming the attribute.
    Parameters named by suggestion lists are created empty if missing, so that they can be filled.
    """
    try:
        normalised = normalise_type_definition(definition)
    except DefinitionErrors as exc:
        raise ValidationError(exc.by_field()) from exc
    if instance is None:
        instance = ServiceType.objects.select_for_update().filter(slug=normalised["slug"]).first()
    else:
        instance = ServiceType.objects.select_for_update().get(pk=instance.pk)
    outcome = "created" if instance is None else "updated"
    instance = instance or ServiceType()
    normalised["approval_rule"] = normalised.pop("requires_approval")
    fields = ("slug", "name", "description", "icon", "lifecycle", "generator", "annotations", "attributes",
              "approval_rule")
    if outcome == "updated" and all(getattr(instance, name) == normalised[name] for name in fields):
        return instance, "unchanged"
    if outcome == "updated":
        problems = stranding_problems(instance, normalised["attributes"])
        if problems:
            raise ValidationError({"attributes": [f"{name}: {reason}" for name, reason in problems]})
    for name in fields:
        setattr(instance, name, normalised[name])
    if source:
        instance.source = source
    instance.full_clean()
    instance.save()
    for attribute in [*normalised["attributes"],
                      *(item for a in normalised["attributes"] for item in a.get("item_attributes", []))]:
        spec = suggestion_spec(attribute)
        if spec and spec["type"] == "parameters":
            Parameter.objects.get_or_create(
                name=spec["parameter_name"],
                defaults={"description": f"Suggested values of {instance.name}: {attribute['label']}."},
            )
    return instance, outcome


__all__ = [
    "DeletionRefused", "IllegalTransition", "ServiceValidationError", "VersionConflict",
    "attribute_write_refusal", "generated_item_fields", "identity_write_refusal", "on_enter_working_state",
    "service_create",
    "deletion_refusal", "service_delete", "service_release_decommission", "service_set_generated_attributes",
    "service_approval_move", "service_transition", "service_type_save",
    "service_update", "service_validate_create",
]
