"""FilterSet base classes, tree-aware filters, and the strict filter and ordering backends of the API.

Every list is strict by default (as Nautobot's strict filtering): a query parameter that no filter,
paginator or backend of the view reads is a 400 naming it, instead of being ignored and answering
every row; a value of the wrong type (``?id=abc``, ``?enabled=maybe``, an id past the 64-bit range)
is a 400 naming the filter before anything reaches the database; NUL characters, which PostgreSQL
refuses, are a 400 in any parameter.
"""

import copy
import datetime
import json
import math
import re

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django_filters import fields, widgets
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, filters
from rest_framework.settings import api_settings

from catalog_site import access, finalizers, metadata
from catalog_site.api.parsers import NULL_CHARACTER_MESSAGE

# The ids of every model are 64-bit integers (BigAutoField): a larger value can name no object, and
# SQLite raises OverflowError on it.
MAX_ID = 2**63 - 1
# Query parameters every view understands whatever its filters: the renderer (``?format=json``)
# and NetBox's brief mode.
COMMON_PARAMS = frozenset({api_settings.URL_FORMAT_OVERRIDE, "brief"})


def check_ids(field, values) -> None:
    """Values of a filter choosing objects by an integer key must be integers that a key can hold.

    Django checks the type only when the query runs, and SQLite overflows past 64 bits: checked here,
    a bad value is a 400 naming the filter.
    """
    key = field.to_field_name or "pk"
    try:
        model_field = field.queryset.model._meta.get_field(key) if key != "pk" else field.queryset.model._meta.pk
    except FieldDoesNotExist:
        return
    if not isinstance(model_field, models.IntegerField):
        return
    null_value = field.null_value if getattr(field, "null_label", None) is not None else None
    for value in values:
        if value in (None, "") or (null_value is not None and value == null_value):
            continue
        digits = str(value).strip().removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or int(digits) > MAX_ID:
            raise ValidationError("“%(pk)s” is not a valid id.", code="invalid_pk_value", params={"pk": value})


class IdModelMultipleChoiceField(fields.ModelMultipleChoiceField):
    """django-filter's field, refusing values that are not ids before they reach the database."""

    def _check_values(self, value):
        check_ids(self, value)
        return super()._check_values(value)


class IdModelChoiceField(fields.ModelChoiceField):
    """The single-valued twin of ``IdModelMultipleChoiceField``."""

    def to_python(self, value):
        check_ids(self, [value])
        return super().to_python(value)


