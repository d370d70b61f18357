"""Admin base classes shared by every app: tenant-scoped access, read-only timestamps, a metadata fieldset.

Every admin of the project inherits ``CatalogModelAdmin`` (``CatalogTreeAdmin`` for trees) and every
inline ``CatalogInline``, so that a new admin page is scoped by default. ``catalog_site.access``
decides who may see and change what; this module only asks it, on every path the admin has:

- ``get_queryset`` keeps what the user may see, and everything reads it: changelists and their
  counts, change, delete and history pages (a hidden object is answered like a missing one),
  autocomplete, inlines, the apps' custom pages;
- related objects shown on a page (list columns, read-only fields, filter choices) are limited to
  visible ones; a hidden related object shows as empty, and a form keeps it as it is;
- form choices offer only what the user may see, and the field that decides an object's tenant
  only what they may write into (``choice_rank``);
- permissions follow the user's roles (``has_*_permission``), and every form checks its write with
  ``Access.check_write`` once validated, so that a tampered form cannot write out of reach: the
  refusal is an error on the form, with the access module's message.
"""

import copy

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import NestedObjects, NotRelationField, get_fields_from_path, model_ngettext
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, router, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy
from mptt.admin import DraggableMPTTAdmin

from . import access, bulk_edit, finalizers
from .admin_bulk import ImportExportAdminMixin
from .models import Token
from .status_admin import show_statuses

METADATA_FIELDSET = ("Metadata", {"classes": ("collapse",), "fields": ("annotations", "finalizers", "deleting_since",
                                                                        "created", "last_updated")})


def rights(request) -> access.Access:
    return access.for_request(request)


def choice_rank(model, field_name: str) -> int:
    """The role a user needs on an object to pick it for ``model.field_name``.

    The field that decides the object's tenant (``tenant``; an interface's ``device``; a tenant's
    ``parent``) offers only what the user may write into, so that nobody creates an object in, or
    moves one into, a tenant out of reach; any other relation offers what the user may see.
    """
    path = access.tenant_path(model)
    if path is access.SHARED:
        return access.VIEWER
    deciding = "parent" if path == access.SELF else path.split("__")[0]
    return access.write_rank(model) if field_name == deciding else access.VIEWER


def restrict_choices(formfield, request, model, field_name: str):
    """Limit a relation's form field to what the user may pick (see ``choice_rank``)."""
    queryset = getattr(formfield, "queryset", None)
    if queryset is not None and access.is_scoped(queryset.model):
        rank = choice_rank(model, field_name)
        formfield.queryset = rights(request).restrict(queryset, min_rank=rank)
        formfield.choice_rank = rank
    return formfield


def scoped_relations(model, names=None) -> list:
    """The forward relations (foreign keys, many-to-many) of ``model`` to tenant-scoped models."""
    return [
        field for field in model._meta.get_fields()
        if isinstance(field, (models.ForeignKey, models.ManyToManyField))
        and access.is_scoped(field.related_model) and (names is None or field.name in names)
    ]


def hide_invisible_relations(objects, fields, viewer: access.Access) -> None:
    """Blank, on the objects in memory, the related objects ``viewer`` may not see (for display only).

    A foreign key keeps its id (nothing is saved from these objects) but reads as empty; a
    many-to-many relation reads as its visible part. One query per relation, whatever the number of objects.
    """
    if viewer.unrestricted:
        return
    objects = list(objects)
    for field in fields:
        if isinstance(field, models.ManyToManyField):
            for obj in objects:
                if obj.pk is not None:
                    cache = dict(getattr(obj, "_prefetched_objects_cache", {}))
                    cache[field.name] = viewer.restrict(getattr(obj, field.name).all())
                    obj._prefetched_objects_cache = cache
            continue
        target = field.target_field.attname
        ids = {getattr(obj, field.attname) for obj in objects} - {None}
        if not ids:
            continue
        visible = set(viewer.restrict(field.related_model._base_manager.filter(**{f"{target}__in": ids}))
                      .values_list(target, flat=True))
        for obj in objects:
            if getattr(obj, field.attname) not in visible:
                field.set_cached_value(obj, None)


# -- forms -------------------------------------------------------------------------------------------

class HiddenValueInput(forms.Widget):
    """Shows a relation set to something the user may not see, without saying what."""

    def render(self, name, value, attrs=None, renderer=None):
        return format_html('<div class="readonly">{}</div>', "-")

    def value_from_datadict(self, data, files, name):
        return None


