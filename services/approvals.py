"""Approvals: a service whose type asks for one is delivered only once someone else approved its plan.

The flow (the lifecycle's ``pending-approval`` status, see ``services.lifecycle``):

- asking for delivery (draft -> in-delivery, an ``rw+`` change of an active service, a retry of a
  failed one) of a service whose type's rule matches its attributes leads to pending-approval
  instead (``services.services``), and ``request_approval`` computes a plan (the generator's dry
  run) and records a pending ``Approval`` showing it;
- ``approve`` (a user with ``services.approve_service`` or a superuser, who may change the
  service, and who is not the requester) moves the service to in-delivery: its provision run is
  the approval's ``apply_run``; ``reject`` sends it back where it came from, with the reason. The
  requester may withdraw (reject) their own request, never approve it;
- the apply run compares what it would change with the approved plan (``plan_differences``): if
  they differ (a port taken meanwhile), it applies nothing, and ``plan_drifted`` supersedes the
  approval and asks for a new one with a new plan, rather than applying what nobody approved.

The API and the admin call these functions, so they refuse the same things with the same words.
"""

import re
from collections import Counter
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from catalog_site import access, events

from .lifecycle import Status
from .models import Approval, GeneratorRun, Service

APPROVE_PERMISSION = "services.approve_service"
# What a difference between a plan and its run shows of each value (documentation is pages long).
SHOWN_VALUE = 60
SHOWN_DIFFERENCES = 3
ADMIN_URL = re.compile(r"/admin/(\w+)/(\w+)/(\d+)/")


class ApprovalRefused(Exception):
    """A decision that cannot be taken now: the approval is decided already, or the user requested it (409)."""


@dataclass(frozen=True)
class Refusal:
    """Why a user cannot decide an approval: ``permission`` (403) or ``conflict`` (409), and the sentence."""

    kind: str
    message: str

    def exception(self) -> Exception:
        return PermissionDenied(self.message) if self.kind == "permission" else ApprovalRefused(self.message)


def username(user) -> str | None:
    return getattr(user, "username", None) if getattr(user, "pk", None) else None


def payload(approval: Approval) -> dict:
    """An approval as plain JSON, for events."""
    service = approval.service
    return {
        "approval": approval.pk, "status": approval.status,
        "service": service.pk, "service_identifier": service.service_identifier, "service_status": service.status,
        "from_status": approval.from_status, "plan_run": approval.plan_run_id, "apply_run": approval.apply_run_id,
        "requested_by": username(approval.requested_by), "decided_by": username(approval.decided_by),
        "comment": approval.comment,
    }


def _publish(event: str, approval: Approval) -> None:
    events.publish(event, payload(approval), tenant_id=approval.service.tenant_id)


def pending_approval(service: Service) -> Approval | None:
    """The service's approval waiting for a decision, if any."""
    return Approval.objects.filter(service=service, status=Approval.Status.PENDING).order_by("-pk").first()


# -- requesting -----------------------------------------------------------------------------------

def request_approval(*, service: Service, from_status: str, user=None) -> Approval:
    """Plan ``service`` (now in pending-approval) and record the approval that waits for a decision.

    The plan is computed in this transaction and rolled back; a plan that fails is kept too: the
    approver sees why a delivery would fail now. A type without a generator has no plan.
    """
    from . import runs  # runs builds on the service layer, which calls this

    plan = runs.plan_run(service=service, user=user) if service.service_type.generator else None
    approval = Approval.objects.create(service=service, plan_run=plan, from_status=from_status,
                                       service_version=service.version,
                                       requested_by=user if getattr(user, "pk", None) else None)
    _publish("approval.requested", approval)
    return approval


# -- deciding -------------------------------------------------------------------------------------