class IdField(forms.IntegerField):
    """An object id: an integer between 1 and the largest 64-bit key."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IdFilter(django_filters.NumberFilter):
    field_class = IdField


class RepeatableCSVWidget(widgets.CSVWidget):
    """``?id=1,2``, ``?id=1&id=2`` or both: every value counts (django-filter's CSV widget keeps the last)."""

    def value_from_datadict(self, data, files, name):
        if not hasattr(data, "getlist") or name not in data:
            return super().value_from_datadict(data, files, name)
        return [part for value in data.getlist(name) for part in value.split(",") if part.strip()]


class UTCIsoDateTimeField(fields.IsoDateTimeField):
    """An ISO 8601 time, turned to UTC: PostgreSQL refuses offsets beyond ±15:59, which Python accepts."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:  # 9999-12-31T23:00-05:00 is past the last UTC time
            raise ValidationError("This time is out of range.", code="invalid") from None


class UTCIsoDateTimeRangeField(fields.RangeField):
    widget = widgets.DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UTCIsoDateTimeField(), UTCIsoDateTimeField()), *args, **kwargs)


class TimeRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """``?<name>_after=`` / ``?<name>_before=`` (ISO 8601, any offset), as NetBox names them."""

    field_class = UTCIsoDateTimeRangeField


class IdInFilter(django_filters.BaseInFilter, IdFilter):
    """Objects by id, several allowed: ``?id=1,2`` or ``?id=1&id=2`` (NetBox's form)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", RepeatableCSVWidget)
        super().__init__(*args, **kwargs)


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class StrictBooleanWidget(forms.NullBooleanSelect):
    """The browsable API's yes/no/unknown select, passing an unrecognised word on for the field to refuse."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None or value in ("", "unknown"):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS or word == "2":  # 2 and 3: the select's own option values
            return True
        if word in FALSE_WORDS or word == "3":
            return False
        return value


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``, ``yes``/``no``); anything else is a 400, not "no filter"."""

    widget = StrictBooleanWidget

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        raise ValidationError("Expected true or false, not %(value)s.", code="invalid", params={"value": repr(value)})


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class NoMatch(list):
    """A filter value naming only objects the caller cannot see (or that do not exist): matches nothing."""


class VisibleModelMultipleChoiceField(IdModelMultipleChoiceField):
    """Ids the caller cannot see are treated like ids that match nothing, not as a 400.

    A hidden tenant must be indistinguishable from a tenant without objects: ``?tenant_id=<foreign>``
    answers an empty list. A malformed id (``?tenant_id=abc``) is still a 400.
    """

    def _check_values(self, value):
        try:
            return super()._check_values(value)
        except ValidationError as exc:
            if exc.code != "invalid_choice":
                raise
        key = self.to_field_name or "pk"
        found = list(self.queryset.filter(**{f"{key}__in": [v for v in value if v != self.null_value]}))
        return found or NoMatch()


class VisibleModelChoiceField(IdModelChoiceField):
    """The single-valued twin of ``VisibleModelMultipleChoiceField``."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as exc:
            if exc.code != "invalid_choice":
                raise
            return NoMatch()


class RepeatedTextInput(forms.TextInput):
    """A text input read as the list of every value of its parameter (``?annotation=a&annotation=b``)."""

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return data.getlist(name) if name in data else None
        value = data.get(name)
        return None if value is None else [value]

    def format_value(self, value):
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        return super().format_value(value)


# A JSON number, as a query parameter may write one to match a number (``?annotation=example.com/rack=5``).
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,30})(?:\.[0-9]{1,30})?(?:[eE][-+]?[0-9]{1,3})?")
JSON_WORDS = {"true": True, "false": False, "null": None}


def json_scalar(text: str):
    """The number, boolean or null that ``text`` writes in JSON, or ``text`` itself if it writes none."""
    if text in JSON_WORDS:
        return JSON_WORDS[text]
    if JSON_NUMBER.fullmatch(text):
        number = json.loads(text)
        if not isinstance(number, float) or math.isfinite(number):
            return number
    return text


class AnnotationMatchField(forms.Field):
    """``<key>`` or ``<key>=<value>``, each value of the parameter: a list of ``(key, value or None)``."""

    widget = RepeatedTextInput

    def to_python(self, value):
        if value in self.empty_values:
            return []
        matches, errors = [], []
        for item in value if isinstance(value, list) else [value]:
            if item == "":
                continue
            key, equals, text = item.partition("=")
            problem = metadata.annotation_key_error(key)
            if problem:
                errors.append(ValidationError("Expected <key> or <key>=<value>; %(problem)s.", code="invalid",
                                              params={"problem": problem}))
            else:
                matches.append((key, text if equals else None))
        if errors:
            raise ValidationError(errors[:metadata.MAX_MESSAGES])
        return matches


@extend_schema_field({
    "type": "array",
    "items": {"type": "string"},
    "description": "Objects by annotation: `<key>=<value>` matches an annotation whose value is that text (a JSON "
                   "string), or that number, boolean or null written as JSON (`=5`, `=true`); `<key>` alone matches "
                   "objects that have the key. Keys are `<prefix>/<name>` (`example.com/owner`). Repeat the "
                   "parameter to require several (all must match).",
})
class AnnotationFilter(django_filters.Filter):
    """``?annotation=example.com/owner=noc`` and ``?annotation=example.com/owner`` on every model with annotations.

    Keys hold dots and slashes: they are looked up as JSON keys (``KeyTransform``, ``has_key``), never
    spliced into a lookup path, on SQLite as on PostgreSQL.
    """

    field_class = AnnotationMatchField

    def filter(self, qs, value):
        for key, text in value or ():
            if text is None:
                qs = qs.filter(**{f"{self.field_name}__has_key": key})
                continue
            alias = f"_annotation_{len(qs.query.annotations)}"
            qs = qs.alias(**{alias: KeyTransform(key, self.field_name)})
            condition = Q(**{alias: text})
            scalar = json_scalar(text)
            if scalar is not text:
                condition |= Q(**{alias: scalar})
            qs = qs.filter(condition)
        return qs


def has_annotations(model) -> bool:
    try:
        return isinstance(model._meta.get_field("annotations"), models.JSONField)
    except FieldDoesNotExist:
        return False


def tree_range_q(nodes, field_name: str = "", include_self: bool = True) -> Q:
    """A Q matching objects whose ``field_name`` lies in the subtree of any of ``nodes``.

    One range condition per node on the MPTT columns: no recursion and one query, however deep.
    """
    prefix = f"{field_name}__" if field_name else ""
    lft, rght = ("gte", "lte") if include_self else ("gt", "lt")
    query = Q()
    for node in nodes:
        query |= Q(
            **{
                f"{prefix}tree_id": node.tree_id,
                f"{prefix}lft__{lft}": node.lft,
                f"{prefix}rght__{rght}": node.rght,
            }
        )
    return query


@extend_schema_field(OpenApiTypes.STR)
class RelatedTextFilter(django_filters.ModelMultipleChoiceFilter):
    """Related objects by a text key (``?role=core``, ``?device=sw01``, ``?service_type=<slug>``), several
    allowed; ``field_name`` ends with that key (``role__slug``), ``to_field_name`` names it, and the
    OpenAPI schema shows a string."""


class TreeNodeFilter(django_filters.ModelMultipleChoiceFilter):
    """``?tenant_id=X`` matching objects of X's subtree (X included; several ids: any subtree).

    ``relation`` names the foreign key to the tree (``"tenant"``); without it the filter applies to
    the tree model itself and matches only the strict descendants (``?ancestor_id=X``).
    """

    def __init__(self, *args, relation: str | None = None, **kwargs):
        self.relation = relation
        kwargs.setdefault("field_name", relation or "id")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        query = tree_range_q(value, self.relation or "", include_self=self.relation is not None)
        return qs.exclude(query) if self.exclude else qs.filter(query)


def _match_nothing_on_no_match(original, exclude: bool = False):
    """A filter naming only hidden objects matches nothing (its negation, ``__n``, excludes nothing)."""
    def filter_(queryset, value):
        if isinstance(value, NoMatch):
            return queryset if exclude else queryset.none()
        return original(queryset, value)

    return filter_


class MultipleTextField(forms.Field):
    """Every value of a query parameter (``?name=a&name=b``), as a list of strings."""

    widget = RepeatedTextInput

    def to_python(self, value):
        if value in self.empty_values:
            return []
        return [str(item) for item in (value if isinstance(value, list) else [value]) if item != ""]


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class MultiValueCharFilter(django_filters.CharFilter):
    """A text filter taking several values, as NetBox's: ``?name=a&name=b`` matches either; negated
    (``exclude``, as ``name__n``), it matches objects that match none of them."""

    field_class = MultipleTextField

    def filter(self, qs, value):
        if not value:
            return qs
        query = Q()
        for item in value:
            query |= Q(**{f"{self.field_name}__{self.lookup_expr}": item})
        qs = qs.exclude(query) if self.exclude else qs.filter(query)
        return qs.distinct() if self.distinct else qs


class EmptyTextFilter(StrictBooleanFilter):
    """``?name__empty=true``: the text is empty (or null); ``false``: it is not."""

    def filter(self, qs, value):
        if value is None:
            return qs
        empty = Q(**{self.field_name: ""}) | Q(**{f"{self.field_name}__isnull": True})
        return qs.filter(empty) if value else qs.exclude(empty)


# NetBox's lookups of a text filter (``?name__ic=core``): suffix -> (Django lookup, negated, label).
TEXT_LOOKUPS = {
    "n": ("exact", True, "is not"),
    "ic": ("icontains", False, "contains"),
    "nic": ("icontains", True, "does not contain"),
    "isw": ("istartswith", False, "starts with"),
    "nisw": ("istartswith", True, "does not start with"),
    "iew": ("iendswith", False, "ends with"),
    "niew": ("iendswith", True, "does not end with"),
    "ie": ("iexact", False, "is (ignoring case)"),
    "nie": ("iexact", True, "is not (ignoring case)"),
}


def is_text_filter(filter_) -> bool:
    """An exact match on a text column (``name``, ``slug``, ``dns_name``): one that gets NetBox's lookups."""
    return (type(filter_) in (django_filters.CharFilter, MultiValueCharFilter) and filter_.lookup_expr == "exact"
            and filter_.method is None and not filter_.exclude)


def text_filters(name: str, filter_) -> dict:
    """``name`` (several values allowed) and its lookups ``name__n``, ``name__ic``, ... ``name__empty``."""
    field_name = filter_.field_name
    label = filter_._label or name
    found = {name: MultiValueCharFilter(field_name=field_name, label=filter_._label, distinct=filter_.distinct)}
    for suffix, (lookup, negated, words) in TEXT_LOOKUPS.items():
        found[f"{name}__{suffix}"] = MultiValueCharFilter(field_name=field_name, lookup_expr=lookup, exclude=negated,
                                                          label=f"{label} {words}", distinct=filter_.distinct)
    found[f"{name}__empty"] = EmptyTextFilter(field_name=field_name, label=f"{label} is empty")
    return found


def negatable(filter_) -> bool:
    """A filter choosing among ids or choices whose negation (``__n``) django-filter's ``exclude`` gives."""
    if filter_.method is not None or filter_.exclude or isinstance(filter_, django_filters.ModelChoiceFilter):
        return False
    if isinstance(filter_, django_filters.ChoiceFilter) and "choices" not in filter_.extra:
        return False
    if isinstance(filter_, TreeNodeFilter | IdInFilter):
        return True
    stock = (django_filters.Filter.filter, django_filters.ChoiceFilter.filter,
             django_filters.MultipleChoiceFilter.filter)
    return (isinstance(filter_, django_filters.MultipleChoiceFilter | django_filters.ChoiceFilter)
            and type(filter_).filter in stock)


def negation(name: str, filter_):
    """``<name>__n``: the objects ``filter_`` does not match (several values: none of them)."""
    if isinstance(filter_, django_filters.ChoiceFilter):  # one value; its negation takes several
        return django_filters.MultipleChoiceFilter(field_name=filter_.field_name, choices=filter_.extra["choices"],
                                                   exclude=True, label=f"{filter_._label or name} is not")
    negated = copy.deepcopy(filter_)
    negated.exclude = True
    negated.label = f"{filter_._label or name} is not"
    return negated


def tenant_filters(model, declared: dict) -> dict:
    """``tenant`` (by slug) and ``tenant_id`` on a model with a tenant, where the filterset has not declared them:
    the tenant and its subtree, as ``tenant_id`` everywhere."""
    try:
        field = model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return {}
    if not (field.is_relation and field.related_model is not None
            and field.related_model._meta.label == access.TENANT_MODEL):
        return {}
    tenants = field.related_model._default_manager.all()
    found = {}
    if "tenant" not in declared:
        found["tenant"] = TreeNodeFilter(relation="tenant", to_field_name="slug", queryset=tenants,
                                         label="Tenant (slug; with its subtree)")
    if "tenant_id" not in declared:
        found["tenant_id"] = TreeNodeFilter(relation="tenant", queryset=tenants, label="Tenant (with its subtree)")
    return found


class BaseFilterSet(django_filters.FilterSet):
    """Every filterset has ``id`` (several allowed) and ``q``, a free-text search over ``search_fields``;
    that of a primary model also ``deleting`` (true: being deleted, waiting for finalizers), and of a model
    with annotations ``annotation`` (``?annotation=example.com/owner=noc``: ``AnnotationFilter``).

    NetBox's filter names, generated here once for every filterset (``get_filters``):

    - a model with a tenant has ``tenant`` (slugs) and ``tenant_id``, each matching the tenant's subtree;
    - an exact text filter (``name``, ``slug``, ``dns_name``...) takes several values (either matches) and
      has NetBox's lookups: ``__n`` (is not), ``__ic``/``__nic`` (contains, or not), ``__isw``/``__nisw``
      (starts with), ``__iew``/``__niew`` (ends with), ``__ie``/``__nie`` (equals) - all ignoring case -
      and ``__empty`` (true or false);
    - a filter by ids (``id``, ``tenant_id``, ``device_id``...), by slugs of related objects, or by
      choices (``status``) has ``__n``: the objects matching none of the values.

    Filters that choose related objects (``?tenant_id=``, ``?device_id=``) offer only what the
    caller may see, in the browsable API's form as in validation, and an id the caller cannot see
    matches nothing.
    """

    id = IdInFilter(field_name="id", label="ID (several: comma-separated or repeated)")
    q = django_filters.CharFilter(method="search", label="Search")

    search_fields: tuple[str, ...] = ("name",)

    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": StrictBooleanFilter},
    }

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        if "deleting" not in filters and finalizers.applies_to(cls._meta.model):
            # true: objects being deleted (waiting for their finalizers); false: the others.
            filters["deleting"] = StrictBooleanFilter(field_name="deleting_since", lookup_expr="isnull", exclude=True,
                                                      label="Being deleted (waiting for finalizers)")
        if "annotation" not in filters and cls._meta.model is not None and has_annotations(cls._meta.model):
            filters["annotation"] = AnnotationFilter(field_name="annotations", label="Annotation")
        if cls._meta.model is not None:
            filters.update(tenant_filters(cls._meta.model, filters))
        return cls.with_netbox_lookups(filters)

    @classmethod
    def with_netbox_lookups(cls, filters: dict) -> dict:
        """``filters`` with NetBox's lookups of each text, id and choice filter (see the class), in order;
        a name the filterset declares itself is kept."""
        found = {}
        for name, filter_ in filters.items():
            if is_text_filter(filter_):
                found.update({key: value for key, value in text_filters(name, filter_).items()
                              if key == name or key not in filters})
            else:
                found[name] = filter_
                if negatable(filter_) and f"{name}__n" not in filters:
                    found[f"{name}__n"] = negation(name, filter_)
        return found

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rights = access.for_request(self.request)
        for filter_ in self.filters.values():
            if isinstance(filter_, django_filters.NumberFilter):
                # Numbers compared with integer columns: past 64 bits, SQLite overflows.
                filter_.extra.setdefault("max_value", MAX_ID)
                filter_.extra.setdefault("min_value", -MAX_ID)
            queryset = getattr(filter_, "queryset", None)
            if queryset is None or callable(queryset):
                continue
            if isinstance(filter_, django_filters.ModelMultipleChoiceFilter):
                filter_.field_class = IdModelMultipleChoiceField
            elif isinstance(filter_, django_filters.ModelChoiceFilter):
                filter_.field_class = IdModelChoiceField
            if queryset.model is get_user_model():
                filter_.queryset = rights.restrict_users(queryset)
                continue
            if not access.is_scoped(queryset.model):
                continue
            filter_.queryset = rights.restrict(queryset)
            if isinstance(filter_, django_filters.ModelMultipleChoiceFilter):
                filter_.field_class = VisibleModelMultipleChoiceField
            elif isinstance(filter_, django_filters.ModelChoiceFilter):
                filter_.field_class = VisibleModelChoiceField
            else:
                continue
            filter_.filter = _match_nothing_on_no_match(filter_.filter, filter_.exclude)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)

    def extra_param_names(self) -> set[str]:
        """Parameters read by ``filter_queryset`` rather than by a filter (``attr_<name>``).

        Asked only when a request has a parameter no filter reads, so it may cost a query.
        """
        return set()

    def param_names(self) -> set[str]:
        """The query parameters the filters read: a range filter reads ``<name>_min`` and ``<name>_max``."""
        names = set()
        for name, field in self.form.fields.items():
            widget = field.widget
            if isinstance(widget, widgets.SuffixedMultiWidget):
                names.update(widget.suffixed(name, suffix) for suffix in widget.suffixes)
            elif isinstance(widget, forms.MultiWidget):
                names.update(f"{name}{suffix}" for suffix in widget.widgets_names)
            else:
                names.add(name)
        return names


