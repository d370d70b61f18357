from django.apps import AppConfig


class CatalogSiteConfig(AppConfig):
    """The shared base: abstract models, API tokens, locks, API and admin base classes."""

    name = "catalog_site"
    verbose_name = "Catalog"

    def ready(self):
        from . import access  # noqa: F401 - registers the scoping system check
        from .api import authentication, schema  # noqa: F401 - the bearer settings check, the OpenAPI auth schemes
