"""Statuses in the admin: a read-only "Statuses" section on every primary object's page, and a list of them.

The section is added by ``CatalogModelAdmin.render_change_form`` (``show_statuses``) when the page
is drawn, whatever fieldsets the object's admin declares; it takes no part in the form, so a POST
never needs it. The object's page is only reached by whoever may see the object, and so are its
statuses. The list of statuses is scoped like the API (``catalog_site.statuses.visible_statuses``)
and read-only; a status may be deleted by whoever may change its object.
"""

import json

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from . import access, statuses
from .models import ObjectStatus, PrimaryModel


def pretty(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def when(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else ""


def admin_link(obj, text=None) -> str:
    """``obj`` named (or ``text``), linked to its admin page when it has one."""
    if obj is None:
        return "-"
    text = obj if text is None else text
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(text)
    return format_html('<a href="{}">{}</a>', url, text)


@admin.display(description="Statuses")
def object_statuses(obj) -> str:
    """The statuses of ``obj`` as a table: namespace, source, data (pretty-printed), last updated."""
    rows = list(obj.statuses.all())
    if not rows:
        return "No status reported."
    body = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td><pre>{}</pre></td><td>{}</td></tr>', (
        (reverse("admin:catalog_site_objectstatus_change", args=[row.pk]), row.namespace, row.source, pretty(row.data),
         when(row.last_updated))
        for row in rows
    ))
    return format_html('<table class="object-statuses"><thead><tr><th>Namespace</th><th>Source</th><th>Data</th>'
                       "<th>Last updated</th></tr></thead><tbody>{}</tbody></table>", body)


def show_statuses(admin_form, obj) -> None:
    """Add the "Statuses" section to the page of ``obj`` (a primary object), as a read-only field."""
    if admin_form is None or not isinstance(obj, PrimaryModel) or obj.pk is None:
        return
    admin_form.fieldsets = [*admin_form.fieldsets, ("Statuses", {"fields": (object_statuses,)})]
    admin_form.readonly_fields = [*(admin_form.readonly_fields or ()), object_statuses]


@admin.register(ObjectStatus)
class ObjectStatusAdmin(admin.ModelAdmin):
    """Statuses of the objects the user may see, read-only; deleted by whoever may change the object."""

    list_display = ("__str__", "object_link", "namespace", "source", "last_updated")
    list_filter = ("namespace", "source")
    search_fields = ("namespace", "source")
    fields = ("object_link", "namespace", "source", "pretty_data", "created", "last_updated")
    readonly_fields = fields
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request):
        viewer = access.for_request(request)
        return statuses.with_objects(statuses.visible_statuses(super().get_queryset(request), viewer))

    @admin.display(description="Object")
    def object_link(self, obj):
        return admin_link(statuses.status_object(obj))

    @admin.display(description="Data")
    def pretty_data(self, obj):
        return format_html("<pre>{}</pre>", pretty(obj.data))

    def has_module_permission(self, request):
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request, obj=None):
        staff = bool(request.user.is_active and request.user.is_staff)
        return staff and (obj is None or access.for_request(request).can_see(statuses.status_object(obj)))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Asked with the status on its delete page, and for each status deleting an object would take along.
        return obj is not None and statuses.may_write_status(access.for_request(request), statuses.status_object(obj))