def form_errors(errors) -> dict:
    """A filter form's errors as DRF error detail.

    Django's own rendering: a message is %-formatted only with its params, so that user text in it
    (``'10%' is not a valid network``) is never read as a format string, as django-filter's would be.
    """
    return {
        name: [exceptions.ErrorDetail(message, code=error.code) for error in error_list.as_data() for message in error]
        for name, error_list in errors.items()
    }


def known_params(view, filterset) -> set[str]:
    """Every query parameter a list view reads: its filters, its other backends', its paginator's."""
    known = set(COMMON_PARAMS)
    if filterset is not None:
        known |= filterset.param_names()
    for backend in getattr(view, "filter_backends", ()):
        known |= {getattr(backend, attr) for attr in ("ordering_param", "search_param") if hasattr(backend, attr)}
    paginator = getattr(view, "paginator", None)
    for attr in ("limit_query_param", "offset_query_param", "page_query_param", "page_size_query_param",
                 "cursor_query_param"):
        if getattr(paginator, attr, None):
            known.add(getattr(paginator, attr))
    return known


def check_query_params(request, view, filterset) -> None:
    """400 naming each parameter that holds a NUL character, then each one nothing reads."""
    params = request.query_params
    errors = {
        name.replace("\x00", "\\u0000"): [NULL_CHARACTER_MESSAGE]
        for name, values in params.lists()
        if "\x00" in name or any("\x00" in value for value in values)
    }
    if errors:
        raise exceptions.ValidationError(errors)
    known = known_params(view, filterset)
    unknown = {name for name in params if name not in known}
    if unknown and filterset is not None:
        known |= filterset.extra_param_names()
        unknown -= known
    if unknown:
        listed = ", ".join(sorted(known))
        raise exceptions.ValidationError(
            {name: [f"Unknown query parameter. Known parameters: {listed}."] for name in sorted(unknown)}
        )


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, building a view's ``filterset_fields`` on ``BaseFilterSet`` (scoped choices),
    and strict: NUL characters, unknown parameters and invalid values are a 400 naming the parameter."""

    filterset_base = BaseFilterSet

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        check_query_params(request, view, filterset)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise exceptions.ValidationError(form_errors(filterset.errors))
        return filterset.qs


def sortable(queryset, name: str) -> bool:
    """Whether the database can order ``queryset`` by ``name`` giving each row once.

    An annotation, a column, or a chain of forward relations to one; not a property, a JSON key
    or a to-many relation (which would repeat rows).
    """
    if name in queryset.query.annotations:
        return True
    model, parts = queryset.model, name.split("__")
    for position, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.many_to_many or field.one_to_many or (field.is_relation and field.related_model is None):
            return False  # a to-many relation repeats rows; a generic relation has no column
        if field.is_relation:
            model = field.related_model
        elif position < len(parts) - 1:
            return False
    return True


class OrderingFilter(filters.OrderingFilter):
    """DRF's ``?ordering=name,-created`` over the fields a list shows that the database can sort on;
    any other term is a 400 naming ``ordering`` and listing the choices (DRF would ignore it)."""

    def get_default_valid_fields(self, queryset, view, context=None):
        fields_ = super().get_default_valid_fields(queryset, view, context or {})
        return [(name, label) for name, label in fields_ if sortable(queryset, name)]

    def remove_invalid_fields(self, queryset, fields_, view, request):
        valid = {item[0] for item in self.get_valid_fields(queryset, view, {"request": request})}
        terms = [term for term in fields_ if term]
        invalid = [term for term in terms if term.removeprefix("-") not in valid]
        if invalid:
            raise exceptions.ValidationError({self.ordering_param: [
                f"Cannot order by {', '.join(repr(term[:60]) for term in invalid)}. "
                f"Choose among: {', '.join(sorted(valid))} (with '-' for descending)."
            ]})
        return terms
