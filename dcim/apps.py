from django.apps import AppConfig


class DcimConfig(AppConfig):
    """Locations, manufacturers, devices and their interfaces."""

    name = "dcim"
    verbose_name = "DCIM"
