"""Serializer base classes following NetBox's conventions.

- Every object carries ``id``, ``url`` and ``display``.
- ``brief=True`` (``?brief=1``, and every nested object) keeps only ``Meta.brief_fields``.
- Related objects are written by id (or ``{"id": N}``) and read back as a brief nested object.
  Only objects the caller may see can be written (any other id does not exist for them), and a
  related object the caller may not see reads as ``null`` (left out of a list).
- Validation runs the model's ``full_clean()``, so that the rules in ``clean()`` and the database
  constraints answer the API and the admin with the same field-keyed messages.
- Writes are strict: a field the serializer does not have is a 400 naming it, and so is a read-only
  field, unless it carries the value the object already has (a body read by GET and sent back).
"""

import copy
import json
from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import MANY_RELATION_KWARGS, PKOnlyObject
from rest_framework.utils.encoders import JSONEncoder

from catalog_site import access, finalizers
from catalog_site.models import MAX_FINALIZERS

from .exceptions import validation_error_detail


def concrete_field_names(model) -> frozenset[str]:
    """The names of the fields an instance holds itself (not many-to-many, not reverse relations)."""
    return frozenset(field.name for field in model._meta.concrete_fields)


def detail_view_name(model) -> str:
    return f"{model._meta.app_label}-api:{model._meta.model_name}-detail"


class RelatedObjectField(serializers.PrimaryKeyRelatedField):
    """A foreign key written by id and read as the related object's brief representation.

    ``serializer`` is the related model's serializer class or its dotted path (a string avoids
    circular imports between apps).
    """

    def __init__(self, serializer, **kwargs):
        self._serializer = serializer
        super().__init__(**kwargs)

    @property
    def serializer_class(self):
        if isinstance(self._serializer, str):
            self._serializer = import_string(self._serializer)
        return self._serializer

    def use_pk_only_optimization(self):
        return False

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if "id" not in data:
                self.fail("incorrect_type", data_type="object without 'id'")
            data = data["id"]
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    @classmethod
    def many_init(cls, *args, **kwargs):
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        for key in kwargs:
            if key in MANY_RELATION_KWARGS:
                list_kwargs[key] = kwargs[key]
        return VisibleManyRelatedField(**list_kwargs)

    @property
    def access(self) -> access.Access:
        return access.for_request(self.context.get("request"))

    def get_queryset(self):
        return self.access.restrict(super().get_queryset())

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        return value if self.access.can_see(value) else None

    def to_representation(self, value):
        return self.serializer_class(value, context=self.context, brief=True).data

    def get_choices(self, cutoff=None):
        # The browsable API renders a select of every object otherwise; ids are enough.
        return {}


class VisibleManyRelatedField(serializers.ManyRelatedField):
    """A to-many relation of ``RelatedObjectField``s that leaves out the objects the caller may not see."""

    def to_representation(self, iterable):
        can_see = self.child_relation.access.can_see
        return [self.child_relation.to_representation(value) for value in iterable if can_see(value)]


def as_json(value):
    """A representation as the client receives it (plain lists, dicts, strings and numbers)."""
    return json.loads(json.dumps(value, cls=JSONEncoder))


class StrictInputMixin:
    """A write naming a field the serializer does not have is a 400 naming it (DRF would drop it).

    So is a read-only field (``id``, ``url``, ``display``, ``created``...), unless it carries the value
    the object already has: a body read by GET, changed and sent back by PUT or PATCH, passes; an
    attempt to change a read-only field, or to choose one on creation, is refused rather than ignored.
    ``read_only_reasons`` may explain a field's refusal (where it is changed instead).
    """

    read_only_reasons: dict[str, str] = {}

    def to_internal_value(self, data):
        errors = self.undeclared_field_errors(data) if isinstance(data, Mapping) else {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if errors and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **errors}) from exc
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def undeclared_field_errors(self, data: Mapping) -> dict[str, list[str]]:
        fields = self.fields
        errors = {}
        for name, value in data.items():
            field = fields.get(name)
            if field is None:
                writable = ", ".join(n for n, f in fields.items() if not f.read_only) or "none"
                errors[name] = [f"Unknown field. The fields that can be written are: {writable}."]
            elif field.read_only and not self.holds_value(field, value):
                errors[name] = [self.read_only_reasons.get(name, "This field is read-only.")]
        return errors

    def holds_value(self, field, value) -> bool:
        """Whether ``value`` is what a GET of the instance shows for ``field``."""
        instance = getattr(self, "instance", None)
        if instance is None or isinstance(instance, list | tuple):
            return False
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return False
        empty = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        current = None if empty is None else field.to_representation(attribute)
        return as_json(current) == value


