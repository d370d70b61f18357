"""How the OpenAPI schema (``/api/schema/``) describes the API; imported by the app's ready().

What drf-spectacular cannot guess, said once here for every endpoint (``CatalogAutoSchema``, the
``DEFAULT_SCHEMA_CLASS``):

- authentication: ``Authorization: Token <key>`` (``tokenAuth``) and ``Authorization: Bearer <jwt>``
  (``jwtAuth``);
- related objects (``RelatedObjectField``) are written as an id or ``{"id": N}`` and read as the
  related object's brief form, ``null`` where the caller may not see it;
- ``?brief=1`` on the reads of a model viewset, answered with the brief form (``Brief<Name>``);
- a create takes one object or a list, all or nothing (``accepts_lists`` on a plain view);
- the bulk writes of a list route (NetBox's PUT, PATCH and DELETE of a list of objects named by id):
  a list of the write's objects each with its ``id`` (``Bulk<Name>Request``), or of ``{"id": N}``;
- the error answers of every operation (400, 401, 403, 404, 409, 413, 415, 503), as JSON;
- finalizers: a DELETE of a primary model answers 202 with the object marked deleting, or 204; a
  PUT/PATCH 200, or 204 when it removed the last finalizer of an object being deleted;
- request bodies are JSON only; a write to a model names only its fields (strict input), and every
  field of a model in a response is always present.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import (
    ResolvedComponent,
    build_array_type,
    build_media_type_object,
    force_instance,
    is_list_serializer,
    is_serializer,
)
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.relations import ManyRelatedField
from rest_framework.serializers import ModelSerializer

from catalog_site import access, finalizers

from .serializers import BaseModelSerializer, StrictInputMixin
from .views import BULK_ACTIONS, CatalogModelViewSet

JSON = "application/json"
FINALIZER_RESPONSES = {
    "202": "The object has finalizers: it is now being deleted (deleting_since), and goes when its last "
           "finalizer is removed. Asking again answers the same.",
    "204 destroy": "Deleted.",
    "204 update": "The write removed the last finalizer of an object being deleted: the object is deleted.",
}


class TokenScheme(OpenApiAuthenticationExtension):
    """``Authorization: Token <key>``: an API token (``manage.py create_token``, ``/api/users/tokens/``)."""

    target_class = "catalog_site.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": ("Enter `Token <key>` (the word Token, a space, the key): an API token from "
                            "/api/users/tokens/ or `manage.py create_token`. A read-only token is refused "
                            "every write (403)."),
        }


class BearerJWTScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <jwt>``: a token of the configured identity provider."""

    target_class = "catalog_site.api.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT of the identity provider named by JWT_ISSUER (RS256 or ES256).",
        }


# -- related objects ------------------------------------------------------------------------------


def brief_serializer(serializer_class):
    """The serializer of ``serializer_class``'s brief form, named ``Brief<Name>`` in the schema.

    A subclass that only adds fields to the full form (``PrefixDetailSerializer``) has the brief
    form of the class it extends: one ``BriefPrefix`` component, whichever route nests it.
    """
    cls = serializer_class
    meta = getattr(cls, "Meta", None)
    for base in serializer_class.__mro__[1:]:
        base_meta = getattr(base, "Meta", None)
        if (isinstance(base, type) and issubclass(base, BaseModelSerializer) and base is not BaseModelSerializer
                and getattr(base_meta, "model", None) is getattr(meta, "model", None)
                and getattr(base_meta, "brief_fields", None) == getattr(meta, "brief_fields", None)):
            cls = base
    return cls(brief=True)


def may_read_as_null(field) -> bool:
    """Whether a related object can read as ``null`` although the field is required.

    It does when the caller may not see it: a tenant-scoped object that is not on the path by which
    the object itself is scoped (a service's tenant is visible whenever the service is; its location
    may belong to another tenant). In a to-many relation a hidden object is left out instead.
    """
    if isinstance(field.parent, ManyRelatedField):
        return False
    model = field.queryset.model if field.queryset is not None else field.serializer_class.Meta.model
    if not access.is_scoped(model):
        return False
    owner = getattr(getattr(field.parent, "Meta", None), "model", None)
    path = access.tenant_path(owner) if owner is not None else None
    return not (isinstance(path, str) and (path == field.source or path.startswith(f"{field.source}__")))


