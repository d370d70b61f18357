from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data set (``manage.py load_demo``). It sits above every other app and imports them."""

    name = "demo"
