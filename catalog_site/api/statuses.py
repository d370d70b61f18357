"""The statuses API: ``/api/core/statuses/``.

A status names its object by ``object_type`` (``dcim.device``) and ``object_id``, and is filed under
a ``namespace`` and a ``source``: together, its key. POST is an upsert by that key: it creates the
status (201) or replaces the data of the existing one (200), one database statement either way, so
that reporters running at once never clash. PUT and PATCH change ``data`` (the key stays); DELETE
removes the status. A list POST files every status or none (201 if one of them is new, else 200).

Statuses follow their object (``catalog_site.statuses``): listed and read by whoever sees it,
written by whoever may change it. A hidden object and a missing one answer the same 400 on
``object_id``; a status of a hidden object is a 404.
"""

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.urls import NoReverseMatch
from drf_spectacular.plumbing import build_array_type
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.reverse import reverse

from catalog_site import access, statuses
from catalog_site.filtersets import BaseFilterSet, IdInFilter
from catalog_site.models import ObjectStatus

from .exceptions import validation_error_detail
from .schema import JSON, CatalogAutoSchema
from .serializers import BaseModelSerializer, detail_view_name
from .views import CatalogModelViewSet, check_bulk_size

OBJECT_TYPE_HELP = "The object's type as app_label.model (dcim.device): one of the primary models."
KEY_CHANGE = "The key of a status (object, namespace, source) does not change: POST a status under the new key and " \
             "DELETE this one."


def object_type_choices() -> list[str]:
    return [statuses.object_type_label(model) for model in statuses.primary_models()]


# -- serializers --------------------------------------------------------------------------------------

