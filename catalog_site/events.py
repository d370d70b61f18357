"""Events: what happened in the catalog, published to the webhooks that ask for it.

(Being written: see issue 12. ``object_changed`` is called by the change log for every recorded change.)
"""


def object_changed(change) -> None:
    """Publish the ``ObjectChange`` ``change`` (``object.created``, ``object.updated``, ``object.deleted``)."""


def publish(event: str, payload: dict, *, tenant_id: int | None) -> None:
    """Publish ``event`` with ``payload`` about an object of tenant ``tenant_id`` (None: shared)."""