# Every primary model's serializer has them, after ``annotations`` (see ``BaseModelSerializer.get_field_names``).
FINALIZER_FIELDS = ("finalizers", "deleting_since")


CHOICE_OBJECT_APPS = frozenset({"dcim", "ipam"})


class ChoiceObjectField(serializers.ChoiceField):
    """A choice as NetBox answers it: read as ``{"value", "label"}`` (null when empty), written as the
    plain value or as ``{"value": ...}`` (so that a body read by GET can be sent back)."""

    def to_representation(self, value):
        if value in ("", None):
            return None
        key = str(value)
        return {"value": self.choice_strings_to_values.get(key, value), "label": str(self.choices.get(
            self.choice_strings_to_values.get(key, value), value))}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            if set(data) - {"value", "label"} or "value" not in data:
                self.fail("invalid_choice", input=str(data)[:100])
            data = data["value"]
        return super().to_internal_value(data)

    def validate_empty_values(self, data):
        # An empty choice reads as null: null sent back means empty again.
        if data is None and self.allow_blank and not self.allow_null:
            return True, ""
        return super().validate_empty_values(data)


class BaseModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    """Base of every model serializer: ``id``, ``url``, ``display``, brief mode, model validation, strict input.

    A primary model's serializer also has ``finalizers`` (writable; names under ``catalog/`` are the
    catalog's own) and ``deleting_since`` (read-only), whether its ``Meta.fields`` names them or not.
    """

    # NetBox clients read a choice as {"value", "label"}: the NetBox surface (the apps of
    # ``CHOICE_OBJECT_APPS``) answers so; the catalog's own models (services, tenancy) answer plain
    # values. A serializer may decide for itself with ``choice_objects``.
    choice_objects: bool | None = None

    @property
    def serializer_choice_field(self):  # what ModelSerializer builds a model field with choices as
        wanted = self.choice_objects
        if wanted is None:
            wanted = self.Meta.model._meta.app_label in CHOICE_OBJECT_APPS
        return ChoiceObjectField if wanted else serializers.ChoiceField

    display = serializers.SerializerMethodField(read_only=True)

    def __init__(self, *args, brief: bool = False, **kwargs):
        self.brief = brief
        super().__init__(*args, **kwargs)

    def get_field_names(self, declared_fields, info):
        names = list(super().get_field_names(declared_fields, info))
        missing = [name for name in FINALIZER_FIELDS if name not in names]
        if missing and finalizers.applies_to(self.Meta.model):
            at = names.index("annotations") + 1 if "annotations" in names else len(names)
            names[at:at] = missing
        return names

    def build_field(self, field_name, info, model_class, nested_depth):
        if field_name == "finalizers" and finalizers.applies_to(model_class):
            return serializers.ListField, {
                "child": serializers.CharField(max_length=317), "required": False, "max_length": MAX_FINALIZERS,
                "help_text": model_class._meta.get_field("finalizers").help_text,
            }
        return super().build_field(field_name, info, model_class, nested_depth)

    def validate_finalizers(self, value):
        instance = self.instance if isinstance(self.instance, Model) else None
        try:
            finalizers.check_user_change(instance.finalizers if instance is not None else [], value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["finalizers"]) from exc
        return value

    def get_fields(self):
        fields = super().get_fields()
        # ``Meta.view_name``: a second endpoint over the same model (NetBox's sites over locations).
        view_name = getattr(self.Meta, "view_name", None) or detail_view_name(self.Meta.model)
        fields["url"] = serializers.HyperlinkedIdentityField(view_name=view_name)
        if self.brief:
            keep = self.Meta.brief_fields
            fields = {name: field for name, field in fields.items() if name in keep}
        return fields

    def get_display(self, obj) -> str:
        return str(obj)

    def model_instance(self, attrs):
        """An unsaved instance with ``attrs`` applied (a copy on update), for ``full_clean()``."""
        model = self.Meta.model
        instance = copy.copy(self.instance) if self.instance is not None else model()
        if self.instance is not None:
            instance._state = copy.copy(self.instance._state)
            # A shallow copy of the state would share the cache of related objects: setting a relation
            # on the copy would change what the stored instance points at (its "before" in access checks).
            instance._state.fields_cache = dict(self.instance._state.fields_cache)
        for name, value in attrs.items():
            if name in concrete_field_names(model):
                setattr(instance, name, value)
        return instance

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.model_instance(attrs)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from exc
        # clean() may normalise values (a prefix with host bits, say); keep what it settled on.
        for name in list(attrs):
            if name in concrete_field_names(instance):
                attrs[name] = getattr(instance, name)
        return attrs