class ObjectTypeField(serializers.ChoiceField):
    """An object type written and read as ``app_label.model`` (``dcim.device``); internally its content type."""

    default_error_messages = {"invalid_choice": "{input} is not a primary object type (app_label.model: dcim.device, "
                                                "ipam.prefix, services.service...)."}

    def __init__(self, **kwargs):
        super().__init__(choices=object_type_choices(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=type(data).__name__)
        label = super().to_internal_value(data)
        return statuses.content_type_of(statuses.primary_model_for(label))

    def get_attribute(self, instance):
        return ContentType.objects.get_for_id(instance.object_type_id)  # cached: no query per row

    def to_representation(self, value):
        return f"{value.app_label}.{value.model}"


@extend_schema_field({"type": "object", "additionalProperties": {}})
class StatusDataField(serializers.JSONField):
    """A status's data: a JSON object (the model refuses anything else, and more than 64 KiB)."""


class StatusObjectSerializer(serializers.Serializer):
    """The object a status is about, in brief."""

    id = serializers.IntegerField()
    url = serializers.URLField(allow_null=True, help_text="The object in the API (null if it has no endpoint).")
    display = serializers.CharField()


class ObjectStatusListSerializer(serializers.ListSerializer):
    """A list of reports, filed in key order: two lists reporting the same keys take their rows in the same order."""

    def create(self, validated_data):
        filed = [None] * len(validated_data)
        for position in sorted(range(len(validated_data)), key=lambda i: statuses.key_of(validated_data[i])):
            filed[position] = self.child.create(validated_data[position])
        return filed


class ObjectStatusSerializer(BaseModelSerializer):
    """A status: its key (object, namespace, source), its data, and when it was first and last reported."""

    object_type = ObjectTypeField(help_text=OBJECT_TYPE_HELP)
    object_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The object's id.")
    object = serializers.SerializerMethodField(help_text="The object, in brief.")
    data = StatusDataField(help_text="The status: a JSON object (replaced as a whole by each report).")

    class Meta:
        model = ObjectStatus
        fields = ("id", "url", "display", "object_type", "object_id", "object", "namespace", "source", "data",
                  "created", "last_updated")
        brief_fields = ("id", "url", "display", "object_type", "object_id", "namespace", "source")
        list_serializer_class = ObjectStatusListSerializer
        validators = []  # the key may exist: POST upserts (``statuses.status_upsert``)

    @property
    def access(self) -> access.Access:
        return access.for_request(self.context.get("request"))

    def get_fields(self):
        fields = super().get_fields()
        fields["url"] = serializers.HyperlinkedIdentityField(view_name="core-api:objectstatus-detail")
        if self.instance is not None:
            # A body read by GET and sent back by PUT names the key again; a PUT may also leave it out.
            for name in statuses.KEY_FIELDS:
                if name in fields:
                    fields[name].required = False
        return fields

    @extend_schema_field(StatusObjectSerializer(allow_null=True))
    def get_object(self, obj: ObjectStatus):
        target = statuses.status_object(obj)
        if target is None:
            return None
        try:
            url = reverse(detail_view_name(type(target)), kwargs={"pk": target.pk}, request=self.context.get("request"))
        except NoReverseMatch:
            url = None
        return {"id": target.pk, "url": url, "display": str(target)}

    def validate(self, attrs):
        # Not BaseModelSerializer.validate: that one checks the key's uniqueness, and POST upserts.
        if self.instance is None:
            model = attrs["object_type"].model_class()
            target = statuses.find_object(model=model, object_id=attrs["object_id"], viewer=self.access)
            if target is None:
                raise serializers.ValidationError({"object_id": [statuses.NOT_FOUND]})
        else:
            stored = {"object_type": self.instance.object_type_id, "object_id": self.instance.object_id,
                      "namespace": self.instance.namespace, "source": self.instance.source}
            sent = {**attrs, "object_type": attrs["object_type"].pk} if "object_type" in attrs else attrs
            changed = {name: [KEY_CHANGE] for name in statuses.KEY_FIELDS
                       if name in sent and sent[name] != stored[name]}
            if changed:
                raise serializers.ValidationError(changed)
            target = statuses.status_object(self.instance)
        try:
            self.model_instance(attrs).full_clean(validate_constraints=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from exc
        return {**attrs, "object": target}

    def create(self, validated_data):
        filed, created = statuses.status_upsert(obj=validated_data["object"], namespace=validated_data["namespace"],
                                                source=validated_data["source"], data=validated_data["data"])
        filed.was_created = created
        return filed

    def update(self, instance, validated_data):
        if "data" not in validated_data:
            return instance
        try:
            return statuses.status_set_data(status=instance, data=validated_data["data"])
        except ObjectStatus.DoesNotExist as exc:
            raise NotFound("No such status: it was deleted meanwhile.") from exc


# -- filters ------------------------------------------------------------------------------------------

class ObjectStatusFilterSet(BaseFilterSet):
    """``?object_type=dcim.device`` (several allowed), ``?object_id=``, ``?namespace=``, ``?source=``,
    ``?q=`` (namespace or source contains)."""

    object_type = django_filters.MultipleChoiceFilter(choices=[(label, label) for label in object_type_choices()],
                                                      method="filter_object_type", label="Object type")
    object_id = IdInFilter(field_name="object_id", label="Object id (several: comma-separated or repeated)")
    search_fields = ("namespace", "source")

    class Meta:
        model = ObjectStatus
        fields = {"namespace": ["exact"], "source": ["exact"]}

    def filter_object_type(self, queryset, name, value: str):
        return queryset.filter(object_type__in=[statuses.content_type_of(statuses.primary_model_for(label))
                                                for label in value])


# -- views --------------------------------------------------------------------------------------------

class StatusSchema(CatalogAutoSchema):
    """A POST answers 200 (replaced) as it answers 201 (created): one status, or a list."""

    def document_lists(self, operation):
        super().document_lists(operation)
        replaced = operation["responses"].get("200", {}).get("content", {}).get(JSON)
        if replaced:
            replaced["schema"] = {"oneOf": [replaced["schema"], build_array_type(replaced["schema"])]}


class ObjectStatusViewSet(CatalogModelViewSet):
    """Statuses of objects: read by whoever sees the object, written by whoever may change it.

    POST files a report by its key (object_type, object_id, namespace, source): 201 when the status is
    new, 200 when it replaced the data of an existing one. PUT and PATCH change the data.
    """

    queryset = ObjectStatus.objects.all()
    serializer_class = ObjectStatusSerializer
    filterset_class = ObjectStatusFilterSet
    ordering_fields = ("id", "object_type", "object_id", "namespace", "source", "created", "last_updated")
    schema = StatusSchema()

    def get_queryset(self):
        queryset = statuses.visible_statuses(super().get_queryset(), self.access)
        return queryset if self.brief else statuses.with_objects(queryset)

    # Statuses have no tenant: each write is checked against the right to change the object.
    def check_writes(self, serializer, action: str) -> None:
        items = serializer.validated_data
        for attrs in items if isinstance(serializer, serializers.ListSerializer) else [items]:
            statuses.check_status_write(self.access, attrs["object"])

    def perform_destroy(self, instance):
        statuses.check_status_write(self.access, statuses.status_object(instance))
        statuses.status_delete(status=instance)
        return True

    @extend_schema(
        description="File a status by its key (object_type, object_id, namespace, source): created (201) or its "
                    "data replaced (200). A list files every status or none (201 if one is new).",
        responses={200: ObjectStatusSerializer, 201: ObjectStatusSerializer},
    )
    def create(self, request, *args, **kwargs):
        check_bulk_size(request.data)
        many = isinstance(request.data, list)
        serializer = self.get_serializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            self.perform_create(serializer)
        filed = serializer.instance if many else [serializer.instance]
        created = any(getattr(row, "was_created", False) for row in filed)
        return Response(serializer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