def decision_refusal(approval: Approval, user, decision: str = "approve") -> Refusal | None:
    """Why ``user`` cannot ``decision`` ("approve", "reject") ``approval``, or None if they can.

    Approving needs the ``services.approve_service`` permission (a superuser has it), the right to
    change the service, and not to be the one who asked for it, superuser or not: a second pair of
    eyes is the point. The requester may reject (withdraw) their own request.
    """
    service = approval.service
    own = approval.requested_by_id is not None and approval.requested_by_id == getattr(user, "pk", None)
    may_decide = bool(user and user.is_active and (user.is_superuser or user.has_perm(APPROVE_PERMISSION)))
    if not (may_decide or (decision == "reject" and own)):
        return Refusal("permission", "Deciding an approval needs the permission 'Can approve service plans' "
                                     f"({APPROVE_PERMISSION}).")
    if not access.for_user(user).can_write(service, "change"):
        return Refusal("permission", f"You may not change {service}: deciding its approval needs the editor role "
                                     "on its tenant.")
    if approval.status != Approval.Status.PENDING:
        return Refusal("conflict", f"Approval #{approval.pk} is {approval.get_status_display().lower()} already: "
                                   "only a pending approval can be decided.")
    if own and decision == "approve":
        return Refusal("conflict", f"You requested approval #{approval.pk}: another person must approve it.")
    return None


def _locked_pending(approval: Approval, user, decision: str) -> Approval:
    """The approval's row, locked, after checking that ``user`` may take ``decision`` now."""
    locked = Approval.objects.select_for_update(of=("self",)).select_related("service__service_type").get(
        pk=approval.pk)
    refusal = decision_refusal(locked, user, decision)
    if refusal:
        raise refusal.exception()
    if locked.service.status != Status.PENDING_APPROVAL:
        raise ApprovalRefused(f"{locked.service} is {locked.service.status}, not waiting for approval: "
                              f"approval #{locked.pk} no longer applies.")
    return locked


def _decide(approval: Approval, user, status: str, comment: str) -> None:
    approval.status, approval.comment = status, comment or ""
    approval.decided_by, approval.decided_at = user, timezone.now()


@transaction.atomic
def approve(*, approval: Approval, user, comment: str = "") -> Approval:
    """Approve the plan: the service goes to in-delivery and its provision run (queued) applies it.

    ``PermissionDenied`` (403) or ``ApprovalRefused`` (409) with the reason otherwise.
    """
    from . import services

    approval = _locked_pending(approval, user, "approve")
    target = sorted(approval.service.lifecycle.approval_gated)[0]
    _decide(approval, user, Approval.Status.APPROVED, comment)
    approval.service, run = services.service_approval_move(
        service=approval.service, to=target, user=user,
        message=f"Approval #{approval.pk} approved by {user}" + (f": {comment}" if comment else ""))
    approval.apply_run = run
    approval.save()
    _publish("approval.approved", approval)
    return approval


@transaction.atomic
def reject(*, approval: Approval, user, reason: str) -> Approval:
    """Reject the plan: the service goes back to where it was (draft, active or failed), with ``reason``.

    A reason is required (``ValidationError`` on ``comment``): the requester needs to know what to change.
    """
    from . import services

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"comment": "Give the reason of the rejection: the requester needs to know it."})
    approval = _locked_pending(approval, user, "reject")
    _decide(approval, user, Approval.Status.REJECTED, reason)
    approval.service, _ = services.service_approval_move(
        service=approval.service, to=approval.from_status, user=user,
        message=f"Approval #{approval.pk} rejected by {user}: {reason}")
    approval.save()
    _publish("approval.rejected", approval)
    return approval


# -- applying -------------------------------------------------------------------------------------

def approval_for_run(run: GeneratorRun, service: Service) -> Approval | None:
    """The approval a provision run applies: the one that queued it, or (a run queued again by a
    retry) the service's latest approved one not yet applied, which the run then takes over."""
    if run.action != GeneratorRun.Action.PROVISION:
        return None
    approval = Approval.objects.filter(apply_run=run).select_related("plan_run").first()
    if approval is not None:
        return approval
    latest = Approval.objects.filter(service=service).select_related("plan_run", "apply_run").order_by("-pk").first()
    if (latest is None or latest.status != Approval.Status.APPROVED
            or (latest.apply_run is not None and latest.apply_run.status == GeneratorRun.Status.SUCCEEDED)
            or not service.service_type.requires_approval(service.attributes)):
        return None
    latest.apply_run = run
    latest.save(update_fields=["apply_run"])
    return latest


