"""Celery tasks of the shared base: the retention of the change log and of the webhook delivery log, and
the delivery of webhooks."""

from celery import shared_task

from . import changelog


@shared_task(name="catalog_site.purge_changelog")
def purge_changelog() -> int:
    """Delete the change records, and the finished webhook deliveries, older than ``CHANGELOG_RETENTION_DAYS``
    (scheduled daily); how many went."""
    from . import webhooks

    return changelog.purge() + webhooks.purge_deliveries()


@shared_task(bind=True, name="catalog_site.deliver_webhook")
def deliver_webhook(self, delivery_id: int) -> str | None:
    """Make the next attempt of a webhook delivery if it is due (``catalog_site.webhooks.deliver``); a retry
    goes back to the queue this task came from."""
    from . import webhooks

    queue = None if self.request.is_eager else (self.request.delivery_info or {}).get("routing_key")
    return webhooks.deliver(delivery_id, queue=queue)


@shared_task(name="catalog_site.deliver_due_webhooks")
def deliver_due_webhooks() -> int:
    """Send the webhook deliveries that are due (scheduled every minute); how many were."""
    from . import webhooks

    return webhooks.deliver_due()
