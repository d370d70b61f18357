"""The change log API: ``/api/core/object-changes/`` (read-only).

Each record says who changed what (``user``, ``token``; ``run_id`` and ``service_identifier`` for a
generator run), when, what groups it (``request_id``: one HTTP request or management command; ``run_id``:
one run), and the object's data before and after. A change is seen by whoever may see its object's
tenant (the tenant it had when it changed); a change of shared infrastructure by every user.

Filters: ``?object_type=dcim.device&object_id=7`` (one object's history), ``?user_id=``, ``?user=``
(user name), ``?request_id=``, ``?run_id=``, ``?service_identifier=``, ``?action=``, ``?source=``,
``?time_after=`` / ``?time_before=`` (ISO 8601), ``?tenant_id=``, ``?q=`` (the object's name). NetBox's
``?changed_object_type=`` and ``?changed_object_id=`` are accepted too.
"""

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog_site import changelog
from catalog_site.filtersets import BaseFilterSet, IdInFilter, TimeRangeFilter
from catalog_site.models import ObjectChange

from .serializers import BaseModelSerializer, detail_view_name
from .views import CatalogModelViewSet


def object_type_label(content_type: ContentType) -> str:
    return f"{content_type.app_label}.{content_type.model}"


def recorded_type_choices() -> list[tuple[str, str]]:
    labels = sorted(model._meta.label_lower for model in changelog.recorded_models())
    return [(label, label) for label in labels]


@extend_schema_field({"type": "object", "additionalProperties": {}, "nullable": True})
class ObjectDataField(serializers.JSONField):
    """An object's fields at one moment (foreign keys by id); null before a creation and after a deletion."""


@extend_schema_field({"type": "object", "additionalProperties": {"type": "array", "items": {},
                                                                  "minItems": 2, "maxItems": 2}})
class DiffField(serializers.Field):
    """``{field: [before, after]}`` for every field that changed."""

    def to_representation(self, value):
        return value


class ObjectChangeSerializer(BaseModelSerializer):
    """One change of one object: who, when, in which request or run, and its data before and after."""

    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True,
                                        help_text="The user who made the change (null for the system or a deleted "
                                                  "user: see user_name).")
    token = serializers.SerializerMethodField(help_text="The first characters of the API token used, if any.")
    object_type = serializers.SerializerMethodField(help_text="The object's type as app_label.model (dcim.device).")
    object_url = serializers.SerializerMethodField(help_text="The object in the API (it may have been deleted "
                                                             "since).")
    prechange_data = ObjectDataField(read_only=True)
    postchange_data = ObjectDataField(read_only=True)
    changes = DiffField(source="diff", read_only=True)

    class Meta:
        model = ObjectChange
        fields = ("id", "url", "display", "time", "action", "source", "user", "user_name", "token", "request_id",
                  "run_id", "service_identifier", "object_type", "object_id", "object_repr", "object_url", "tenant",
                  "changes", "prechange_data", "postchange_data")
        read_only_fields = fields
        brief_fields = ("id", "url", "display", "time", "action", "object_type", "object_id")

    def get_fields(self):
        fields = super().get_fields()
        if "url" in fields:
            fields["url"] = serializers.HyperlinkedIdentityField(view_name="core-api:objectchange-detail")
        if "tenant" in fields:
            fields["tenant"] = serializers.PrimaryKeyRelatedField(read_only=True, help_text=(
                "The id of the object's tenant when it changed (null: shared infrastructure)."))
        return fields

    def get_token(self, obj) -> str | None:
        return obj.token.prefix if obj.token_id and obj.token else None

    def get_object_type(self, obj) -> str:
        return object_type_label(ContentType.objects.get_for_id(obj.object_type_id))

    def get_object_url(self, obj) -> str | None:
        model = ContentType.objects.get_for_id(obj.object_type_id).model_class()
        if model is None:
            return None
        try:
            return reverse(detail_view_name(model), kwargs={"pk": obj.object_id}, request=self.context.get("request"))
        except NoReverseMatch:
            return None


@extend_schema_field(OpenApiTypes.STR)
class ObjectTypeFilter(django_filters.MultipleChoiceFilter):
    """``app_label.model`` of a recorded model; several allowed."""

    def __init__(self, **kwargs):
        super().__init__(choices=recorded_type_choices, method="filter_object_type", **kwargs)


class ObjectChangeFilterSet(BaseFilterSet):
    """Filters of the change log; see the module docstring."""

    object_type = ObjectTypeFilter(label="Object type (app_label.model; several allowed)")
    object_id = IdInFilter(field_name="object_id", label="Object id (several: comma-separated or repeated)")
    # NetBox's names of the same two filters, for its tooling (pynetbox's ``core.object_changes``).
    changed_object_type = ObjectTypeFilter(label="Object type (NetBox's name)")
    changed_object_id = IdInFilter(field_name="object_id", label="Object id (NetBox's name)")
    user_id = IdInFilter(field_name="user_id", label="User id (several: comma-separated or repeated)")
    user = django_filters.CharFilter(field_name="user_name", label="User name")
    request_id = django_filters.UUIDFilter(field_name="request_id", label="Request id")
    run_id = django_filters.NumberFilter(field_name="run_id", min_value=1, label="Generator run id")
    time = TimeRangeFilter(field_name="time", label="Time (time_after, time_before)")
    search_fields = ("object_repr",)

    class Meta:
        model = ObjectChange
        fields = {"action": ["exact"], "source": ["exact"], "service_identifier": ["exact"]}

    def filter_object_type(self, queryset, name, value):
        types = [ContentType.objects.get_by_natural_key(*label.split(".", 1)) for label in value]
        return queryset.filter(object_type__in=types)


class ObjectChangeViewSet(CatalogModelViewSet):
    """The change log, newest first (read-only); see the module docstring."""

    queryset = ObjectChange.objects.select_related("user", "token")
    serializer_class = ObjectChangeSerializer
    filterset_class = ObjectChangeFilterSet
    http_method_names = ["get", "head", "options"]
