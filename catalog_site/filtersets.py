"""FilterSet base classes and tree-aware filters."""

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters import fields
from django_filters.rest_framework import DjangoFilterBackend

from catalog_site import access


class NoMatch(list):
    """A filter value naming only objects the caller cannot see (or that do not exist): matches nothing."""


class VisibleModelMultipleChoiceField(fields.ModelMultipleChoiceField):
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


class VisibleModelChoiceField(fields.ModelChoiceField):
    """The single-valued twin of ``VisibleModelMultipleChoiceField``."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as exc:
            if exc.code != "invalid_choice":
                raise
            return NoMatch()


def _match_nothing_on_no_match(original):
    def filter_(queryset, value):
        return queryset.none() if isinstance(value, NoMatch) else original(queryset, value)

    return filter_


class BaseFilterSet(django_filters.FilterSet):
    """Every filterset has ``id`` (several allowed) and ``q``, a free-text search over ``search_fields``.

    Filters that choose related objects (``?tenant_id=``, ``?device_id=``) offer only what the
    caller may see, in the browsable API's form as in validation, and an id the caller cannot see
    matches nothing.
    """

    id = django_filters.BaseInFilter(field_name="id")
    q = django_filters.CharFilter(method="search", label="Search")

    search_fields: tuple[str, ...] = ("name",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rights = access.for_request(self.request)
        for filter_ in self.filters.values():
            queryset = getattr(filter_, "queryset", None)
            if queryset is None or callable(queryset):
                continue
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
            filter_.filter = _match_nothing_on_no_match(filter_.filter)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)


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
        return qs.filter(tree_range_q(value, self.relation or "", include_self=self.relation is not None))


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, building a view's ``filterset_fields`` on ``BaseFilterSet`` (scoped choices)."""

    filterset_base = BaseFilterSet
