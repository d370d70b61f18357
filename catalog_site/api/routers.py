"""Routers: one per app, mounted at ``/api/<app>/`` under the namespace ``<app>-api``."""

from rest_framework.routers import DefaultRouter


class CatalogRouter(DefaultRouter):
    """DRF's DefaultRouter (trailing slashes, an app root view); one place to change the convention."""
