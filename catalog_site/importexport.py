"""Import and export of the inventory from its admin list pages (CSV, JSON, YAML), with django-import-export.

Every inventory model (``INVENTORY``) gets a resource generated from its fields, so that the apps'
admins need nothing: the base admin's ``catalog_site.admin_bulk.ImportExportAdminMixin`` adds the Import
and Export buttons to their list pages, trees included. What a file says is what a person can write:

- a row names its object by a natural key (``INVENTORY``: a slug, a name, the device and name of an
  interface), so that a row whose object exists updates it and any other row creates one;
- a relation is written as the related object's key (``REFERENCES``): a slug, a name, ``default/1000``
  for a VLAN (its L2 domain's slug and its id); an interface of an IP address and the gateway of a
  prefix are looked up with another column of the row (``ROW_CONTEXT``);
- annotations and finalizers are JSON text (a JSON or YAML file may also give them as objects).

Export and import use the same columns, so an exported file imports back unchanged.

Scoping is the admin's: the export lists the rows of the list page (its filters applied, scoped), and
a relation to an object the viewer may not see is exported empty; an empty cell then keeps it as it
is, as a form keeps such a relation. An import finds existing rows and related objects only among
those the viewer sees (a hidden one reads as "not found"), checks every row with the model's
``full_clean()`` and ``Access.check_write``, and shows each row's errors, by column, in a preview
before anything is written. The import itself runs in one transaction, rolled back whole if any row
fails (``rollback_on_validation_errors``), so that a file goes in entirely or not at all.
"""

import copy
import json

import tablib
import yaml
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Prefetch
from import_export.fields import Field
from import_export.formats.base_formats import JSON, YAML
from import_export.resources import ModelResource
from import_export.widgets import ManyToManyWidget, Widget

from . import access, finalizers

# The inventory: each model with the columns that name one of its objects in a file.
INVENTORY = {
    "tenancy.Tenant": ("slug",),
    "dcim.Location": ("slug",),
    "dcim.Manufacturer": ("slug",),
    "dcim.DeviceType": ("manufacturer", "slug"),
    "dcim.DeviceRole": ("slug",),
    "dcim.Device": ("location", "name"),
    "dcim.Interface": ("device", "name"),
    "ipam.Namespace": ("name",),
    "ipam.Prefix": ("namespace", "prefix"),
    "ipam.IPAddress": ("namespace", "address"),
    "ipam.L2Domain": ("name",),
    "ipam.VLAN": ("l2domain", "vid"),
}

# How a cell names a related object: the lookups of its parts, written joined by "/".
REFERENCES = {
    "tenancy.Tenant": ("slug",),
    "dcim.Location": ("slug",),
    "dcim.Manufacturer": ("slug",),
    "dcim.DeviceType": ("slug",),
    "dcim.DeviceRole": ("slug",),
    "dcim.Device": ("name",),
    "dcim.Interface": ("name",),
    "ipam.Namespace": ("name",),
    "ipam.L2Domain": ("slug",),
    "ipam.VLAN": ("l2domain__slug", "vid"),
    "ipam.IPAddress": ("address",),
}

# Relations read together with another column of the row: (model, field) -> (lookup, column).
ROW_CONTEXT = {
    ("ipam.IPAddress", "interface"): ("device__name", "device"),
    ("ipam.Prefix", "gateway"): ("namespace__name", "namespace"),
}

# Columns that only help find a relation (the device of an IP address's interface): exported from
# the object, read by the relation (ROW_CONTEXT), never written.
HELPER_COLUMNS = {"ipam.IPAddress": {"device": "interface__device__name"}}

METADATA_FIELDS = ("annotations", "finalizers")
MAX_MATCHES = 2  # looked for: one is the object, a second says the key is ambiguous


class Absent(str):
    """The cell of a key a JSON or YAML object leaves out: empty, and leaving its field as it is."""


ABSENT = Absent("")


