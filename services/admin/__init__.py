"""Admin of the service catalog, driven by the service types' metadata.

- ``/admin/services/service/catalog/``: the catalog, one card per service type with an Order button
  (also where "Add service" leads when no type is chosen);
- the order and change forms are built from the type (``forms.build_service_form``);
- the change page has a Documentation tab (sanitised markdown, mermaid diagrams drawn in the page),
  the resources the service owns (named for people, linked: ``resources``), lifecycle buttons for
  the legal transitions only, Reconcile and Plan buttons when the type has a generator, and the
  service's generator runs, newest first, with the log of a run still working;
- Decommission (and deleting a service that decommissions it) first shows what will be given back,
  and the message after a transition says where the service ended up (``outcome``);
- a service waiting for approval shows its plan's changes and, to those who may decide, Approve and
  Reject (``services.approvals`` decides who); the Approvals list shows every decision.
Every write calls ``services.services``, like the API.
"""

from pathlib import Path

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from catalog_site import access, finalizers
from catalog_site.admin import METADATA_FIELDSET, CatalogInline, CatalogModelAdmin, ReadOnlyAdminMixin

from .. import approvals, providers, runs, services
from ..lifecycle import Status
from ..models import Approval, GeneratorRun, LifecycleEvent, Parameter, Service, ServiceType
from ..selectors import catalog_entries, deletion_blocker, documentation_sections
from . import outcome
from .forms import BASE_FIELDS, attribute_field_names, build_service_form, modifier_help
from .provider_admin import ProviderAdmin  # noqa: F401 - registers the providers admin
from .resources import service_resources
from .run_admin import GeneratorRunAdmin, changes_html, service_runs  # noqa: F401 - registers the runs admin

ICON_DIR = Path(__file__).resolve().parent.parent / "static" / "services" / "icons"
SHIPPED_ICONS = frozenset(path.stem for path in ICON_DIR.glob("*.svg"))
# Transitions that give resources back (and what they do, in a sentence): their button leads to a
# confirmation page that lists what will be given back.
CONFIRMED_TARGETS = {Status.IN_DECOMMISSIONING: "decommissioned"}


def icon_url(icon: str) -> str | None:
    """The static URL of a shipped icon named ``icon``, or None (the icon is then shown as text)."""
    return static(f"services/icons/{icon}.svg") if icon in SHIPPED_ICONS else None


class LifecycleEventInline(CatalogInline, admin.TabularInline):
    """The service's history: orders, transitions, updates; read-only."""

    model = LifecycleEvent
    extra = 0
    can_delete = False
    fields = ("created", "from_status", "to_status", "version", "user", "message")
    readonly_fields = fields
    verbose_name_plural = "History"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Service)