class KeptRelationField(forms.Field):
    """A relation set to an object (or objects) the user may not see: not shown, and kept as it is."""

    widget = HiddenValueInput

    def __init__(self, kept, **kwargs):
        kwargs.update(required=False, disabled=True)
        super().__init__(**kwargs)
        self.kept = kept

    def clean(self, value):
        return self.kept

    def has_changed(self, initial, data):
        return False


class AccessCheckedForm:
    """Mixin of every admin model form: choices the user may pick, and the write checked once validated.

    The rights arrive as the class attribute ``viewer`` (``access_checked_form`` makes one form
    class per request). A target tenant out of reach is an error on its field, a role too small
    an error above the form. A relation already set to an object the user may not see is kept and
    not shown (``KeptRelationField``). ``check_unchanged`` is off for inline rows: a row nobody
    touched is not saved, so it is not checked.
    """

    viewer: access.Access = access.ANONYMOUS
    check_unchanged = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.pk is not None and not self.instance._state.adding
        self.stored = copy.copy(self.instance) if stored else None
        self.kept_hidden = {}
        if stored and not self.viewer.unrestricted:
            for name, field in list(self.fields.items()):
                if isinstance(getattr(field, "queryset", None), models.QuerySet) and name in self.initial:
                    self._keep_current_choice(name, field)
        if stored and finalizers.is_deleting(self.instance):
            # Being deleted: nothing changes any more but the removal of finalizers.
            for name, field in self.fields.items():
                if name != "finalizers":
                    field.disabled = True

    def clean_finalizers(self):
        value = self.cleaned_data.get("finalizers")
        before = self.stored.finalizers if self.stored is not None else []
        try:
            finalizers.check_user_change(before, value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["finalizers"]) from exc
        if self.stored is not None and finalizers.is_deleting(self.stored) and isinstance(value, list):
            added = [name for name in value if name not in before]
            if added:
                raise ValidationError(f"{self.stored} is being deleted: finalizers can only be removed, not added "
                                      f"({', '.join(map(str, added))}).")
        return value

    def _keep_current_choice(self, name, field):
        model = field.queryset.model
        if not access.is_scoped(model):
            return
        key = field.to_field_name or "pk"
        current = self.initial[name]
        if isinstance(field, forms.ModelMultipleChoiceField):
            values = [getattr(value, key, value) for value in current or ()]
            hidden = list(model._base_manager.filter(**{f"{key}__in": values})
                          .exclude(self.viewer.visible_q(model)))
            if hidden:
                self.kept_hidden[name] = hidden
            return
        if current is None or current == "":
            return
        found = model._base_manager.filter(**{key: current})
        if not self.viewer.restrict(found).exists():
            self.fields[name] = KeptRelationField(getattr(self.instance, name), label=field.label,
                                                  help_text="Set outside your reach: it stays as it is.")
        elif getattr(field, "choice_rank", access.VIEWER) > access.VIEWER:
            # The current value stays a choice even where the user could not pick it anew.
            field.queryset = field.queryset | self.viewer.restrict(found)

    def clean(self):
        cleaned_data = super().clean()
        for name, hidden in self.kept_hidden.items():
            if name in cleaned_data:
                cleaned_data[name] = [*cleaned_data[name], *hidden]
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()
        if self._errors or self.cleaned_data.get("DELETE"):
            return
        if self.check_unchanged or self.stored is None or self.has_changed():
            self.check_access(self.instance)

    def check_access(self, obj) -> bool:
        """Whether the user may write ``obj`` as it now stands; if not, the refusal goes on the form."""
        action = "add" if self.stored is None else "change"
        try:
            self.viewer.check_write(obj, action, before=self.stored)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
            return False
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or "You may not make this change.")
            return False
        return True


def access_checked_form(form_class, request, **attrs):
    """``form_class`` checking writes with the rights of ``request`` (see ``AccessCheckedForm``)."""
    bases = (form_class,) if issubclass(form_class, AccessCheckedForm) else (AccessCheckedForm, form_class)
    return type(form_class.__name__, bases, {"viewer": rights(request), **attrs})


# -- list filters and the changelist -------------------------------------------------------------------

class VisibleRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-object filter that offers only the related objects the user may see."""

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        if not access.is_scoped(related):
            return super().field_choices(field, request, model_admin)
        queryset = rights(request).restrict(related._default_manager.complex_filter(field.get_limit_choices_to()))
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        key = field.target_field.attname
        return [(getattr(obj, key), str(obj)) for obj in queryset]


class CatalogChangeList(ChangeList):
    """The changelist: the related objects in its columns that the user may not see read as empty."""

    def get_results(self, request):
        super().get_results(request)
        names = {name for name in self.list_display if isinstance(name, str)}
        fields = [field for field in scoped_relations(self.model, names) if isinstance(field, models.ForeignKey)]
        if fields:
            hide_invisible_relations(self.result_list, fields, rights(request))


def autocomplete_source(request):
    """``(model, field name)`` of an admin autocomplete request, or None for any other request."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name != "autocomplete":
        return None
    try:
        return apps.get_model(request.GET["app_label"], request.GET["model_name"]), request.GET.get("field_name", "")
    except (KeyError, LookupError, ValueError):
        return None


# -- admin classes -----------------------------------------------------------------------------------

class ScopedAdminMixin:
    """What model admins and inlines share: visible rows, and choices the user may pick."""

    def get_queryset(self, request):
        return rights(request).restrict(super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return restrict_choices(formfield, request, self.model, db_field.name)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return restrict_choices(formfield, request, self.model, db_field.name)

    def may_write_somewhere(self, request, action: str) -> bool:
        """Whether the user may ``action`` some object of the model: the model permission (shared
        objects), or the write role on at least one tenant."""
        opts = self.model._meta
        if request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}"):
            return True
        if not access.is_scoped(self.model):
            return False
        needed = access.write_rank(self.model)
        return any(rank >= needed for rank in rights(request).ranks.values())


@admin.action(permissions=["delete"], description=gettext_lazy("Delete selected %(verbose_name_plural)s"))
def delete_selected(modeladmin, request, queryset):
    """Django's action, except that objects whose deletion waits for finalizers are marked deleting and
    the messages say which (Django's would report them deleted)."""
    if not request.POST.get("post"):
        return django_delete_selected(modeladmin, request, queryset)
    _, _, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
    if protected:
        return django_delete_selected(modeladmin, request, queryset)  # the page that says why not
    if perms_needed:
        raise PermissionDenied
    objs = list(queryset)
    waiting = [obj for obj in objs if modeladmin.deletion_waits(obj)]
    if objs:
        modeladmin.log_deletions(request, objs)
        modeladmin.delete_queryset(request, queryset)
    deleted = len(objs) - len(waiting)
    if deleted:
        modeladmin.message_user(request, f"Successfully deleted {deleted} {model_ngettext(modeladmin.opts, deleted)}.",
                                messages.SUCCESS)
    if waiting:
        modeladmin.message_user(
            request, f"Being deleted, waiting for their finalizers: {', '.join(map(str, waiting))}. Each goes when "
                     "its last finalizer is removed.", messages.WARNING)
    return None


