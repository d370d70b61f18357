"""FilterSet base classes and tree-aware filters."""

import django_filters
from django.db.models import Q


class BaseFilterSet(django_filters.FilterSet):
    """Every filterset has ``id`` (several allowed) and ``q``, a free-text search over ``search_fields``."""

    id = django_filters.BaseInFilter(field_name="id")
    q = django_filters.CharFilter(method="search", label="Search")

    search_fields: tuple[str, ...] = ("name",)

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
