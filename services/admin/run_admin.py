"""Admin of generator runs: the runs list, a run's page (live log while it works) and the runs table of a service.

A succeeded run's page offers "Revert this run" to those who may change its service: a confirmation
page (what the run changed, undone newest first), then ``services.revert``; a refusal comes back as
an error message with its reason.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog_site import access
from catalog_site.admin import CatalogModelAdmin, ReadOnlyAdminMixin
from catalog_site.status_admin import admin_link

from .. import revert, runs
from ..models import GeneratorRun
from ..schema import is_documentation
from .resources import model_kind

SERVICE_PAGE_RUNS = 20  # the runs shown on a service's page; the runs list has them all


def run_log_html(run: GeneratorRun):
    lines = runs.live_log(run)
    if not lines:
        return format_html('<p class="help">{}</p>', "No log yet." if not run.finished else "No log.")
    return format_html('<pre class="generator-run-log">{}</pre>', "\n".join(lines))


def documentation_links(service) -> dict[str, tuple[str, str]]:
    """The service's documentation attributes: name -> (its tab on the service page, the tab's title)."""
    if service is None:
        return {}
    page = reverse("admin:services_service_change", args=[service.pk])
    return {a["name"]: (f"{page}#{a['name']}", str(a["annotations"].get("web_title") or a["label"]))
            for a in service.service_type.attributes if is_documentation(a)}


def field_change_html(name: str, old, new, documentation: dict):
    """One changed field; a documentation text (pages of markdown) is a link to its tab instead."""
    if name in documentation:
        url, title = documentation[name]
        what = "written" if old is None else "cleared" if new is None else "rewritten"
        return format_html('{}: {}, <a href="{}">see the {} tab</a>', name, what, url, title)
    return format_html("{}: {} → {}", name, repr(old), repr(new))


def changes_html(changes: list[dict], service=None):
    """A run's changes as a table; ``service``'s documentation is linked, not copied in."""
    if not changes:
        return format_html('<p class="help">{}</p>', "No change.")
    documentation = documentation_links(service)
    service_id = service.pk if service is not None else None

    def fields_html(change):
        own = documentation if change["model"] == "services.service" and change.get("id") == service_id else {}
        return format_html_join("; ", "{}", ((field_change_html(name, old, new, own),)
                                             for name, (old, new) in change.get("fields", {}).items()))

    rows = format_html_join(
        "", '<tr><td>{}</td><td><span title="{}">{}</span></td><td>{}</td><td>{}</td></tr>',
        ((c["action"], c["model"], model_kind(c["model"]), c["display"], fields_html(c)) for c in changes),
    )
    return format_html('<table class="generator-run-changes"><thead><tr><th>Action</th><th>Type</th>'
                       "<th>Object</th><th>Fields</th></tr></thead><tbody>{}</tbody></table>", rows)


def service_runs(service) -> list[dict]:
    """The newest runs of ``service`` for its change page, each with its link and (live) log."""
    latest = GeneratorRun.objects.filter(service=service).order_by("-pk")[:SERVICE_PAGE_RUNS]
    return [{"run": run, "url": reverse("admin:services_generatorrun_change", args=[run.pk]),
             "log": "\n".join(runs.live_log(run))} for run in latest]


@admin.register(GeneratorRun)
class GeneratorRunAdmin(ReadOnlyAdminMixin, CatalogModelAdmin):
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
        ("Revert", {"fields": ("reverted_at", "reverted_by")}),
        ("Log", {"fields": ("log_lines",)}),
        ("Changes", {"fields": ("change_table",)}),
    )
    readonly_fields = ("service_link", "action", "status", "error", "attempts", "requested_by", "task_id",
                       "queued_at", "started_at", "finished_at", "duration", "log_lines", "change_table",
                       "reverted_at", "reverted_by")

    @admin.display(description="Service", ordering="service__service_identifier")
    def service_link(self, obj):
        return admin_link(obj.service)

    @admin.display(description="Changes")
    def change_count(self, obj):
        return len(obj.changes)

    @admin.display(description="Log")
    def log_lines(self, obj):
        return run_log_html(obj)

    @admin.display(description="Changes")
    def change_table(self, obj):
        return changes_html(obj.changes, obj.service)

    # -- revert ----------------------------------------------------------------------------------
    def get_urls(self):
        return [
            path("<path:object_id>/revert/", self.admin_site.admin_view(self.revert_view),
                 name="services_generatorrun_revert"),
            *super().get_urls(),
        ]

    def may_revert(self, request, run: GeneratorRun) -> bool:
        """Whether the page offers "Revert this run": a succeeded run not yet reverted, and a user who may
        change its service (the revert itself says why it refuses anything else)."""
        return (revert.run_refusal(run) is None
                and access.for_request(request).can_write(run.service, "change"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if run is not None and self.may_revert(request, run):
            extra_context["revert_url"] = reverse("admin:services_generatorrun_revert", args=[run.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def revert_view(self, request, object_id):
        """GET: the confirmation page (what the run changed, where the service goes: a revert computed and rolled
        back, so that a refusal shows at once); POST: revert it, then back to the run's page."""
        run = self.get_visible_object_or_404(request, object_id,
                                             GeneratorRun.objects.select_related("service__service_type"))
        self.require_write(request, run.service, "change")
        run_url = reverse("admin:services_generatorrun_change", args=[run.pk])
        if request.method == "GET":
            try:
                preview = revert.preview_revert(run=run, user=request.user)  # computed and rolled back
            except revert.RevertRefused as exc:
                messages.error(request, exc.reason)
                return HttpResponseRedirect(run_url)
            context = {
                **self.admin_site.each_context(request),
                "title": f"Revert run #{run.pk} of {run.service}?",
                "opts": self.opts,
                "original": run,
                "preview": preview,
                "changes": changes_html(run.changes, run.service),
                "revert_url": reverse("admin:services_generatorrun_revert", args=[run.pk]),
                "cancel_url": run_url,
            }
            return TemplateResponse(request, "admin/services/generatorrun/confirm_revert.html", context)
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        try:
            with transaction.atomic():
                result = revert.revert_run(run=run, user=request.user)
        except revert.RevertRefused as exc:
            messages.error(request, exc.reason)
        else:
            messages.success(request, f"Run #{run.pk} reverted: {result.undone} change(s) undone; {run.service} "
                                      f"went from {result.from_status} to {result.to_status}.")
        return HttpResponseRedirect(run_url)
