"""Celery tasks of the shared base: the change log's retention."""

from celery import shared_task

from . import changelog


@shared_task(name="catalog_site.purge_changelog")
def purge_changelog() -> int:
    """Delete the change records older than ``CHANGELOG_RETENTION_DAYS`` (scheduled daily); how many went."""
    return changelog.purge()
