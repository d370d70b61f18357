"""Bulk edit of the inventory: the admin action "Edit selected …" sets status, tenant, role or location
(NetBox's site) on every selected row at once.

The intermediate page offers only the fields the model has, each left unchanged unless set, with
the choices the admin's own forms offer (``ScopedAdminMixin.formfield_for_foreignkey``: a tenant among
those the user may write into). Applying it is one transaction: every row is locked, changed,
checked with the model's ``full_clean()`` and ``Access.check_write`` as a single edit would be, and
saved only if every row passes; otherwise nothing is written and the page names each row and field
that failed.
"""

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, router, transaction
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from . import access, finalizers
from .importexport import is_inventory

FIELDS = ("status", "tenant", "role", "location")
UNCHANGED = "— leave unchanged —"
SHOWN_OBJECTS = 20  # the page lists this many of the selected rows, then counts the rest


def editable_fields(model) -> list:
    """The model's fields among ``FIELDS`` that a person edits."""
    found = []
    for name in FIELDS:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.editable and field.concrete:
            found.append(field)
    return found


def form_field(model_admin, request, db_field) -> forms.Field:
    """An optional field for ``db_field``: empty means unchanged; choices as the admin's form offers them."""
    if db_field.is_relation:
        field = model_admin.formfield_for_foreignkey(db_field, request, widget=forms.Select, required=False,
                                                     empty_label=UNCHANGED)
        return field
    if db_field.choices:
        return forms.TypedChoiceField(choices=[("", UNCHANGED), *db_field.flatchoices], required=False,
                                      coerce=db_field.to_python, empty_value=None,
                                      label=capfirst(db_field.verbose_name))
    return forms.CharField(required=False, max_length=db_field.max_length, label=capfirst(db_field.verbose_name),
                           help_text="Left empty: unchanged.")


def bulk_edit_form(model_admin, request):
    """The form class of the intermediate page for ``model_admin``'s model."""
    fields = {}
    for db_field in editable_fields(model_admin.model):
        fields[db_field.name] = form_field(model_admin, request, db_field)
        if db_field.null:
            fields[f"clear_{db_field.name}"] = forms.BooleanField(
                required=False, label=f"Clear {db_field.verbose_name}", help_text="Empty it on every selected row.")
    return type("BulkEditForm", (forms.Form,), fields)


def changes(form) -> dict:
    """Field name -> new value, for what the user set (a relation cleared is None)."""
    data = form.cleaned_data
    wanted = {}
    for name in FIELDS:
        if name not in data:
            continue
        if data.get(f"clear_{name}"):
            wanted[name] = None
        elif data[name] not in (None, ""):
            wanted[name] = data[name]
    return wanted


def apply_changes(model_admin, request, objects, wanted: dict) -> tuple[list, list[str]]:
    """Set ``wanted`` on ``objects`` (locked, in the caller's transaction); the changed objects and the
    errors, each naming its object and field. Nothing is saved if there is any error."""
    viewer = access.for_request(request)
    changed, errors = [], []
    for obj in objects:
        before = copy.copy(obj)
        fields = [name for name, value in wanted.items() if stored_value(obj, name) != getattr(value, "pk", value)]
        if not fields:
            continue
        for name in fields:
            setattr(obj, name, wanted[name])
        problems = object_errors(obj, before, viewer)
        errors.extend(f"{obj}: {problem}" for problem in problems)
        if not problems:
            changed.append((obj, fields))
    if errors:
        return [], errors
    for obj, fields in changed:
        obj.save()
        model_admin.log_change(request, obj, [{"changed": {"fields": [obj._meta.get_field(name).verbose_name
                                                                      for name in fields]}}])
    return [obj for obj, _ in changed], []


def stored_value(obj, name: str):
    """The value of ``obj.name`` as stored (a relation's id: no query for the related object)."""
    return getattr(obj, obj._meta.get_field(name).attname)


def object_errors(obj, before, viewer: access.Access) -> list[str]:
    """Why ``obj`` may not be saved as it now stands (empty if it may): validation, then access."""
    if finalizers.is_deleting(before):
        return ["it is being deleted: only its finalizers can change."]
    try:
        obj.full_clean()
        viewer.check_write(obj, "change", before=before)
    except ValidationError as exc:
        return [" ".join(problems) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(problems)}"
                for field, problems in exc.message_dict.items()]
    except PermissionDenied as exc:
        return [str(exc) or "you may not make this change."]
    return []


@admin.action(permissions=["change"], description=gettext_lazy("Edit selected %(verbose_name_plural)s"))
def bulk_edit(model_admin, request, queryset):
    """The action: the intermediate page, then (its form posted back valid) the change of every row."""
    form_class = bulk_edit_form(model_admin, request)
    form = form_class(request.POST if request.POST.get("apply") else None)
    errors = []
    if form.is_bound and form.is_valid():
        wanted = changes(form)
        if not wanted:
            form.add_error(None, "Choose at least one field to change.")
        else:
            errors = apply_and_report(model_admin, request, queryset, wanted)
            if not errors:
                return None  # back to the list page, with the message
    opts = model_admin.model._meta
    selected = list(queryset.values_list("pk", flat=True))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Edit {len(selected)} {model_ngettext(opts, len(selected))}",
        "opts": opts,
        "form": form,
        "errors": errors,
        "objects": list(queryset[:SHOWN_OBJECTS]),
        "more": max(len(selected) - SHOWN_OBJECTS, 0),
        "selected": selected,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/bulk_edit.html", context)


def apply_and_report(model_admin, request, queryset, wanted: dict) -> list[str]:
    """Change every selected row in one transaction, or none; the errors, if any."""
    model = model_admin.model
    using = router.db_for_write(model)
    try:
        with transaction.atomic(using=using):
            if hasattr(model, "lock_tree"):  # a tree's writers take the tree before any of its rows
                model().lock_tree()
            locked = model._base_manager.using(using).select_for_update().filter(
                pk__in=list(queryset.values_list("pk", flat=True))).order_by("pk")
            changed, errors = apply_changes(model_admin, request, list(locked), wanted)
    except IntegrityError as exc:  # a rule between the selected rows themselves (two devices made namesakes)
        return [f"The database refused the change, nothing was written: {exc}"]
    if not errors:
        count = len(changed)
        model_admin.message_user(request, f"Changed {count} {model_ngettext(model._meta, count)}.", messages.SUCCESS)
    return errors


def actions_for(model_admin, request) -> dict:
    """The bulk edit action of ``model_admin``, for ``get_actions``: inventory models with a field to edit."""
    model = model_admin.model
    if model_admin.actions is None or not is_inventory(model) or not editable_fields(model):
        return {}
    if not model_admin.has_change_permission(request):
        return {}
    return {"bulk_edit": model_admin.get_action(bulk_edit)}