def plan_drifted(*, approval: Approval, service: Service, run: GeneratorRun, reason: str) -> Approval:
    """The apply run found other changes than the plan's: supersede the approval, ask for a new one.

    The service goes back to pending-approval with a new plan; the new approval is the original
    requester's (who still cannot approve it) and a rejection still sends the service back to where
    it was before the first request.
    """
    from . import services

    approval.status, approval.superseded_reason = Approval.Status.SUPERSEDED, reason
    approval.save(update_fields=["status", "superseded_reason"])
    service, _ = services.service_approval_move(
        service=service, to=service.lifecycle.approval_status, user=None,
        message=f"Run #{run.pk} stopped: the plan changed since approval #{approval.pk}; a new approval is needed")
    return request_approval(service=service, from_status=approval.from_status, user=approval.requested_by)


# -- comparing a plan with its run ----------------------------------------------------------------

def _related_label(model: str, field: str) -> str | None:
    """``app.model`` of the object the field ``field`` of ``model`` points to, or None."""
    try:
        related = apps.get_model(model)._meta.get_field(field).related_model
    except (LookupError, ValueError, FieldDoesNotExist):
        return None
    return related._meta.label_lower if related is not None else None


def normalise_changes(changes: list[dict]) -> list[dict]:
    """A run's changes in a form that compares across runs.

    The objects a run creates get other ids in the plan (rolled back) than in the real run (on
    PostgreSQL a rolled-back id is not reused): each is named by its model and its rank among the
    objects of that model the run creates, wherever its id appears (the object itself, a foreign key
    to it, a link to its admin page in a text). Existing objects keep their ids: which port is
    claimed matters.
    """
    created, counts = {}, Counter()
    for change in changes:
        if change.get("action") == "created":
            counts[change["model"]] += 1
            created[(change["model"], change.get("id"))] = f"new {change['model']} #{counts[change['model']]}"

    def ref(model, pk):
        return created.get((model, pk), pk)

    def value(model, field, raw):
        related = _related_label(model, field)
        if related and isinstance(raw, int) and not isinstance(raw, bool):
            return ref(related, raw)
        if isinstance(raw, str):
            return ADMIN_URL.sub(lambda m: f"/admin/{m[1]}/{m[2]}/{ref(f'{m[1]}.{m[2]}', int(m[3]))}/", raw)
        return raw

    return [{"action": change.get("action"), "model": change.get("model"),
             "object": ref(change.get("model"), change.get("id")), "display": change.get("display", ""),
             "fields": {name: [value(change.get("model"), name, old), value(change.get("model"), name, new)]
                        for name, (old, new) in (change.get("fields") or {}).items()}}
            for change in changes]


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE - 1] + "…"


def _key(change: dict) -> tuple:
    return change["action"], change["model"], str(change["object"])


def plan_differences(planned: list[dict], applied: list[dict]) -> list[str]:
    """What ``applied`` (a run's changes) does that ``planned`` did not, for people; empty if the same.

    Compared as sets of normalised changes (``normalise_changes``): the order does not matter.
    """
    before = {_key(change): change for change in normalise_changes(planned)}
    after = {_key(change): change for change in normalise_changes(applied)}
    # Objects dropped or added first (another port), then what changed in the objects both name.
    differences = [f"planned {change['action']} {change['model']} {change['display']}, not done now"
                   for key, change in before.items() if key not in after]
    differences += [f"{change['action']} {change['model']} {change['display']} was not planned"
                    for key, change in after.items() if key not in before]
    for key, change in before.items():
        other = after.get(key)
        if other is None:
            continue
        what = f"{change['action']} {change['model']} {change['display']}"
        if other["display"] != change["display"]:
            differences.append(f"{what}: now {other['display']}")
        for name in sorted(set(change["fields"]) | set(other["fields"])):
            was, now = change["fields"].get(name), other["fields"].get(name)
            if was != now:
                differences.append(f"{what}: {name} planned {_shown(was and was[1])}, now {_shown(now and now[1])}")
    return differences


def drift_reason(differences: list[str]) -> str:
    shown = "; ".join(differences[:SHOWN_DIFFERENCES])
    more = len(differences) - SHOWN_DIFFERENCES
    return (f"The plan changed since it was approved: {shown}" + (f" (and {more} more)" if more > 0 else "")
            + ". Nothing was applied; a new approval is requested.")


__all__ = ["ApprovalRefused", "Refusal", "approval_for_run", "approve", "decision_refusal", "drift_reason",
           "normalise_changes", "pending_approval", "plan_differences", "plan_drifted", "reject",
           "request_approval"]
