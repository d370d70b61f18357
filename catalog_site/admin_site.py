"""The catalog's admin site: the sidebar's order, the dashboard on the index, the global search.

``CatalogAdminConfig`` (``catalog_site.apps``) makes it the default site, so ``admin.site`` and every
``@admin.register`` of the apps are this site. Compared to Django's:

- the app list (sidebar and index) starts with "Service catalog", one click to the catalog page, for
  whoever may open it; then the inventory apps as Django sorts them; then one "Scheduling" group with
  the periodic-task models of django_celery_beat, away from the inventory. Each app and model is still
  listed only to those with module permission (the apps' admins decide, scoped by tenant);
- the index shows the dashboard (``catalog_site.dashboard``) above the app list;
- ``search/`` answers the search box of every page's header (``catalog_site.search``).
"""

from django.apps import apps
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse

from . import dashboard, search

# The catalog page is a view of the services' admin (services/admin/__init__.py, ``catalog_view``).
CATALOG_MODEL = "services.Service"
CATALOG_URL_NAME = "services_service_catalog"
SCHEDULING_APPS = ("django_celery_beat",)
SCHEDULING_FIRST_MODEL = "PeriodicTask"


class CatalogAdminSite(admin.AdminSite):
    """The admin site of the catalog (see the module docstring)."""

    site_header = "The catalog"
    site_title = "The catalog"
    index_title = "Dashboard"

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        inventory = [app for app in app_list if app["app_label"] not in SCHEDULING_APPS]
        scheduling = [app for app in app_list if app["app_label"] in SCHEDULING_APPS]
        grouped = [scheduling_group(scheduling)] if scheduling else []
        catalog = [] if app_label is not None else self.catalog_entry(request)
        return catalog + inventory + grouped

    def catalog_entry(self, request) -> list[dict]:
        """The "Service catalog" entry, as an app of one row, for whoever may open the catalog page."""
        service_admin = self._registry.get(apps.get_model(CATALOG_MODEL))
        if service_admin is None or not service_admin.has_view_or_change_permission(request):
            return []
        try:
            url = reverse(f"{self.name}:{CATALOG_URL_NAME}", current_app=self.name)
        except NoReverseMatch:
            return []
        return [{
            "name": "Service catalog",
            "app_label": "service_catalog",
            "app_url": url,
            "has_module_perms": True,
            "models": [{"name": "Order a service", "object_name": "Catalog", "admin_url": url, "add_url": None,
                        "view_only": True, "perms": {"view": True}}],
        }]

    def get_urls(self):
        return [path("search/", self.admin_view(self.search_view), name="search"), *super().get_urls()]

    def index(self, request, extra_context=None):
        return super().index(request, {"dashboard": dashboard.build(request, self), **(extra_context or {})})

    def search_view(self, request):
        """The results of the header's search box, grouped by type (staff only, as every admin page)."""
        form = search.SearchForm(request.GET if "q" in request.GET else None)
        groups = []
        if form.is_valid():
            groups = search.Search(request, self, form.cleaned_data["q"], form.cleaned_data["group"]).groups()
        context = {
            **self.each_context(request),
            "title": "Search",
            "form": form,
            "search_query": search_text(form),
            "groups": groups,
            "total": sum(group.count for group in groups),
        }
        return TemplateResponse(request, "admin/search.html", context)


def scheduling_group(apps: list[dict]) -> dict:
    """The periodic-task apps as one "Scheduling" group: periodic tasks first, then their schedules."""
    models = [model for app in apps for model in app["models"]]
    models.sort(key=lambda model: (model["object_name"] != SCHEDULING_FIRST_MODEL, str(model["name"])))
    return {**apps[0], "name": "Scheduling", "models": models}


def search_text(form) -> str:
    """What the search boxes show again: the term searched, or what was typed, less what cannot be shown."""
    if not form.is_bound:
        return ""
    if form.is_valid():
        return form.cleaned_data["q"]
    return str(form.data.get("q", "")).replace("\x00", "")[:search.MAX_LENGTH]
