from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.signals import post_migrate


def load_builtin_catalog(sender, using="default", verbosity=1, **kwargs):
    """Load ``services/catalog/`` after ``migrate`` (and after test flushes), so that the built-in types exist.

    Skipped while the services tables do not exist (migrating backwards or another database).
    """
    from .catalog_loader import load_catalog

    if using != DEFAULT_DB_ALIAS or "services_servicetype" not in connections[using].introspection.table_names():
        return
    summary = load_catalog()
    if verbosity >= 1 and (summary.created or summary.updated or verbosity >= 2):
        print(f"  Service catalog: {summary}.")


class ServicesConfig(AppConfig):
    """The service catalog: service types, services, their lifecycle and generators."""

    name = "services"

    def ready(self):
        from catalog_site import access

        from . import providers

        post_migrate.connect(load_builtin_catalog, sender=self, dispatch_uid="services.load_builtin_catalog")
        access.register_rank_source(providers.service_account_ranks)
        providers.connect_guards()