class ReadOnlyAdminMixin:
    """A record nobody adds, changes or deletes by hand (runs, approvals, the change log): view pages only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CatalogModelAdmin(ScopedAdminMixin, ImportExportAdminMixin, admin.ModelAdmin):
    """Base admin: tenant-scoped (see the module), timestamps read-only, a sensible page size.

    Inventory models get Import and Export on their list page (``catalog_site.admin_bulk``) and the
    action "Edit selected …" (``catalog_site.bulk_edit``), both scoped and checked like a form.

    Scoped models are listed to any staff user with a membership or the model's view permission
    (they see their rows); shared models (no tenant) to every staff user.

    Finalizers (``catalog_site.finalizers``): deleting an object that has some (its delete page, the
    "delete selected" action) marks it deleting instead; its change page then says so, and its form
    accepts nothing but the removal of finalizers; saving it without the last one deletes it.
    """

    list_per_page = 50
    readonly_fields = ("created", "last_updated")
    show_full_result_count = False

    # -- permissions ---------------------------------------------------------------------------------
    def has_view_permission(self, request, obj=None):
        if obj is not None and not rights(request).can_see(obj):
            return False
        if not access.is_scoped(self.model):
            return bool(request.user.is_active and request.user.is_staff)
        return super().has_view_permission(request) or bool(rights(request).ranks)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or self.has_view_permission(request)

    def has_add_permission(self, request):
        return self.may_write_somewhere(request, "add")

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return rights(request).can_write(obj, "change")
        return self.may_write_somewhere(request, "change")

    def has_delete_permission(self, request, obj=None):
        if obj is not None:
            return rights(request).can_write(obj, "delete")
        return self.may_write_somewhere(request, "delete")

    def require_write(self, request, obj, action: str = "change") -> None:
        """PermissionDenied unless the user may ``action`` ``obj`` (for pages that act on an object)."""
        try:
            rights(request).check_write(obj, action)
        except ValidationError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from exc

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Read-only fields receive only the object: the viewer's rights travel with it, as
            # ``viewer_access``, so that a table drawn there (a prefix's contents, a provider's
            # services) lists only what the viewer may see.
            obj.viewer_access = rights(request)
        return obj

    def history_view(self, request, object_id, extra_context=None):
        """The History tab: the object's change log with diffs (``catalog_site.changelog_admin``)."""
        return changelog_admin.history_view(self, request, object_id, extra_context)

    def get_visible_object_or_404(self, request, pk, queryset=None):
        """The object ``pk`` among those the user may see: a hidden one is a 404, like a missing one."""
        return get_object_or_404(rights(request).restrict(queryset) if queryset is not None
                                 else self.get_queryset(request), pk=pk)

    # -- forms and writes ------------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        return access_checked_form(super().get_form(request, obj, change=change, **kwargs), request)

    def get_changelist_form(self, request, **kwargs):
        return access_checked_form(super().get_changelist_form(request, **kwargs), request)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if finalizers.applies_to(self.model):
            extra = ("deleting_since",) + (("deletion_state",) if finalizers.is_deleting(obj) else ())
            fields += tuple(name for name in extra if name not in fields)
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if finalizers.is_deleting(obj):
            others = [(name, {**options, "fields": [field for field in options["fields"] if field != "deletion_state"]})
                      for name, options in fieldsets]
            fieldsets = [("Being deleted", {"fields": ("deletion_state",)}), *others]
        return fieldsets

    @admin.display(description="Deletion")
    def deletion_state(self, obj):
        return (f"Deletion was requested {finalizers.waiting(obj)[1:-1]}. Nothing changes any more but the removal "
                "of finalizers (Metadata); the object is deleted when the last one is removed.")

    def save_model(self, request, obj, form, change):
        if change and finalizers.applies_to(type(obj)):
            names = obj.finalizers
            if finalizers.lock(obj)["deleting_since"] is not None:
                finalizers.set_finalizers(obj, names)  # the form's other fields are disabled: nothing else changes
                return
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if form.instance.pk is not None:
            super().save_related(request, form, formsets, change)
            return
        for formset in formsets:  # its last finalizer was removed: it is gone, and so are its inline rows
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def response_change(self, request, obj):
        if obj.pk is None:
            self.message_user(request, f"{capfirst(self.opts.verbose_name)} “{obj}”: its last finalizer was removed, "
                                       "so it is now deleted.", messages.SUCCESS)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        return super().response_change(request, obj)

    def deletion_waits(self, obj) -> bool:
        """Whether deleting ``obj`` only marks it deleting (it has finalizers)."""
        return finalizers.applies_to(type(obj)) and bool(obj.finalizers or finalizers.is_deleting(obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (delete_selected, *actions["delete_selected"][1:])
        if IS_POPUP_VAR not in request.GET:
            actions.update(bulk_edit.actions_for(self, request))
        return actions

    def log_deletions(self, request, queryset):
        objs = list(queryset)
        for obj in objs:
            if self.deletion_waits(obj):
                self.log_change(request, obj, "Deletion requested: it goes when its last finalizer is removed.")
        gone = [obj for obj in objs if not self.deletion_waits(obj)]
        return super().log_deletions(request, gone) if gone else []

    def delete_model(self, request, obj):
        self.require_write(request, obj, "delete")
        if finalizers.applies_to(type(obj)):
            request.deletion_waits = not finalizers.request_deletion(obj)
        else:
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        objs = list(queryset)
        for obj in objs:
            self.require_write(request, obj, "delete")
        waiting = [obj for obj in objs if self.deletion_waits(obj)]
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in waiting:
                finalizers.request_deletion(obj)
            super().delete_queryset(request, queryset.exclude(pk__in=[obj.pk for obj in waiting]))

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "deletion_waits", False) and self.model._base_manager.filter(pk=obj_id).exists():
            self.message_user(request, f"{capfirst(self.opts.verbose_name)} “{obj_display}” is being deleted: it goes "
                                       "when its last finalizer is removed.", messages.WARNING)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                                                args=[obj_id]))
        return super().response_delete(request, obj_display, obj_id)

    def render_delete_form(self, request, context):
        obj = context.get("object")
        if obj is not None and self.deletion_waits(obj):
            messages.warning(request, f"{obj} has finalizers ({', '.join(obj.finalizers) or 'being added'}): "
                                      "deleting it marks it deleting, and it goes when the last one is removed.")
        return super().render_delete_form(request, context)

    # -- what the pages show ---------------------------------------------------------------------------
    def get_changelist(self, request, **kwargs):
        return CatalogChangeList

    def get_list_filter(self, request):
        return [self.visible_list_filter(item) for item in super().get_list_filter(request)]

    def visible_list_filter(self, item):
        """A related-object filter named by its field offers only the related objects the user may see."""
        if not isinstance(item, str):
            return item
        try:
            field = get_fields_from_path(self.model, item)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return item
        if field.is_relation and field.related_model is not None and access.is_scoped(field.related_model):
            return (item, VisibleRelatedFieldListFilter)
        return item

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        source = autocomplete_source(request)
        if source is not None:
            rank = choice_rank(*source)
            if rank > access.VIEWER:
                queryset = rights(request).restrict(queryset, min_rank=rank)
        return queryset, may_have_duplicates

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        viewer = rights(request)
        if obj is not None and not viewer.unrestricted:
            # Rendering is the last step of the page: blanking here changes nothing that is saved.
            admin_form = context.get("adminform")
            if admin_form is not None:
                hide_invisible_relations([admin_form.form.instance], scoped_relations(self.model), viewer)
            for inline_formset in context.get("inline_admin_formsets", ()):
                formset = inline_formset.formset
                hide_invisible_relations([form.instance for form in formset.forms],
                                         scoped_relations(formset.model), viewer)
        if obj is not None:
            show_statuses(context.get("adminform"), obj)  # read-only, drawn only: the form never sees it
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_deleted_objects(self, objs, request):
        objs = list(objs)
        waiting = [obj for obj in objs if self.deletion_waits(obj)]
        others = [obj for obj in objs if obj not in waiting]
        viewer = rights(request)
        if viewer.unrestricted:
            to_delete, model_count, perms_needed, protected = super().get_deleted_objects(others, request)
        else:
            to_delete, model_count, perms_needed, protected = deletion_summary(others, request, self.admin_site,
                                                                               viewer)
        # These are only marked deleting now: nothing of theirs goes yet, nothing protects them from that.
        name, plural = capfirst(self.opts.verbose_name), self.opts.verbose_name_plural
        for obj in waiting:
            to_delete.append(f"{name}: {obj} (marked deleting: it goes when its last finalizer is removed)")
            model_count[plural] = model_count.get(plural, 0) + 1
            if not self.has_delete_permission(request, obj):
                perms_needed.add(self.opts.verbose_name)
        return to_delete, model_count, perms_needed, protected


