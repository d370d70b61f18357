from django.apps import AppConfig


class TenancyConfig(AppConfig):
    """Tenants (a tree with several roots) and users' memberships in them."""

    name = "tenancy"
