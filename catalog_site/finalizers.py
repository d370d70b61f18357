"""Finalizers: deleting an object waits until the parties named on it let go (as Kubernetes does).

An object of a primary model lists in ``finalizers`` the names (``example.com/backup``) of the
parties that must act before it goes. Deleting such an object only marks it as deleting
(``deleting_since``): it stays, visible as before, and accepts no change but the removal of
finalizers; when the last one is removed, it is deleted. Asking again to delete it changes nothing.

Names under ``catalog/`` are the catalog's own (``catalog/decommission``: a service whose resources
are being given back): the catalog adds and removes them, users can do neither
(``check_user_change``).

The API (``CatalogModelViewSet``), the admin (``CatalogModelAdmin``) and the services app call
these functions. They check no access: the callers do (deleting needs the delete right, removing a
finalizer the change right).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst

from .models import PrimaryModel, finalizer_errors

SYSTEM_PREFIX = "catalog/"


class ObjectDeleting(Exception):
    """A change refused because the object is being deleted (the API answers 409)."""

    def __init__(self, obj, refused: str = ""):
        self.message = (f"{capfirst(obj._meta.verbose_name)} {obj} is being deleted {waiting(obj)}: it accepts no "
                        f"change but the removal of finalizers" + (f"; refused: {refused}." if refused else "."))
        super().__init__(self.message)


def waiting(obj) -> str:
    """``(since ..., waiting for ...)``: the deletion state of ``obj`` in words."""
    since = obj.deleting_since.isoformat(timespec="seconds") if obj.deleting_since else "now"
    names = ", ".join(obj.finalizers) or "nothing"
    return f"(since {since}, waiting for the removal of {names})"


def applies_to(model) -> bool:
    """Whether objects of ``model`` have finalizers (every primary model does)."""
    return isinstance(model, type) and issubclass(model, PrimaryModel)


def is_deleting(obj) -> bool:
    return getattr(obj, "deleting_since", None) is not None


def lock(obj) -> dict:
    """The stored ``finalizers`` and ``deleting_since`` of ``obj``, its row locked until the transaction ends.

    A tree node takes its tree's lock first, as every writer of the tree does (``TreeModel.lock_tree``).
    """
    if hasattr(obj, "lock_tree"):
        obj.lock_tree()
    stored = (type(obj)._base_manager.select_for_update().filter(pk=obj.pk)
              .values("finalizers", "deleting_since").first())
    if stored is None:
        raise type(obj).DoesNotExist(f"{capfirst(obj._meta.verbose_name)} {obj.pk} no longer exists.")
    return stored


def refresh(obj) -> None:
    """Re-read ``finalizers`` and ``deleting_since`` of ``obj`` under a row lock (a deletion requested
    meanwhile is then seen, and a save of ``obj`` does not undo it)."""
    stored = lock(obj)
    obj.finalizers, obj.deleting_since = stored["finalizers"], stored["deleting_since"]


def check_user_change(before, after) -> None:
    """Refuse (``ValidationError`` on ``finalizers``) a user's change that adds or removes a ``catalog/`` name."""
    before = before if isinstance(before, list) else []
    after = after if isinstance(after, list) else []
    added = [name for name in after if isinstance(name, str) and name.startswith(SYSTEM_PREFIX) and name not in before]
    removed = [name for name in before if name.startswith(SYSTEM_PREFIX) and name not in after]
    errors = []
    if added:
        errors.append(f"{', '.join(added)}: names under {SYSTEM_PREFIX} are the catalog's own; users cannot add them.")
    if removed:
        errors.append(f"{', '.join(removed)}: the catalog removes this finalizer itself once its work is done; "
                      "users cannot remove it.")
    if errors:
        raise ValidationError({"finalizers": errors})


@transaction.atomic
def request_deletion(obj, *, add=()) -> bool:
    """Delete ``obj``, unless it has finalizers (``add`` gives it more first): it is then marked deleting.

    True if ``obj`` was deleted (its pk is then None). For an object already deleting, nothing changes.
    """
    stored = lock(obj)
    names = [*stored["finalizers"], *(name for name in add if name not in stored["finalizers"])]
    if not names:
        obj.delete()
        return True
    obj.finalizers, obj.deleting_since = stored["finalizers"], stored["deleting_since"]
    fields = []
    if names != obj.finalizers:
        obj.finalizers = names
        fields.append("finalizers")
    if obj.deleting_since is None:
        obj.deleting_since = timezone.now()
        fields.append("deleting_since")
    if fields:
        obj.save(update_fields=[*fields, "last_updated"])
    return False


@transaction.atomic
def set_finalizers(obj, names: list) -> bool:
    """Give ``obj`` the finalizers ``names``; True if that removed the last one of an object being deleted,
    which is then deleted (its pk None).

    While ``obj`` is being deleted, only removals are accepted (``ObjectDeleting`` for an addition).
    The ``catalog/`` rule is the caller's (``check_user_change``), so that the catalog may use this too.
    """
    errors = finalizer_errors(names)
    if errors:
        raise ValidationError({"finalizers": errors})
    stored = lock(obj)
    obj.finalizers, obj.deleting_since = stored["finalizers"], stored["deleting_since"]
    if is_deleting(obj):
        added = [name for name in names if name not in stored["finalizers"]]
        if added:
            raise ObjectDeleting(obj, f"adding the finalizers {', '.join(added)}")
        if not names:
            obj.delete()
            return True
    if names != obj.finalizers:
        obj.finalizers = list(names)
        obj.save(update_fields=["finalizers", "last_updated"])
    return False


@transaction.atomic
def remove_finalizer(obj, name: str) -> bool:
    """Remove the finalizer ``name`` from ``obj`` if it holds it; True if that deleted ``obj`` (``set_finalizers``)."""
    stored = lock(obj)
    if name not in stored["finalizers"]:
        obj.finalizers, obj.deleting_since = stored["finalizers"], stored["deleting_since"]
        return False
    return set_finalizers(obj, [other for other in stored["finalizers"] if other != name])