class ObjectListFormat:
    """A JSON or YAML list of objects whose keys may differ from one object to the next (tablib wants
    the same keys everywhere): the missing keys read as ``ABSENT``."""

    def create_dataset(self, in_stream, **kwargs):
        records = self.parse(in_stream)
        if not (isinstance(records, list) and records and all(isinstance(record, dict) for record in records)):
            return super().create_dataset(in_stream, **kwargs)
        headers = list(dict.fromkeys(str(key) for record in records for key in record))
        dataset = tablib.Dataset(headers=headers)
        for record in records:
            values = {str(key): value for key, value in record.items()}
            dataset.append([values.get(header, ABSENT) for header in headers])
        return dataset


class JSONObjects(ObjectListFormat, JSON):
    parse = staticmethod(json.loads)


class YAMLObjects(ObjectListFormat, YAML):
    parse = staticmethod(yaml.safe_load)


def is_inventory(model) -> bool:
    return model._meta.label in INVENTORY


def reference_text(obj) -> str:
    """How a cell names ``obj`` (``REFERENCES``)."""
    parts = []
    for lookup in REFERENCES[obj._meta.label]:
        value = obj
        for attribute in lookup.split("__"):
            value = getattr(value, attribute, None) if value is not None else None
        parts.append("" if value is None else str(value))
    return "/".join(parts)


class ReferenceLookup:
    """Finds a related object by its key (``REFERENCES``) among those the viewer sees."""

    def __init__(self, model, context=None):
        Widget.__init__(self)
        self.model = model
        self.lookups = REFERENCES[model._meta.label]
        self.context = context
        self.viewer = access.ANONYMOUS

    @property
    def syntax(self) -> str:
        return "/".join(lookup.replace("__", " ") for lookup in self.lookups)

    def candidates(self, row):
        queryset = self.viewer.restrict(self.model._default_manager.all())
        if self.context is not None and row is not None:
            lookup, column = self.context
            narrowing = str(row.get(column) or "").strip()
            if narrowing:
                queryset = queryset.filter(**{lookup: narrowing})
        return queryset

    def find(self, text: str, row=None):
        """The visible object ``text`` names; ValueError (an error on the column) if none or several."""
        name = self.model._meta.verbose_name
        parts = text.split("/", len(self.lookups) - 1) if len(self.lookups) > 1 else [text]
        if len(parts) != len(self.lookups):
            raise ValueError(f"{text!r} does not name a {name}: write its {self.syntax}.")
        try:
            matches = list(self.candidates(row).filter(**dict(zip(self.lookups, parts, strict=True)))[:MAX_MATCHES])
        except (ValueError, TypeError, ValidationError):
            matches = []
        if not matches:
            raise ValueError(f"Not found: no {name} {text!r} within your reach.")
        if len(matches) > 1:
            raise ValueError(f"Several {self.model._meta.verbose_name_plural} are called {text!r}.")
        return matches[0]


class ReferenceWidget(ReferenceLookup, Widget):
    """A relation's cell: the related object's key."""

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        return self.find(text, row) if text else None

    def render(self, value, obj=None, **kwargs):
        if value is None or not self.viewer.can_see(value):
            return ""
        return reference_text(value)


class ReferenceListWidget(ReferenceLookup, ManyToManyWidget):
    """A many-to-many relation's cell (tagged VLANs): the keys, separated by commas."""

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, (list, tuple)):
            texts = [str(item).strip() for item in value]
        else:
            texts = [] if value is None else [item.strip() for item in str(value).split(",")]
        return [self.find(text, row) for text in texts if text]

    def render(self, value, obj=None, **kwargs):
        related = value.all() if value is not None else ()
        return ", ".join(sorted(reference_text(item) for item in related if self.viewer.can_see(item)))