def deletion_summary(objs, request, admin_site, viewer: access.Access):
    """What deleting ``objs`` would delete, as the delete page lists it, naming nothing the user may not see.

    An object the user may not see (or not delete) makes the deletion refused, as Django refuses
    one the user has no permission for.
    """
    objs = list(objs)
    if not objs:
        return [], {}, set(), []
    collector = NestedObjects(using=router.db_for_write(type(objs[0])))
    collector.collect(objs)
    perms_needed = set()

    def describe(obj):
        opts = obj._meta
        if not viewer.can_see(obj):
            perms_needed.add(opts.verbose_name)
            return f"{capfirst(opts.verbose_name)}: (not visible to you)"
        model_admin = admin_site._registry.get(type(obj))
        if model_admin is not None and not model_admin.has_delete_permission(request, obj):
            perms_needed.add(opts.verbose_name)
        return f"{capfirst(opts.verbose_name)}: {obj}"

    to_delete = collector.nested(describe)
    protected = [describe(obj) for obj in collector.protected]
    model_count = {model._meta.verbose_name_plural: sum(1 for obj in instances if viewer.can_see(obj))
                   for model, instances in collector.model_objs.items()}
    return to_delete, model_count, perms_needed, protected


class CatalogTreeAdmin(DraggableMPTTAdmin, CatalogModelAdmin):
    """A tree admin (indented, drag-and-drop); moves still go through the locked tree save.

    A drag-and-drop move is a change of parent: it is checked like one (the user must be able to
    change the node and to put it under its new parent).
    """

    list_display_links = ("indented_title",)
    mptt_level_indent = 20
    expand_tree_by_default = True

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            # MPTT's action deletes past finalizers; ours, with the node-by-node delete_queryset below.
            actions["delete_selected"] = (delete_selected, *actions["delete_selected"][1:])
        return actions

    def delete_queryset(self, request, queryset):
        # Node by node, as MPTT's own action: a bulk delete would leave the tree's left/right values wrong.
        objs = list(queryset)
        for obj in objs:
            self.require_write(request, obj, "delete")
        with transaction.atomic(using=router.db_for_write(self.model)):
            for obj in objs:
                try:
                    finalizers.request_deletion(obj)
                except self.model.DoesNotExist:
                    continue  # deleted with its parent

    def _move_node(self, request):
        refusal = self.move_refusal(request)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponse("FAIL, no permission.")
        return super()._move_node(request)

    def move_refusal(self, request) -> str | None:
        queryset = self.get_queryset(request)
        position = request.POST.get("position")
        try:
            node = queryset.get(pk=request.POST.get("cut_item"))
            target = queryset.get(pk=request.POST.get("pasted_on"))
        except (self.model.DoesNotExist, TypeError, ValueError):
            return None  # the tree admin answers these itself
        parent_attr = self.model._mptt_meta.parent_attr
        parent_id = target.pk if position == "last-child" else getattr(target, f"{parent_attr}_id")
        if parent_id is not None and not queryset.filter(pk=parent_id).exists():
            return "Not found: no such object is within your reach."
        moved = copy.copy(node)
        setattr(moved, f"{parent_attr}_id", parent_id)
        try:
            rights(request).check_write(moved, "change", before=node)
        except (ValidationError, PermissionDenied) as exc:
            return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        return None

    def _build_tree_structure(self, queryset):
        # A visible node under a hidden parent is drawn as a root: the hidden parent's id stays out of the page.
        structure = super()._build_tree_structure(queryset)
        shown = {str(pk) for children in structure.values() for pk in children}
        tree = {}
        for parent, children in structure.items():
            tree.setdefault(parent if parent == 0 or parent in shown else 0, []).extend(children)
        return tree


