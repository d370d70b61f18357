"""The change log in the admin: the History tab of every object, and the list of all changes.

The History tab (``CatalogModelAdmin.history_view``) lists the object's ``ObjectChange`` records,
newest first, each with its diff (field, before, after), who made it and what groups it (a link to
the other changes of the same request, or to the run). The list ``/admin/catalog_site/objectchange/``
is read-only, filtered by action, source and object type, and by ``?request_id=`` or ``?run_id=``.
Both show only what the viewer may see (the object's tenant when it changed).
"""

import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from . import changelog
from .admin import CatalogModelAdmin, ReadOnlyAdminMixin, rights
from .models import ObjectChange

HISTORY_PAGE_SIZE = 25
VALUE_LENGTH = 300


def shown_value(value) -> str:
    """A recorded value as text for a table cell (JSON for structures, cut to ``VALUE_LENGTH``)."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_LENGTH else text[:VALUE_LENGTH] + "…"


def diff_rows(change: ObjectChange) -> list[dict]:
    """The rows of a change's diff table: field, before, after (``last_updated`` left out: it always moves)."""
    return [{"field": name, "before": shown_value(before), "after": shown_value(after)}
            for name, (before, after) in change.diff().items() if name not in changelog.IGNORED_FIELDS]


def group_link(change: ObjectChange):
    """A link to the change's group: the other changes of its request, or its generator run."""
    changes_url = reverse("admin:catalog_site_objectchange_changelist")
    if change.run_id:
        try:
            run_url = reverse("admin:services_generatorrun_change", args=[change.run_id])
        except NoReverseMatch:
            run_url = changes_url + "?" + urlencode({"run_id": change.run_id})
        return format_html('<a href="{}">run #{}</a> of {}', run_url, change.run_id, change.service_identifier)
    if change.request_id:
        return format_html('<a href="{}">request {}</a>', changes_url + "?" + urlencode(
            {"request_id": str(change.request_id)}), str(change.request_id)[:8])
    return "—"


def actor(change: ObjectChange) -> str:
    name = change.user_name or ("the system" if change.source != ObjectChange.Source.RUN else "a scheduled run")
    return f"{name} (token {change.token.prefix}…)" if change.token_id and change.token else name


def object_link(change: ObjectChange):
    model = ContentType.objects.get_for_id(change.object_type_id).model_class()
    if model is None or change.action == ObjectChange.Action.DELETE:
        return change.object_repr
    try:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[change.object_id])
    except NoReverseMatch:
        return change.object_repr
    return format_html('<a href="{}">{}</a>', url, change.object_repr)


def history_view(model_admin, request, object_id, extra_context=None):
    """The History tab of ``model_admin``'s object ``object_id``: its change records with their diffs."""
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(f"No {model_admin.opts.verbose_name} with the id {object_id!r}.")
    if not model_admin.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    records = rights(request).restrict(ObjectChange.objects.filter(
        object_type=ContentType.objects.get_for_model(type(obj), for_concrete_model=False),
        object_id=obj.pk)).select_related("token").order_by("-pk")
    page = Paginator(records, HISTORY_PAGE_SIZE).get_page(request.GET.get("p"))
    entries = [{"change": change, "rows": diff_rows(change), "group": group_link(change), "actor": actor(change)}
               for change in page]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Change history: {obj}",
        "subtitle": None,
        "module_name": str(model_admin.opts.verbose_name_plural).capitalize(),
        "object": obj,
        "opts": model_admin.opts,
        "page": page,
        "entries": entries,
        **(extra_context or {}),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/catalog_site/object_changes.html", context)


class ObjectTypeFilter(admin.SimpleListFilter):
    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        types = ContentType.objects.get_for_models(*changelog.recorded_models())
        return sorted(((str(ct.pk), f"{ct.app_label} | {model._meta.verbose_name}") for model, ct in types.items()),
                      key=lambda choice: choice[1])

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(object_type_id=int(value)) if value.isdigit() else queryset.none()


@admin.register(ObjectChange)
class ObjectChangeAdmin(ReadOnlyAdminMixin, CatalogModelAdmin):
    """Every recorded change, newest first (read-only); see the module docstring."""

    list_display = ("time", "action", "object_type_label", "object_display", "tenant", "who", "group")
    list_filter = ("action", "source", ObjectTypeFilter)
    search_fields = ("object_repr", "user_name", "service_identifier")
    date_hierarchy = "time"
    list_select_related = ("token", "tenant")
    fields = ("time", "action", "source", "who", "group", "object_display", "object_type_label", "object_id",
              "tenant", "diff_table")
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in ("request_id", "run_id") or super().lookup_allowed(lookup, value, request)

    @admin.display(description="type")
    def object_type_label(self, change):
        model = ContentType.objects.get_for_id(change.object_type_id).model_class()
        return model._meta.verbose_name if model else change.object_label

    @admin.display(description="object", ordering="object_repr")
    def object_display(self, change):
        return object_link(change)

    @admin.display(description="by")
    def who(self, change):
        return actor(change)

    @admin.display(description="request or run")
    def group(self, change):
        return group_link(change)

    @admin.display(description="changes")
    def diff_table(self, change):
        rows = diff_rows(change)
        if not rows:
            return "—"
        body = format_html("".join(["<tr><th>{}</th><td>{}</td><td>{}</td></tr>"] * len(rows)),
                           *[value for row in rows for value in (row["field"], row["before"], row["after"])])
        return format_html('<table class="change-diff"><thead><tr><th>field</th><th>before</th><th>after</th></tr>'
                           "</thead><tbody>{}</tbody></table>", body)