class RelatedObjectFieldExtension(OpenApiSerializerFieldExtension):
    """A related object: written as its id (or ``{"id": N}``), read as its brief form."""

    target_class = "catalog_site.api.serializers.RelatedObjectField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        if direction == "request":
            return {"oneOf": [
                {"type": "integer", "description": "The related object's id."},
                {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                # A subclass may accept more (a service type's slug): ``write_alternatives``.
                *getattr(field, "write_alternatives", ()),
            ]}
        schema = dict(auto_schema.resolve_serializer(brief_serializer(field.serializer_class), direction).ref)
        if may_read_as_null(field):
            schema.update(nullable=True, description="null when the caller may not see the related object.")
        return schema


class ChoiceObjectFieldExtension(OpenApiSerializerFieldExtension):
    """A NetBox-style choice: written as the value, read as ``{"value", "label"}``."""

    target_class = "catalog_site.api.serializers.ChoiceObjectField"

    def map_serializer_field(self, auto_schema, direction):
        value = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            return value
        value = {key: item for key, item in value.items() if key not in ("nullable", "description")}
        if "enum" in value:  # an empty choice reads as null, not as {"value": ""}
            value["enum"] = [item for item in value["enum"] if item not in ("", None)]
        schema = {"type": "object", "properties": {"value": value, "label": {"type": "string"}},
                  "required": ["value", "label"]}
        if self.target.allow_blank or self.target.allow_null:
            schema["nullable"] = True
        return schema


# -- errors ---------------------------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong, in `detail`. Some errors say more: a 409 on a stale `version` carries the "
                   "current one, a refused deletion its `dependent_objects`.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "description": "Invalid input. An object keyed by field (`non_field_errors` for the object as a whole, "
                   "`detail` for a body that cannot be read), each with its messages; a list POST answers a "
                   "list with one such object per item, in order.",
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {}},
    ],
}
ERRORS = {
    "400": ("ValidationError", VALIDATION_ERROR_SCHEMA,
            "Invalid input: a body that is not valid JSON, an invalid or unknown field, an invalid or unknown "
            "query parameter."),
    "401": ("Error", ERROR_SCHEMA, "No credentials, or credentials that are not valid."),
    "403": ("Error", ERROR_SCHEMA, "Not allowed: a read-only token writing, or a role on the object's tenant "
                                   "too small for the change."),
    "404": ("Error", ERROR_SCHEMA, "No such object, or one the caller may not see."),
    "409": ("Error", ERROR_SCHEMA, "The request conflicts with the current state: a stale version, an exhausted "
                                   "pool, a duplicate written concurrently, an object others depend on."),
    "413": ("Error", ERROR_SCHEMA, "The body is too large, or a list holds more objects than MAX_BULK_OBJECTS."),
    "415": ("Error", ERROR_SCHEMA, "The body is not JSON (send Content-Type: application/json)."),
    "503": ("Error", ERROR_SCHEMA, "The database is unavailable: nothing was written, retry after the seconds "
                                   "Retry-After says."),
}
RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# -- bulk writes ----------------------------------------------------------------------------------

BULK_ID_SCHEMA = {"type": "integer", "minimum": 1, "description": "The id of the object to write."}
BULK_RESPONSES = {
    "200": "Every object written, in the order of the request (an object whose last finalizer the write removed "
           "was deleted, and is left out).",
    "202": "Every object was deleted, except those with finalizers: these are now being deleted (listed).",
    "204": "Every object was deleted.",
}
COMPONENTS = "#/components/schemas/"
BULK_PREFIX = "Bulk"


def with_id(schema: dict) -> dict:
    """An object's request schema, naming the object to write by its ``id`` (required)."""
    return {**schema, "properties": {"id": BULK_ID_SCHEMA, **schema.get("properties", {})},
            "required": ["id", *(name for name in schema.get("required", ()) if name != "id")]}