class CatalogInline(ScopedAdminMixin):
    """Mixin of every inline (``class XInline(CatalogInline, admin.TabularInline)``).

    Rows are those the user may see; adding, changing and deleting rows needs the write role the
    rows would need on the parent's tenant (memberships: admin), or the model permission for rows
    of a shared parent; every row form is checked like a model form.
    """

    def has_view_permission(self, request, obj=None):
        staff = bool(request.user.is_active and request.user.is_staff)
        return staff and (obj is None or rights(request).can_see(obj))

    def has_add_permission(self, request, obj=None):
        return self.may_write_rows(request, obj, "add")

    def has_change_permission(self, request, obj=None):
        return self.may_write_rows(request, obj, "change")

    def has_delete_permission(self, request, obj=None):
        return self.may_write_rows(request, obj, "delete")

    def may_write_rows(self, request, parent, action: str) -> bool:
        if parent is None:
            return self.may_write_somewhere(request, action)
        if finalizers.is_deleting(parent):
            return False  # its page is read-only but for the removal of finalizers
        probe = self.model()
        for field in self.model._meta.fields:
            if (isinstance(field, models.ForeignKey) and field.related_model is type(parent)
                    and (self.fk_name is None or field.name == self.fk_name)):
                setattr(probe, field.name, parent)
                break
        return rights(request).can_write(probe, action)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = access_checked_form(formset.form, request, check_unchanged=False)
        return formset


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):
    """API tokens: listed by prefix; new keys come from ``manage.py create_token`` (shown once).

    A user who is not a superuser sees (and, with the permissions, changes) only their own tokens,
    and cannot give one to someone else.
    """

    list_display = ("prefix", "user", "description", "write_enabled", "created", "expires", "last_used")
    list_filter = ("expires", "write_enabled")
    search_fields = ("prefix", "user__username", "description")
    readonly_fields = ("prefix", "created", "last_used")
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, "user")

    def has_add_permission(self, request):
        return False

import catalog_site.webhook_admin  # noqa: E402, F401 - registers the webhooks' admin

from . import changelog_admin  # noqa: E402 - registers the change log's admin; the History tab
