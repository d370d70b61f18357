from django.apps import AppConfig


class ServicesConfig(AppConfig):
    """The service catalog: service types, services, their lifecycle and generators."""

    name = "services"