class ServiceAdmin(CatalogModelAdmin):
    """Services: ordered from the catalog page, edited within the modifier and lifecycle rules."""

    list_display = ("service_identifier", "service_type", "tenant", "location", "provider", "status_badge", "version",
                    "last_updated")
    list_filter = ("status", "service_type", "provider")
    list_select_related = ("service_type", "tenant", "location", "provider")
    search_fields = ("service_identifier", "account_reference", "description")
    autocomplete_fields = ("tenant",)
    inlines = (LifecycleEventInline,)
    change_form_template = "admin/services/service/change_form.html"
    change_list_template = "admin/services/service/change_list.html"
    delete_confirmation_template = "admin/services/service/delete_confirmation.html"

    # -- the list --------------------------------------------------------------------------------
    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="service-status service-status-{}">{}</span>', obj.status,
                           obj.get_status_display())

    # -- the form, built from the service type -------------------------------------------------
    def ordered_type(self, request) -> ServiceType | None:
        slug = request.GET.get("service_type") or ""
        return ServiceType.objects.filter(slug=slug).first() if slug else None

    def get_fieldsets(self, request, obj=None):
        service_type = obj.service_type if obj else self.ordered_type(request)
        fieldsets = [(None, {"fields": (("read_version",) if obj else ()) + BASE_FIELDS})]
        if service_type is not None:
            names = attribute_field_names(service_type, obj)
            if names:
                fieldsets.append((f"{service_type.name} attributes", {"fields": names}))
        if obj is not None:
            fieldsets.insert(1, ("Provider", {"fields": ("provider_standing",)}))
            fieldsets.append(METADATA_FIELDSET)
        if finalizers.is_deleting(obj):
            fieldsets.insert(0, ("Being deleted", {"fields": ("deletion_state",)}))
        return fieldsets

    @admin.display(description="Provider")
    def provider_standing(self, obj):
        """The provider that fulfils the service, and whether the tenant's authorization still stands."""
        if obj is None or obj.provider_id is None:
            return "None: ordered before providers, or delivered by hand."
        if providers.covering_authorizations(obj.tenant).filter(provider=obj.provider_id).exists():
            return format_html("{}, authorized by the tenant.", obj.provider)
        return format_html('{} <strong class="errornote">lost its authorization</strong>: the tenant revoked it '
                           "(or the provider is no longer available to it). The service keeps running until it "
                           "is decommissioned; no new service can be ordered so.", obj.provider)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "provider_standing")

    @admin.display(description="Deletion")
    def deletion_state(self, obj):
        blocker = deletion_blocker(obj)
        return " ".join(part for part in (super().deletion_state(obj), blocker) if part)

    def get_form(self, request, obj=None, change=False, **kwargs):
        service_type = obj.service_type if obj else self.ordered_type(request)
        kwargs["form"] = build_service_form(service_type, service=obj, user=request.user)
        return super().get_form(request, obj, change=change, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "location":
            kwargs["queryset"] = db_field.related_model.objects.filter(kind="site")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic(using=router.db_for_write(self.model)):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request.method == "POST" and not getattr(request, "_service_saved", False):
                # The form wrote through the service layer while validating; if the admin then shows
                # the page again (an invalid inline, say), that write must not stay behind.
                transaction.set_rollback(True)
            return response

    def save_model(self, request, obj, form, change):
        """Only records success: the form saved through ``service_create``/``service_update`` while validating."""
        request._service_saved = True

    def delete_model(self, request, obj):
        """A draft or decommissioned service is deleted; an active or failed one is decommissioned first."""
        self.require_write(request, obj, "delete")
        request.deletion_waits = not services.service_delete(service=obj, user=request.user)

    def deletion_waits(self, obj) -> bool:
        return super().deletion_waits(obj) or obj.status not in obj.lifecycle.deletable

    def render_delete_form(self, request, context):
        """Deleting a service that still holds resources decommissions it first: the page lists what goes back."""
        obj = context.get("object")
        if obj is not None and obj.deleting_since is None and obj.status not in obj.lifecycle.deletable:
            context["given_back"] = service_resources(obj, request=request, admin_site=self.admin_site)
            if not obj.finalizers:
                # The page says it in people's words; the base's warning would speak of finalizers.
                return admin.ModelAdmin.render_delete_form(self, request, context)
        return super().render_delete_form(request, context)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and services.deletion_refusal(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        # Bulk deletion would bypass the per-service rule; delete services one by one.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # -- pages -----------------------------------------------------------------------------------
    def get_urls(self):
        return [
            path("catalog/", self.admin_site.admin_view(self.catalog_view), name="services_service_catalog"),
            path("<path:object_id>/transition/", self.admin_site.admin_view(self.transition_view),
                 name="services_service_transition"),
            path("<path:object_id>/reconcile/", self.admin_site.admin_view(self.reconcile_view),
                 name="services_service_reconcile"),
            path("<path:object_id>/retry/", self.admin_site.admin_view(self.retry_view),
                 name="services_service_retry"),
            path("<path:object_id>/plan/", self.admin_site.admin_view(self.plan_view),
                 name="services_service_plan"),
            path("<path:object_id>/approval/", self.admin_site.admin_view(self.approval_view),
                 name="services_service_approval"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        if self.ordered_type(request) is None:
            if request.GET.get("service_type"):
                messages.error(request, f"No service type {request.GET['service_type']!r}: pick one from the catalog.")
            return HttpResponseRedirect(reverse("admin:services_service_catalog"))
        return super().add_view(request, form_url, extra_context)

    def catalog_view(self, request):
        """The service catalog: one card per type, each with an Order button."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        entries = list(catalog_entries(access.for_request(request)))
        for entry in entries:
            entry.icon_url = icon_url(entry.icon)
        context = {
            **self.admin_site.each_context(request),
            "title": "Service catalog",
            "opts": self.opts,
            "entries": entries,
            "order_url": reverse("admin:services_service_add"),
            "can_order": self.has_add_permission(request),
        }
        return TemplateResponse(request, "admin/services/catalog.html", context)

    def transition_view(self, request, object_id):
        """POST ``to`` and ``version``: a lifecycle transition, with the API's messages.

        GET ``?to=`` of a transition that gives resources back (Decommission) shows its confirmation
        page, whose form POSTs here.
        """
        if request.method == "GET" and request.GET.get("to") in CONFIRMED_TARGETS:
            return self.confirm_transition_view(request, object_id, request.GET["to"])
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        service = self._changeable_service(request, object_id)
        to = request.POST.get("to", "")
        since_run = outcome.last_run_id(service)
        try:
            with transaction.atomic():
                services.service_transition(service=service, to=to, user=request.user,
                                            version=int(request.POST.get("version", "")))
        except ValueError:
            messages.error(request, "The form did not carry the version of the service; reload the page.")
        except services.IllegalTransition as exc:
            messages.error(request, exc.messages[0])
        except services.VersionConflict as exc:
            messages.error(request, exc.message)
        else:
            # Committed: an eager run has ended, a worker's may still be queued; the message says which.
            messages.add_message(request, *outcome.after_transition(service, since_run=since_run))
        return self._back_to(service)

    def confirm_transition_view(self, request, object_id, to: str):
        """The confirmation page of ``to``: what the service holds and what becomes of each, Confirm or Cancel."""
        service = self._changeable_service(request, object_id)
        if not service.lifecycle.allows(service.status, to):
            messages.error(request, f"{service} is {outcome.status_phrase(service.status)}: it cannot be "
                                    f"{CONFIRMED_TARGETS[to]} now.")
            return self._back_to(service)
        label = service.lifecycle.label(service.status, to)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label} {service}?",
            "opts": self.opts,
            "original": service,
            "to": to,
            "action_label": label,
            "resources": service_resources(service, request=request, admin_site=self.admin_site),
            "transition_url": reverse("admin:services_service_transition", args=[service.pk]),
            "cancel_url": reverse("admin:services_service_change", args=[service.pk]),
        }
        return TemplateResponse(request, "admin/services/service/confirm_transition.html", context)

    def _back_to(self, service: Service):
        """The service's page, or the list once the service is gone (its deletion finished)."""
        if not Service.objects.filter(pk=service.pk).exists():
            return HttpResponseRedirect(reverse("admin:services_service_changelist"))
        return HttpResponseRedirect(reverse("admin:services_service_change", args=[service.pk]))

    def _changeable_service(self, request, object_id) -> Service:
        """The service a page acts on: one the user may not see is a 404, one they may not change a 403."""
        service = self.get_visible_object_or_404(request, object_id, Service.objects.select_related("service_type"))
        self.require_write(request, service, "change")
        return service

    def reconcile_view(self, request, object_id):
        """POST: queue a reconcile run (it has ended already when Celery runs eagerly)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        service = self._changeable_service(request, object_id)
        try:
            with transaction.atomic():
                run = runs.request_run(service=service, action=GeneratorRun.Action.RECONCILE, user=request.user)
        except runs.RunRefused as exc:
            messages.error(request, str(exc))
        else:
            run.refresh_from_db()
            messages.success(request, f"{run}: {run.get_status_display().lower()}"
                                      + (f", {len(run.changes)} change(s)." if run.finished else "."))
        return HttpResponseRedirect(reverse("admin:services_service_change", args=[service.pk]))

    def retry_view(self, request, object_id):
        """POST: queue again the run of a service stuck in in-delivery or in-decommissioning."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        service = self._changeable_service(request, object_id)
        try:
            with transaction.atomic():
                run = runs.retry_working_run(service=service, user=request.user)
        except runs.RunRefused as exc:
            messages.error(request, str(exc))
        else:
            if GeneratorRun.objects.filter(pk=run.pk).exists():
                run.refresh_from_db()
                messages.success(request, f"{run}: {run.get_status_display().lower()}.")
            else:  # a decommission that finished the service's deletion (Celery eager): its runs went with it
                messages.success(request, f"{service}: decommissioned and deleted.")
        return self._back_to(service)

    def plan_view(self, request, object_id):
        """POST: compute a plan (a dry run) and show it on the run's page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        service = self._changeable_service(request, object_id)
        try:
            run = runs.plan_run(service=service, user=request.user)
        except runs.RunRefused as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("admin:services_service_change", args=[service.pk]))
        return HttpResponseRedirect(reverse("admin:services_generatorrun_change", args=[run.pk]))

    def approval_view(self, request, object_id):
        """POST ``approval``, ``decision`` (approve, reject) and ``comment``: decide the service's approval.

        The same rules and words as the API (``services.approvals``): a user who may not decide is a 403.
        """
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        service = self.get_visible_object_or_404(request, object_id, Service.objects.select_related("service_type"))
        approval = Approval.objects.filter(service=service, pk=request.POST.get("approval", "")
                                           if request.POST.get("approval", "").isdigit() else None).first()
        if approval is None:
            raise Http404("No such approval of this service.")
        decision, comment = request.POST.get("decision", ""), request.POST.get("comment", "").strip()
        decide = {"approve": lambda: approvals.approve(approval=approval, user=request.user, comment=comment),
                  "reject": lambda: approvals.reject(approval=approval, user=request.user, reason=comment)}
        if decision not in decide:
            messages.error(request, "Choose Approve or Reject.")
            return self._back_to(service)
        since_run = outcome.last_run_id(service)
        try:
            with transaction.atomic():
                decide[decision]()
        except (approvals.ApprovalRefused, services.IllegalTransition, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
            return self._back_to(service)
        approval.refresh_from_db()
        level, where = outcome.after_transition(service, since_run=since_run)
        if approval.status == Approval.Status.SUPERSEDED:
            level, where = messages.WARNING, format_html(
                "{} The plan no longer held when applied ({}): a new approval is requested.", where,
                approval.superseded_reason)
        messages.add_message(request, level, format_html("Approval #{} {}: {}", approval.pk,
                                                         "approved" if decision == "approve" else "rejected", where))
        return self._back_to(service)

    def approval_context(self, request, obj) -> dict:
        """The pending approval of ``obj`` for its page: the plan's changes and the decisions the user may take."""
        approval = approvals.pending_approval(obj) if obj.status == Status.PENDING_APPROVAL else None
        if approval is None:
            return {}
        decisions, refusals = [], []
        own = approval.requested_by_id == request.user.pk
        for name, label, confirm in (
                ("approve", "Approve", f"Approve the plan of {obj}? Its delivery starts now."),
                ("reject", "Withdraw" if own else "Reject",
                 f"{'Withdraw' if own else 'Reject'} the request of {obj}? It goes back to {approval.from_status}.")):
            refusal = approvals.decision_refusal(approval, request.user, name)
            if refusal is None:
                decisions.append({"name": name, "label": label, "confirm": confirm})
            else:
                refusals.append(refusal.message)
        plan = approval.plan_run
        return {
            "pending_approval": approval,
            "approval_plan": plan,
            "approval_plan_url": reverse("admin:services_generatorrun_change", args=[plan.pk]) if plan else "",
            "approval_changes": changes_html(plan.changes, obj) if plan else "",
            "approval_decisions": decisions,
            "approval_refusal": refusals[0] if refusals and not decisions else (
                refusals[0] if len(decisions) == 1 else ""),
            "approval_url": reverse("admin:services_service_approval", args=[obj.pk]),
        }

    def generator_actions(self, request, obj) -> list[dict]:
        if not obj.service_type.generator or not self.has_change_permission(request, obj):
            return []
        actions = [{"name": "plan", "label": "Plan", "url": reverse("admin:services_service_plan", args=[obj.pk]),
                    "help": "Show what a run of the generator would change now, without changing anything."}]
        if obj.status in runs.APPLIES[GeneratorRun.Action.RECONCILE]:
            actions.insert(0, {"name": "reconcile", "label": "Reconcile",
                               "url": reverse("admin:services_service_reconcile", args=[obj.pk]),
                               "help": "Run the generator again: it repairs whatever drifted."})
        if obj.status in runs.WORKING_ACTIONS or (finalizers.is_deleting(obj) and obj.status == "failed"):
            actions.insert(0, {"name": "retry", "label": "Retry",
                               "url": reverse("admin:services_service_retry", args=[obj.pk]),
                               "help": "Queue the run again: for a run that never started (its message lost)."})
        return actions

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        service_type = obj.service_type if obj else self.ordered_type(request)
        context["service_type"] = service_type
        if add and service_type is not None:
            context["title"] = f"Order {service_type.name}"
            context["service_type_icon_url"] = icon_url(service_type.icon)
        if obj is not None:
            lifecycle = obj.lifecycle
            can_change = self.has_change_permission(request, obj)
            context["lifecycle_actions"] = [
                {"to": to, "label": lifecycle.label(obj.status, to), "confirm": to in CONFIRMED_TARGETS}
                for to in lifecycle.targets(obj.status)
            ] if can_change else []
            context["service_resources"] = service_resources(obj, request=request, admin_site=self.admin_site)
            context["transition_url"] = reverse("admin:services_service_transition", args=[obj.pk])
            context["documentation_sections"] = documentation_sections(obj)
            context["generator_actions"] = self.generator_actions(request, obj)
            context["generator_runs"] = service_runs(obj)
            context.update(self.approval_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdminMixin, CatalogModelAdmin):
    """Approvals, read-only: decided on the service's page (or through the API)."""

    list_display = ("__str__", "service_link", "status", "from_status", "requested_by", "requested_at", "decided_by",
                    "decided_at")
    list_filter = ("status",)
    list_select_related = ("service", "requested_by", "decided_by")
    search_fields = ("service__service_identifier", "comment")
    ordering = ("-pk",)
    fieldsets = (
        (None, {"fields": ("service_link", "status", "from_status", "service_version", "requested_by",
                           "requested_at", "decided_by", "decided_at", "comment", "superseded_reason")}),
        ("Runs", {"fields": ("plan_link", "apply_link")}),
        ("Plan", {"fields": ("plan_table",)}),
    )
    readonly_fields = ("service_link", "status", "from_status", "service_version", "requested_by", "requested_at",
                       "decided_by", "decided_at", "comment", "superseded_reason", "plan_link", "apply_link",
                       "plan_table")

    @admin.display(description="Service", ordering="service__service_identifier")
    def service_link(self, obj):
        return format_html('<a href="{}#approval">{}</a>', reverse("admin:services_service_change",
                                                                   args=[obj.service_id]), obj.service)

    @staticmethod
    def _run_link(run):
        if run is None:
            return "-"
        return format_html('<a href="{}">{}</a> ({})', reverse("admin:services_generatorrun_change", args=[run.pk]),
                           run, run.get_status_display().lower())

    @admin.display(description="Plan")
    def plan_link(self, obj):
        return self._run_link(obj.plan_run)

    @admin.display(description="Applied by")
    def apply_link(self, obj):
        return self._run_link(obj.apply_run)

    @admin.display(description="Changes planned")
    def plan_table(self, obj):
        return changes_html(obj.plan_run.changes, obj.service) if obj.plan_run else "No plan."


@admin.register(ServiceType)
class ServiceTypeAdmin(CatalogModelAdmin):
    """Service types are data: loaded from ``services/catalog/*.yaml`` (or the API), shown here read-only."""

    list_display = ("name", "slug", "lifecycle", "generator", "source", "order_link")
    search_fields = ("name", "slug", "description")
    fieldsets = (
        (None, {"fields": ("name", "slug", "icon", "description", "lifecycle", "generator", "approval_rule",
                           "source")}),
        ("Attributes", {"fields": ("attribute_table",)}),
        METADATA_FIELDSET,
    )
    readonly_fields = ("name", "slug", "icon", "description", "lifecycle", "generator", "approval_rule", "source",
                       "attribute_table",
                       "annotations", "created", "last_updated")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Order")
    def order_link(self, obj):
        return format_html('<a href="{}?service_type={}">Order</a>', reverse("admin:services_service_add"), obj.slug)

    @admin.display(description="Attributes")
    def attribute_table(self, obj):
        rows = format_html_join(
            "", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (a["label"], a["name"], a["kind"], modifier_help(a), "yes" if a["required"] else "",
                 ", ".join(f"{c['value']} ({c['label']})" for c in a["choices"]),
                 a["description"])
                for a in obj.attributes
            ),
        )
        return format_html(
            "<table><thead><tr><th>Label</th><th>Name in the API</th><th>Kind</th><th>Who sets it</th>"
            "<th>Required</th><th>Choices</th><th>Description</th></tr></thead><tbody>{}</tbody></table>", rows,
        )


@admin.register(Parameter)
class ParameterAdmin(CatalogModelAdmin):
    """Parameters: value lists behind suggestion lists; edits show in the next form opened."""

    list_display = ("name", "value_count", "description", "last_updated")
    search_fields = ("name", "description")
    fieldsets = ((None, {"fields": ("name", "values", "description")}), METADATA_FIELDSET)

    @admin.display(description="Values")
    def value_count(self, obj):
        return len(obj.values) if isinstance(obj.values, list) else 0
