"""Routers: one per app, mounted at ``/api/<app>/`` under the namespace ``<app>-api``."""

from rest_framework.routers import DefaultRouter

# NetBox's bulk writes on the list route: PUT, PATCH and DELETE of a list of objects named by id.
BULK_METHODS = {"put": "bulk_update", "patch": "bulk_partial_update", "delete": "bulk_destroy"}


class CatalogRouter(DefaultRouter):
    """DRF's DefaultRouter (trailing slashes, an app root view); one place to change the convention.

    The list route also maps PUT, PATCH and DELETE to the viewset's bulk actions where it has them
    (``CatalogModelViewSet`` does; a viewset's ``http_method_names`` may still refuse them).
    """

    routes = [
        DefaultRouter.routes[0]._replace(mapping={**DefaultRouter.routes[0].mapping, **BULK_METHODS}),
        *DefaultRouter.routes[1:],
    ]
