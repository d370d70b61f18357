import sys
import uuid

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps

# Commands whose changes are not the command's own (a server's requests, a worker's runs open their own).
UNGROUPED_COMMANDS = frozenset({"runserver", "celery", "test", "migrate"})


def management_command(argv: list[str]) -> str | None:
    """The management command this process runs (``manage.py load_demo``: load_demo), None if none."""
    if len(argv) < 2 or not argv[0].endswith("manage.py") or argv[1].startswith("-"):
        return None
    return None if argv[1] in UNGROUPED_COMMANDS else argv[1]


class CatalogSiteConfig(AppConfig):
    """The shared base: abstract models, API tokens, locks, API and admin base classes."""

    default = True  # the module holds two configurations: "catalog_site" means this one
    name = "catalog_site"
    verbose_name = "Catalog"

    def ready(self):
        from . import access, changelog  # noqa: F401 - registers the scoping system check
        from .api import authentication, schema  # noqa: F401 - the bearer settings check, the OpenAPI auth schemes

        changelog.connect()
        command = management_command(sys.argv)
        if command:
            changelog.set_default_context(changelog.ChangeContext(
                source="command", request_id=uuid.uuid4(), extra={"command": command}))


class CatalogAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the catalog's site as the default one (``catalog_site.admin_site``).

    ``default_site`` replaces ``django.contrib.admin.site``, so every ``@admin.register`` of the apps
    lands on the catalog's site unchanged.
    """

    default = False  # installed by its dotted path, in place of "django.contrib.admin"
    default_site = "catalog_site.admin_site.CatalogAdminSite"
