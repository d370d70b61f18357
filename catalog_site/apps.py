from django.apps import AppConfig


class CatalogSiteConfig(AppConfig):
    """The shared base: abstract models, API tokens, locks, API and admin base classes."""

    name = "catalog_site"
    verbose_name = "Catalog"