def _references(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def add_bulk_components(result, generator, request, public):
    """Postprocessing hook, after the enums': ``Bulk<Name>`` for each ``<Name>`` a bulk write sends, that
    component with a required ``id``.

    Built from the finished component, so that its choices refer to the same enums: a copy made earlier
    would be a second component holding each choice set, and give the enums other names.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for reference in sorted(set(_references(result.get("paths", {})))):
        name = reference.removeprefix(COMPONENTS)
        base = name.removeprefix(BULK_PREFIX)
        if reference.startswith(COMPONENTS + BULK_PREFIX) and name not in schemas and base in schemas:
            schemas[name] = with_id(schemas[base])
    if schemas:
        result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result


# -- the AutoSchema -------------------------------------------------------------------------------


class CatalogAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with this API's conventions (see the module docstring)."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        if self.accepts_lists():
            self.document_lists(operation)
        if self.is_bulk():
            self.document_bulk(operation)
        responses = operation["responses"]
        for code in self.error_codes(operation):
            if code not in responses:
                name, schema, description = ERRORS[code]
                component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
                self.registry.register_on_missing(component)
                responses[code] = {"content": {JSON: build_media_type_object(component.ref)},
                                   "description": description}
                if code == "503":
                    responses[code]["headers"] = {"Retry-After": RETRY_AFTER}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_codes(self, operation) -> list[str]:
        codes = ["400"]
        security = operation.get("security", [])
        if security and {} not in security:
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if self.method in WRITE_METHODS:
            codes.append("409")
        if "requestBody" in operation:
            codes += ["413", "415"]
        return [*codes, "503"]

    # Request bodies are JSON: the form parsers serve the browsable API, not clients.
    def map_parsers(self):
        parsers = super().map_parsers()
        return [media_type for media_type in parsers if media_type == JSON or media_type.endswith("+json")] or parsers

    # A create takes one object or a list of them (all or nothing) and answers likewise.
    def accepts_lists(self) -> bool:
        if self.method != "POST":
            return False
        if isinstance(self.view, CatalogModelViewSet):
            return getattr(self.view, "action", None) == "create"
        return bool(getattr(self.view, "accepts_lists", False))

    def document_lists(self, operation) -> None:
        max_items = getattr(settings, "MAX_BULK_OBJECTS", 1000)
        body = operation.get("requestBody", {}).get("content", {}).get(JSON)
        if body:
            many = {"type": "array", "items": body["schema"], "maxItems": max_items}
            body["schema"] = {"oneOf": [body["schema"], many]}
        created = operation["responses"].get("201", {}).get("content", {}).get(JSON)
        if created:
            created["schema"] = {"oneOf": [created["schema"], build_array_type(created["schema"])]}

    # Bulk writes of a list route: a list of objects named by id, all or nothing.
    def is_bulk(self) -> bool:
        return isinstance(self.view, CatalogModelViewSet) and getattr(self.view, "action", None) in BULK_ACTIONS

    def get_operation_id(self):
        if not self.is_bulk():
            return super().get_operation_id()
        return "_".join([*(token.replace("-", "_") for token in self._tokenize_path()), self.view.action])

    def document_bulk(self, operation) -> None:
        """The request as a list of the detail write's bodies, each with its ``id`` (a DELETE: ``{"id": N}``);
        the answer as a list (a DELETE: 204, or 202 with the objects only marked deleting)."""
        max_items = getattr(settings, "MAX_BULK_OBJECTS", 1000)
        if self.view.action == "bulk_destroy":
            item = self.bulk_component("BulkDestroyItemRequest", {
                "type": "object", "properties": {"id": BULK_ID_SCHEMA}, "required": ["id"],
                "additionalProperties": False})
            operation["requestBody"] = {"content": {JSON: {"schema": {
                "type": "array", "items": item.ref, "maxItems": max_items}}}, "required": True}
            responses = {"204": {"description": BULK_RESPONSES["204"]}}
            if finalizers.applies_to(getattr(getattr(self.view, "queryset", None), "model", None)):
                read = self.resolve_serializer(force_instance(self.get_response_serializers()), "response")
                responses["202"] = {"content": {JSON: build_media_type_object(build_array_type(read.ref))},
                                    "description": BULK_RESPONSES["202"]}
            operation["responses"] = {**{code: answer for code, answer in operation["responses"].items()
                                         if code != "204"}, **responses}
            return
        body = operation.get("requestBody", {}).get("content", {}).get(JSON)
        if body:
            schema = body["schema"]
            if "$ref" in schema:  # the component is built once the enums have their names: add_bulk_components
                schema = {"$ref": f"{COMPONENTS}{BULK_PREFIX}{schema['$ref'].removeprefix(COMPONENTS)}"}
            else:
                schema = with_id(schema)
            body["schema"] = {"type": "array", "items": schema, "maxItems": max_items}
            operation["requestBody"]["required"] = True
        answered = operation["responses"].get("200", {}).get("content", {}).get(JSON)
        if answered:
            answered["schema"] = build_array_type(answered["schema"])
            operation["responses"]["200"]["description"] = BULK_RESPONSES["200"]

    def bulk_component(self, name: str, schema: dict) -> ResolvedComponent:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        return component

    # ?brief=1: the reads of a model viewset answer the brief form when asked.
    def brief_variant(self, serializer):
        """The brief serializer of a read that answers one when asked (``?brief=1``), else None."""
        if self.method != "GET" or not isinstance(self.view, CatalogModelViewSet):
            return None
        serializer = force_instance(serializer)
        if is_list_serializer(serializer):
            serializer = serializer.child
        if not isinstance(serializer, BaseModelSerializer) or serializer.brief:
            return None
        return brief_serializer(type(serializer))

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.brief_variant(self.get_response_serializers()) is not None:
            parameters.append(OpenApiParameter(
                "brief", bool, description="Answer only the brief form of each object (`id`, `url`, `display` "
                                           "and the fields that name it)."))
        return parameters

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        brief = self.brief_variant(serializer) if status_code == "200" else None
        if brief is None:
            return super()._get_response_for_code(serializer, status_code, media_types, direction)
        full_serializer = force_instance(serializer)
        if is_list_serializer(full_serializer):
            full_serializer = full_serializer.child
        full = self.resolve_serializer(full_serializer, direction)
        schema = {"anyOf": [full.ref, self.resolve_serializer(brief, direction).ref]}
        paginator = self._get_paginator()
        if self._is_list_view(serializer):
            schema = build_array_type(schema)
            if paginator is not None:
                component = ResolvedComponent(
                    name=self.get_paginated_name(full.name), type=ResolvedComponent.SCHEMA,
                    schema=paginator.get_paginated_response_schema(schema),
                    object=self.get_serializer_identity(full_serializer, direction),
                )
                self.registry.register_on_missing(component)
                schema = component.ref
        return {"content": {media_type: build_media_type_object(schema)
                            for media_type in media_types or self.map_renderers("media_type")},
                "description": ""}

    # Finalizers: a DELETE answers 202 with the object it marked deleting (it has finalizers), a write
    # removing the last finalizer of an object being deleted answers 204 (the object is gone).
    def get_response_serializers(self):
        serializer = super().get_response_serializers()
        model = getattr(getattr(self.view, "queryset", None), "model", None)
        if not (isinstance(self.view, CatalogModelViewSet) and finalizers.applies_to(model)
                and is_serializer(serializer)):
            return serializer
        action = getattr(self.view, "action", None)
        if action == "destroy":
            return {202: OpenApiResponse(serializer, description=FINALIZER_RESPONSES["202"]),
                    204: OpenApiResponse(description=FINALIZER_RESPONSES["204 destroy"])}
        if action in ("update", "partial_update"):
            return {200: serializer, 204: OpenApiResponse(description=FINALIZER_RESPONSES["204 update"])}
        return serializer

    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        return f"Brief{name}" if getattr(serializer, "brief", False) else name

    # A model serializer writes every one of its fields into each object it answers (DRF leaves a
    # field out only when the attribute is missing, as a key of a dict may be): all are required.
    # A write to a model is strict (``StrictInputMixin``): a field it does not have is a 400.
    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and isinstance(serializer, ModelSerializer) and schema.get("properties"):
            schema["required"] = sorted(schema["properties"])
            if getattr(serializer, "brief", False):
                schema["description"] = (f"A {serializer.Meta.model._meta.verbose_name} in brief: nested in other "
                                         "objects, and answered with ?brief=1.")
        if direction == "request" and isinstance(serializer, StrictInputMixin):
            schema["additionalProperties"] = False
        return schema