class ReferenceField(Field):
    """A relation column: an empty cell keeps a relation the viewer may not see, as a form keeps it."""

    def __init__(self, django_field, **kwargs):
        super().__init__(**kwargs)
        self.django_field = django_field

    def clean(self, row, **kwargs):
        value = super().clean(row, **kwargs)
        if value is None and self.django_field.has_default() and not self.django_field.many_to_many:
            # An empty namespace or L2 domain is the default one, as in a form.
            default = self.django_field.get_default()
            value = self.django_field.related_model._base_manager.filter(pk=default).first()
        return value

    def save(self, instance, row, is_m2m=False, **kwargs):
        if is_m2m:
            kept = self.hidden_values(instance)
            getattr(instance, self.attribute).set([*self.clean(row, **kwargs), *kept])
            return
        if instance.pk is not None and not str(row.get(self.column_name) or "").strip():
            current = getattr(instance, self.django_field.attname)
            if current is not None and current not in self.visible_ids([current]):
                return
        super().save(instance, row, is_m2m, **kwargs)

    def visible_ids(self, ids) -> set:
        related = self.django_field.related_model
        return set(self.widget.viewer.restrict(related._base_manager.filter(pk__in=ids)).values_list("pk", flat=True))

    def hidden_values(self, instance) -> list:
        if instance.pk is None or self.widget.viewer.unrestricted:
            return []
        return list(getattr(instance, self.attribute).exclude(self.widget.viewer.visible_q(
            self.django_field.related_model)))


class MetadataWidget(Widget):
    """Annotations (a JSON object) or finalizers (a JSON list), as JSON text; a JSON or YAML file may
    give them as they are."""

    def __init__(self, empty, **kwargs):
        super().__init__(**kwargs)
        self.empty = empty

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, (dict, list)):
            return value
        text = "" if value is None else str(value).strip()
        if not text:
            return copy.copy(self.empty)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from exc

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value if value is not None else self.empty, ensure_ascii=False, sort_keys=True)


class HelperColumn(Field):
    """A column exported from the object to help find a relation on import, never written."""

    def __init__(self, path: str, column_name: str):
        super().__init__(attribute=path, column_name=column_name, readonly=True)

    def save(self, instance, row, is_m2m=False, **kwargs):
        return


class InventoryResource(ModelResource):
    """The base of every generated resource: the viewer's rights on every read and every row written."""

    def __init__(self, viewer: access.Access = access.ANONYMOUS, **kwargs):
        super().__init__(**kwargs)
        self.viewer = viewer
        for field in self.fields.values():
            if isinstance(field.widget, ReferenceLookup):
                field.widget.viewer = viewer

    def get_queryset(self):
        return self.viewer.restrict(self._meta.model._default_manager.all())

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related(*self.related_paths()).prefetch_related(*self.prefetches())

    def related_paths(self) -> list[str]:
        """What to join so that exporting a row asks nothing more of the database."""
        paths = []
        for field in self.fields.values():
            if isinstance(field, HelperColumn):
                paths.append(field.attribute.rsplit("__", 1)[0])
            elif isinstance(field, ReferenceField) and not field.django_field.many_to_many:
                paths.append(field.attribute)
                paths.extend(f"{field.attribute}__{lookup.rsplit('__', 1)[0]}" for lookup in field.widget.lookups
                             if "__" in lookup)
                tenant_path = access.tenant_path(field.django_field.related_model)
                if tenant_path not in (access.SELF, access.SHARED) and "__" in tenant_path:
                    paths.append(f"{field.attribute}__{tenant_path.rsplit('__', 1)[0]}")
        return paths

    def prefetches(self) -> list:
        prefetches = []
        for field in self.fields.values():
            if isinstance(field, ReferenceField) and field.django_field.many_to_many:
                related = field.django_field.related_model
                joins = [lookup.rsplit("__", 1)[0] for lookup in field.widget.lookups if "__" in lookup]
                prefetches.append(Prefetch(field.attribute, queryset=related._base_manager.select_related(*joins)))
        return prefetches

    def get_instance(self, instance_loader, row):
        # A key that names nothing the viewer sees makes a new row; the column's error comes with it.
        if any(row.get(self.fields[name].column_name) is ABSENT for name in self.get_import_id_fields()):
            return None
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

    def after_init_instance(self, instance, new, row, **kwargs):
        instance._stored_before_import = None if new else copy.copy(instance)

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        value = row.get(field.column_name)
        if value is ABSENT:
            return  # left out of this object: as it is
        if instance.pk is None and value in ("", None) and field.attribute:
            try:
                if instance._meta.get_field(field.attribute).has_default():
                    return  # a new object's empty cell: the field's default, as in a form
            except FieldDoesNotExist:
                pass
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for name, problems in self.many_to_many_errors(instance, row).items():
            errors.setdefault(name, []).extend(problems)
        if errors:
            raise ValidationError(errors)

    def many_to_many_errors(self, instance, row) -> dict:
        """The many-to-many cells' errors, and the model's rules on their values (``validate_<field>``),
        which ``full_clean()`` cannot see."""
        errors = {}
        for field in self.fields.values():
            if not (isinstance(field, ReferenceField) and field.django_field.many_to_many):
                continue
            try:
                if row.get(field.column_name, ABSENT) is not ABSENT:
                    values = [*field.clean(row), *field.hidden_values(instance)]
                else:
                    values = list(getattr(instance, field.attribute).all()) if instance.pk is not None else []
                validate = getattr(instance, f"validate_{field.attribute}", None)
                if validate is not None:
                    validate(values)
            except ValueError as exc:
                errors[field.attribute] = [str(exc)]
            except ValidationError as exc:
                for name, problems in exc.message_dict.items():
                    errors.setdefault(name, []).extend(problems)
        return errors

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        super().validate_instance(instance, import_validation_errors, validate_unique)
        before = instance._stored_before_import
        if before is not None and finalizers.is_deleting(before):
            raise ValidationError(f"{before} is being deleted: only its finalizers can change, on its page.")
        finalizers.check_user_change(before.finalizers if before is not None else [], instance.finalizers)
        try:
            self.viewer.check_write(instance, "add" if before is None else "change", before=before)
        except PermissionDenied as exc:
            raise ValidationError(str(exc) or "You may not make this change.") from exc

    def before_import(self, dataset, **kwargs):
        if len(dataset) > settings.MAX_BULK_OBJECTS:
            raise ValueError(f"A file holds at most {settings.MAX_BULK_OBJECTS} rows; this one has {len(dataset)}. "
                             "Split it, and import the parts in turn.")

    def after_import(self, dataset, result, **kwargs):
        # No row sets an id: the library's resetting of sequences has nothing to do.
        return


