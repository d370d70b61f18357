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
from django.contrib.admin.utils import NestedObjects, NotRelationField, get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, router
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import format_html
from django.utils.text import capfirst
from mptt.admin import DraggableMPTTAdmin

from . import access
from .models import Token

METADATA_FIELDSET = ("Metadata", {"classes": ("collapse",), "fields": ("annotations", "created", "last_updated")})


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


class CatalogModelAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Base admin: tenant-scoped (see the module), timestamps read-only, a sensible page size.

    Scoped models are listed to any staff user with a membership or the model's view permission
    (they see their rows); shared models (no tenant) to every staff user.
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

    def get_visible_object_or_404(self, request, pk, queryset=None):
        """The object ``pk`` among those the user may see: a hidden one is a 404, like a missing one."""
        return get_object_or_404(rights(request).restrict(queryset) if queryset is not None
                                 else self.get_queryset(request), pk=pk)

    # -- forms and writes ------------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        return access_checked_form(super().get_form(request, obj, change=change, **kwargs), request)

    def get_changelist_form(self, request, **kwargs):
        return access_checked_form(super().get_changelist_form(request, **kwargs), request)

    def delete_model(self, request, obj):
        self.require_write(request, obj, "delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.require_write(request, obj, "delete")
        super().delete_queryset(request, queryset)

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
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_deleted_objects(self, objs, request):
        viewer = rights(request)
        if viewer.unrestricted:
            return super().get_deleted_objects(objs, request)
        return deletion_summary(objs, request, self.admin_site, viewer)


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
