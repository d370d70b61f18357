from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CatalogSiteConfig(AppConfig):
    """The shared base: abstract models, API tokens, locks, API and admin base classes."""

    default = True  # the module holds two configurations: "catalog_site" means this one
    name = "catalog_site"
    verbose_name = "Catalog"

    def ready(self):
        from . import access  # noqa: F401 - registers the scoping system check
        from .api import authentication, schema  # noqa: F401 - the bearer settings check, the OpenAPI auth schemes


class CatalogAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the catalog's site as the default one (``catalog_site.admin_site``).

    ``default_site`` replaces ``django.contrib.admin.site``, so every ``@admin.register`` of the apps
    lands on the catalog's site unchanged.
    """

    default = False  # installed by its dotted path, in place of "django.contrib.admin"
    default_site = "catalog_site.admin_site.CatalogAdminSite"