def metadata_field(django_field) -> Field:
    return Field(attribute=django_field.name, column_name=django_field.name,
                 widget=MetadataWidget(empty=django_field.get_default()))


def reference_field(model, django_field) -> ReferenceField:
    context = ROW_CONTEXT.get((model._meta.label, django_field.name))
    widget_class = ReferenceListWidget if django_field.many_to_many else ReferenceWidget
    return ReferenceField(django_field, attribute=django_field.name, column_name=django_field.name,
                          widget=widget_class(django_field.related_model, context=context))


def columns(model) -> list[str]:
    """The model's columns in files: its key first, then every field a person edits."""
    key = list(INVENTORY[model._meta.label])
    names = [field.name for field in model._meta.get_fields()
             if getattr(field, "editable", False) and not field.auto_created and not field.primary_key
             and (field.concrete or field.many_to_many)]
    helpers = list(HELPER_COLUMNS.get(model._meta.label, ()))
    return key + helpers + [name for name in names if name not in key]


_RESOURCES: dict = {}


def resource_for(model) -> type[InventoryResource]:
    """The resource class of an inventory model, generated once from its fields."""
    label = model._meta.label
    if label not in _RESOURCES:
        attrs = {}
        for name in columns(model):
            if name in HELPER_COLUMNS.get(label, {}):
                attrs[name] = HelperColumn(HELPER_COLUMNS[label][name], name)
                continue
            django_field = model._meta.get_field(name)
            if name in METADATA_FIELDS:
                attrs[name] = metadata_field(django_field)
            elif django_field.is_relation:
                attrs[name] = reference_field(model, django_field)
        meta = type("Meta", (), {"model": model, "fields": tuple(columns(model)), "import_id_fields": INVENTORY[label],
                                 "skip_unchanged": False, "report_skipped": True, "clean_model_instances": True})
        _RESOURCES[label] = type(f"{model.__name__}Resource", (InventoryResource,), {**attrs, "Meta": meta})
    return _RESOURCES[label]
