"""Admin of generator runs: the runs list, a run's page (live log while it works) and the runs table of a service."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog_site.admin import CatalogModelAdmin

from .. import runs
from ..models import GeneratorRun

SERVICE_PAGE_RUNS = 20  # the runs shown on a service's page; the runs list has them all


def run_log_html(run: GeneratorRun):
    lines = runs.live_log(run)
    if not lines:
        return format_html('<p class="help">{}</p>', "No log yet." if not run.finished else "No log.")
    return format_html('<pre class="generator-run-log">{}</pre>', "\n".join(lines))


def changes_html(changes: list[dict]):
    if not changes:
        return format_html('<p class="help">{}</p>', "No change.")
    rows = format_html_join(
        "", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
        ((c["action"], c["model"], c["display"],
          "; ".join(f"{name}: {old!r} → {new!r}" for name, (old, new) in c.get("fields", {}).items()))
         for c in changes),
    )
    return format_html('<table class="generator-run-changes"><thead><tr><th>Action</th><th>Model</th>'
                       "<th>Object</th><th>Fields</th></tr></thead><tbody>{}</tbody></table>", rows)


def service_runs(service) -> list[dict]:
    """The newest runs of ``service`` for its change page, each with its link and (live) log."""
    latest = GeneratorRun.objects.filter(service=service).order_by("-pk")[:SERVICE_PAGE_RUNS]
    return [{"run": run, "url": reverse("admin:services_generatorrun_change", args=[run.pk]),
             "log": "\n".join(runs.live_log(run))} for run in latest]


@admin.register(GeneratorRun)
class GeneratorRunAdmin(CatalogModelAdmin):
    """Generator runs, read-only; a queued or running run's page reloads itself to follow the log."""

    list_display = ("__str__", "service_link", "action", "status", "attempts", "change_count", "queued_at",
                    "duration")
    list_filter = ("status", "action")
    list_select_related = ("service",)
    search_fields = ("service__service_identifier", "error")
    ordering = ("-pk",)
    change_form_template = "admin/services/generatorrun/change_form.html"
    fieldsets = (
        (None, {"fields": ("service_link", "action", "status", "error", "attempts", "requested_by", "task_id")}),
        ("Timing", {"fields": ("queued_at", "started_at", "finished_at", "duration")}),
        ("Log", {"fields": ("log_lines",)}),
        ("Changes", {"fields": ("change_table",)}),
    )
    readonly_fields = ("service_link", "action", "status", "error", "attempts", "requested_by", "task_id",
                       "queued_at", "started_at", "finished_at", "duration", "log_lines", "change_table")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Service", ordering="service__service_identifier")
    def service_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:services_service_change", args=[obj.service_id]),
                           obj.service.service_identifier)

    @admin.display(description="Changes")
    def change_count(self, obj):
        return len(obj.changes)

    @admin.display(description="Log")
    def log_lines(self, obj):
        return run_log_html(obj)

    @admin.display(description="Changes")
    def change_table(self, obj):
        return changes_html(obj.changes)
