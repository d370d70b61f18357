"""Service lifecycles: the statuses a service goes through and the transitions between them.

A lifecycle is data, like the service types that name it. Only the default one exists today:

    draft -> in-delivery -> active -> in-decommissioning -> decommissioned
                  |   ^        |              |
                  v   |        +-> in-delivery (update path: an rw+ attribute changed)
                 failed <---------------------+

A type may ask for an approval (``requires_approval``): a service of it asked to enter in-delivery
(from draft, active by the update path, or failed) waits in ``pending-approval`` instead, with a
plan of what delivering it would change. Approving sends it on to in-delivery, rejecting back to
where it came from (``services.approvals``); no user transition leaves pending-approval otherwise.

``in-delivery`` and ``in-decommissioning`` are *working* states: entering one queues a generator
run (see ``services.services.on_enter_working_state``), and the run moves the service on (to active
or decommissioned) or to failed with the reason. Services of a type without a generator are moved
on by hand (``in-delivery -> active``); so can staff override a run.
"""

from dataclasses import dataclass, field

from django.db import models

# The finalizer of a service being deleted while it may still own resources: its decommission run
# removes it once they are all given back (``services.services.service_delete``).
DECOMMISSION_FINALIZER = "catalog/decommission"
# Where a service being deleted may still go: down the decommission path only.
DELETING_TARGETS = frozenset({"in-decommissioning", "decommissioned", "failed"})


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending-approval", "Pending approval"
    IN_DELIVERY = "in-delivery", "In delivery"
    ACTIVE = "active", "Active"
    IN_DECOMMISSIONING = "in-decommissioning", "In decommissioning"
    DECOMMISSIONED = "decommissioned", "Decommissioned"
    FAILED = "failed", "Failed"


@dataclass(frozen=True)
class Lifecycle:
    """The statuses of one lifecycle and what may happen in each.

    - ``transitions``: for each status, the statuses a user may request next, in button order;
    - ``working``: statuses whose entry requests a generator run;
    - ``update_path``: statuses in which ``rw+`` attributes may change, mapped to the status the
      change leads to (an active service goes back through delivery);
    - ``identity_editable``: statuses in which tenant, location and identifier may still change;
    - ``deletable``: statuses in which a service may be deleted (it owns nothing there);
    - ``labels``: the verb shown on the button of a transition;
    - ``approval_status`` and ``approval_gated``: entering a gated status, for a service whose type
      asks for an approval, leads to ``approval_status`` instead (approved: on to the gated status;
      rejected: back to the status it came from).
    """

    name: str
    initial: str
    transitions: dict[str, tuple[str, ...]]
    working: frozenset[str]
    update_path: dict[str, str]
    identity_editable: frozenset[str]
    deletable: frozenset[str]
    labels: dict[tuple[str, str], str] = field(default_factory=dict)
    approval_status: str = ""
    approval_gated: frozenset[str] = frozenset()

    def targets(self, status: str) -> tuple[str, ...]:
        """The statuses a service in ``status`` may be moved to."""
        return self.transitions.get(status, ())

    def allows(self, status: str, to: str) -> bool:
        return to in self.targets(status)

    def allows_update(self, status: str) -> bool:
        """Whether ``rw+`` attributes may change in ``status``."""
        return status in self.update_path

    def label(self, status: str, to: str) -> str:
        return self.labels.get((status, to)) or Status(to).label

    def gates(self, to: str) -> bool:
        """Whether entering ``to`` waits for an approval (when the service's type asks for one)."""
        return bool(self.approval_status) and to in self.approval_gated

    def approval_sources(self) -> list[str]:
        """The statuses from which a service may enter a gated status: where a rejection sends it back."""
        sources = {status for status, targets in self.transitions.items() if self.approval_gated & set(targets)}
        sources |= {status for status, target in self.update_path.items() if target in self.approval_gated}
        return sorted(sources)

    def describe(self) -> dict:
        """The lifecycle as plain data (for the API)."""
        description = {
            "name": self.name,
            "initial": self.initial,
            "transitions": {status: list(targets) for status, targets in self.transitions.items()},
            "working": sorted(self.working),
            "update_path": dict(self.update_path),
        }
        if self.approval_status:
            description["approval"] = {"status": self.approval_status, "gated": sorted(self.approval_gated),
                                       "approve": sorted(self.approval_gated),
                                       "reject": self.approval_sources()}
        return description


S = Status
DEFAULT = Lifecycle(
    name="default",
    initial=S.DRAFT,
    transitions={
        S.DRAFT: (S.IN_DELIVERY,),
        S.IN_DELIVERY: (S.ACTIVE, S.FAILED),
        S.ACTIVE: (S.IN_DELIVERY, S.IN_DECOMMISSIONING),
        S.IN_DECOMMISSIONING: (S.DECOMMISSIONED, S.FAILED),
        # A failed service is retried, or given up and decommissioned so that its resources are freed.
        S.FAILED: (S.IN_DELIVERY, S.IN_DECOMMISSIONING),
        S.DECOMMISSIONED: (),
        # Left only by a decision on its approval (services.approvals): approve or reject.
        S.PENDING_APPROVAL: (),
    },
    working=frozenset({S.IN_DELIVERY, S.IN_DECOMMISSIONING}),
    update_path={S.DRAFT: S.DRAFT, S.ACTIVE: S.IN_DELIVERY, S.FAILED: S.IN_DELIVERY},
    identity_editable=frozenset({S.DRAFT}),
    deletable=frozenset({S.DRAFT, S.DECOMMISSIONED}),
    labels={
        (S.DRAFT, S.IN_DELIVERY): "Deliver",
        (S.IN_DELIVERY, S.ACTIVE): "Mark active",
        (S.IN_DELIVERY, S.FAILED): "Mark failed",
        (S.ACTIVE, S.IN_DELIVERY): "Redeliver",
        (S.ACTIVE, S.IN_DECOMMISSIONING): "Decommission",
        (S.IN_DECOMMISSIONING, S.DECOMMISSIONED): "Mark decommissioned",
        (S.IN_DECOMMISSIONING, S.FAILED): "Mark failed",
        (S.FAILED, S.IN_DELIVERY): "Retry delivery",
        (S.FAILED, S.IN_DECOMMISSIONING): "Decommission",
    },
    approval_status=S.PENDING_APPROVAL,
    approval_gated=frozenset({S.IN_DELIVERY}),
)
del S

LIFECYCLES: dict[str, Lifecycle] = {DEFAULT.name: DEFAULT}


def get_lifecycle(name: str) -> Lifecycle:
    """The lifecycle called ``name`` (service types are validated to name a known one)."""
    return LIFECYCLES[name]
