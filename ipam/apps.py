from django.apps import AppConfig


class IpamConfig(AppConfig):
    """Namespaces, prefixes, IP addresses, L2 domains and VLANs."""

    name = "ipam"
    verbose_name = "IPAM"

    def ready(self):
        from . import signals  # noqa: F401  (connects the free-space bookkeeping)
