"""URL configuration: the admin, the REST API under /api/, the OpenAPI schema and its docs, and the
browsable API's log-in page under /api-auth/."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog_site.api.root import APIRootView
from catalog_site.api.status import HealthView, StatusView
from services.runs import pending_runs

api_patterns = [
    path("", APIRootView.as_view(), name="api-root"),
    path("tenancy/", include(("tenancy.api.urls", "tenancy-api"))),
    path("dcim/", include(("dcim.api.urls", "dcim-api"))),
    path("ipam/", include(("ipam.api.urls", "ipam-api"))),
    path("services/", include(("services.api.urls", "services-api"))),
    path("users/", include(("catalog_site.api.users", "users-api"))),
    path("core/", include(("catalog_site.api.core_urls", "core-api"))),
    path("status/", StatusView.as_view(sections={"runs": pending_runs}), name="status"),
    path("status/health/", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    # The browsable API's log-in and log-out links (session authentication).
    path("api-auth/", include("rest_framework.urls")),
]

# An error outside DRF's views: JSON under /api/ (a 503 when the database is away), HTML elsewhere.
handler400 = "catalog_site.middleware.bad_request"
handler403 = "catalog_site.middleware.permission_denied"
handler404 = "catalog_site.middleware.page_not_found"
handler500 = "catalog_site.middleware.server_error"
