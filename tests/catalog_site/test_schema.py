"""The OpenAPI schema: generated without a warning or an error, and saying what the API really does.

``scripts/fuzz.sh`` checks the schema against a live server with schemathesis; these tests pin the
shapes a client relies on (authentication, related objects read and written, the pool actions, the
error answers) and check a few real answers against their documented schema.
"""

import copy

import jsonschema
import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from ipam.models import Namespace, Prefix, PrefixPool
from services.catalog_loader import load_catalog
from services.models import ServiceType

pytestmark = pytest.mark.django_db

JSON = "application/json"
WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def component(schema, name):
    return schema["components"]["schemas"][name]


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def response_schema(operation, code):
    return operation["responses"][code]["content"][JSON]["schema"]


def as_json_schema(schema, node, depth=0):
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, ``nullable`` as a null branch."""
    assert depth < 20, "unexpectedly deep schema"
    if isinstance(node, list):
        return [as_json_schema(schema, item, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(schema, component(schema, node["$ref"].rsplit("/", 1)[1]), depth + 1)
    node = {key: as_json_schema(schema, value, depth) for key, value in node.items()
            if key not in {"readOnly", "writeOnly", "example", "discriminator"}}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def assert_matches(schema, operation, code, body):
    jsonschema.validate(body, as_json_schema(schema, response_schema(operation, code)))


# -- generation ---------------------------------------------------------------------------------


def test_generating_the_schema_warns_of_nothing(tmp_path):
    """``spectacular --validate --fail-on-warn`` fails on any warning or error, and on an invalid schema."""
    GENERATOR_STATS.reset()  # count this generation's warnings only
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


# -- authentication -----------------------------------------------------------------------------


def test_token_and_bearer_authentication_are_declared(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["type"] == "apiKey"
    assert schemes["tokenAuth"]["in"] == "header"
    assert schemes["tokenAuth"]["name"] == "Authorization"
    assert "Token <key>" in schemes["tokenAuth"]["description"]  # what to type in Swagger's Authorize
    assert schemes["jwtAuth"] == {**schemes["jwtAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for path, method, operation in operations(schema):
        if path.startswith("/api/status/"):
            continue  # the load balancers' endpoints may answer anonymous callers
        assert {"tokenAuth": []} in operation["security"], (method, path)
        assert {"jwtAuth": []} in operation["security"], (method, path)


# -- related objects ----------------------------------------------------------------------------


def test_a_related_object_is_written_by_id_and_read_as_its_brief_form(schema):
    written = component(schema, "ServiceRequest")["properties"]["tenant"]
    assert written["oneOf"][0]["type"] == "integer"
    assert written["oneOf"][1]["required"] == ["id"]
    read = component(schema, "Service")["properties"]["tenant"]
    assert read == ref("BriefTenant")  # a service's tenant is visible whenever the service is
    assert set(component(schema, "BriefTenant")["properties"]) == {"id", "url", "display", "name", "slug", "depth"}


def test_a_service_type_may_also_be_written_by_slug(schema):
    written = component(schema, "ServiceRequest")["properties"]["service_type"]
    assert {"type": "string", "description": "The service type's slug."} in written["oneOf"]


def test_a_nullable_related_object_is_nullable_in_both_directions(schema):
    read = component(schema, "Site")["properties"]["region"]
    assert read["allOf"] == [ref("BriefRegion")]
    assert read["nullable"] is True
    assert component(schema, "SiteRequest")["properties"]["region"]["nullable"] is True


def test_a_related_object_the_caller_may_not_see_reads_as_null(schema):
    """A location of another tenant reads as null, even though a service needs one."""
    assert "location" in component(schema, "ServiceRequest")["required"]
    read = component(schema, "Service")["properties"]["location"]
    assert read["allOf"] == [ref("BriefLocation")]
    assert read["nullable"] is True


def test_a_to_many_relation_is_written_as_ids_and_read_as_brief_objects(schema):
    written = component(schema, "InterfaceRequest")["properties"]["tagged_vlans"]
    assert written["type"] == "array"
    assert written["items"]["oneOf"][0]["type"] == "integer"
    read = component(schema, "Interface")["properties"]["tagged_vlans"]
    assert read == {"type": "array", "items": ref("BriefVLAN")}  # a hidden VLAN is left out, not null


def test_every_field_of_a_response_object_is_required(schema):
    service = component(schema, "Service")
    assert set(service["required"]) == set(service["properties"])


# -- ?brief=1 and lists -------------------------------------------------------------------------


def test_brief_is_documented_on_reads_with_both_shapes(schema):
    listing = schema["paths"]["/api/ipam/prefixes/"]["get"]
    assert "brief" in {parameter["name"] for parameter in listing["parameters"]}
    results = component(schema, "PaginatedPrefixList")["properties"]["results"]
    assert results["items"] == {"anyOf": [ref("Prefix"), ref("BriefPrefix")]}
    detail = schema["paths"]["/api/ipam/prefixes/{id}/"]["get"]
    assert response_schema(detail, "200") == {"anyOf": [ref("PrefixDetail"), ref("BriefPrefix")]}


def test_a_create_takes_one_object_or_a_list(schema):
    create = schema["paths"]["/api/tenancy/tenants/"]["post"]
    one, many = create["requestBody"]["content"][JSON]["schema"]["oneOf"]
    assert one == ref("TenantRequest")
    assert many["type"] == "array" and many["items"] == ref("TenantRequest") and many["maxItems"] >= 1
    assert response_schema(create, "201")["oneOf"][1] == {"type": "array", "items": ref("Tenant")}


def test_request_bodies_are_json_only(schema):
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            assert set(operation["requestBody"]["content"]) == {JSON}, (method, path)


# -- pools and free space -----------------------------------------------------------------------


def test_allocate_documents_its_request_and_both_answers(schema):
    allocate = schema["paths"]["/api/ipam/prefix-pools/{id}/allocate/"]["post"]
    request = component(schema, "PrefixPoolAllocateRequest")
    assert allocate["requestBody"]["content"][JSON]["schema"] == ref("PrefixPoolAllocateRequest")
    assert request["required"] == ["identifier"]
    assert request["properties"]["data"] == ref("PrefixDataRequest")
    assert response_schema(allocate, "201") == response_schema(allocate, "200") == ref("PrefixAllocation")
    assert "identifier" in component(schema, "PrefixAllocation")["required"]
    assert response_schema(allocate, "409") == ref("Error")
    number = schema["paths"]["/api/ipam/number-pools/{id}/allocate/"]["post"]
    assert set(component(schema, "NumberAllocation")["properties"]) == {"identifier", "value"}
    assert response_schema(number, "201") == ref("NumberAllocation")


def test_the_ledger_and_free_space_are_documented(schema):
    ledger = schema["paths"]["/api/ipam/prefix-pools/{id}/allocations/"]["get"]
    assert response_schema(ledger, "200") == ref("PaginatedPrefixLedgerRowList")
    assert component(schema, "PrefixLedgerRow")["properties"]["prefix"] == ref("BriefPrefix")
    free = schema["paths"]["/api/ipam/prefixes/{id}/available-prefixes/"]
    assert response_schema(free["get"], "200") == {"type": "array", "items": ref("AvailablePrefix")}
    one, many = free["post"]["requestBody"]["content"][JSON]["schema"]["oneOf"]
    assert one == ref("AvailablePrefixCreateRequest") and many["items"] == one
    assert "prefix_length" in component(schema, "AvailablePrefixCreateRequest")["required"]
    assert response_schema(free["post"], "201")["oneOf"][0] == ref("Prefix")
    assert "409" in free["post"]["responses"]


# -- errors -------------------------------------------------------------------------------------


def test_every_operation_documents_its_errors_as_json(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "503"}
        if not path.startswith("/api/status/"):
            expected |= {"401", "403"}
        if "{" in path:
            expected.add("404")
        if method in WRITE_METHODS:
            expected.add("409")
        if "requestBody" in operation:
            expected |= {"413", "415"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for code in expected:
            assert set(responses[code]["content"]) == {JSON}, (method, path, code)
    assert component(schema, "Error")["required"] == ["detail"]


def test_actions_document_their_status_codes(schema):
    reconcile = schema["paths"]["/api/services/services/{id}/reconcile/"]["post"]
    assert response_schema(reconcile, "202") == ref("GeneratorRun")
    transition = schema["paths"]["/api/services/services/{id}/transition/"]["post"]
    assert transition["requestBody"]["content"][JSON]["schema"] == ref("TransitionRequest")
    assert response_schema(transition, "200") == ref("Service")
    release = schema["paths"]["/api/ipam/ip-pools/{id}/release/"]["post"]
    assert "204" in release["responses"] and "404" in release["responses"]


# -- real answers against the schema ------------------------------------------------------------


@pytest.fixture
def pool():
    namespace = Namespace.objects.get_or_create(name="Global")[0]
    container = Prefix.objects.create(namespace=namespace, prefix="10.20.0.0/16", status="container")
    pool = PrefixPool.objects.create(name="customers", namespace=namespace, default_prefix_length=24)
    pool.pool_resources.create(prefix=container, position=0)
    return pool


def test_answers_match_their_documented_schema(schema, api, pool):
    paths = schema["paths"]
    allocate = api.post(f"/api/ipam/prefix-pools/{pool.pk}/allocate/", {"identifier": "svc-1"}, format="json")
    assert allocate.status_code == 201, allocate.content
    assert_matches(schema, paths["/api/ipam/prefix-pools/{id}/allocate/"]["post"], "201", allocate.json())
    again = api.post(f"/api/ipam/prefix-pools/{pool.pk}/allocate/", {"identifier": "svc-1"}, format="json")
    assert_matches(schema, paths["/api/ipam/prefix-pools/{id}/allocate/"]["post"], "200", again.json())

    ledger = api.get(f"/api/ipam/prefix-pools/{pool.pk}/allocations/")
    assert_matches(schema, paths["/api/ipam/prefix-pools/{id}/allocations/"]["get"], "200", ledger.json())
    detail = api.get(f"/api/ipam/prefix-pools/{pool.pk}/")
    assert_matches(schema, paths["/api/ipam/prefix-pools/{id}/"]["get"], "200", detail.json())
    for brief in ("", "?brief=1"):
        listing = api.get(f"/api/ipam/prefixes/{brief}")
        assert_matches(schema, paths["/api/ipam/prefixes/"]["get"], "200", listing.json())

    container = pool.pool_resources.get().prefix
    free = api.get(f"/api/ipam/prefixes/{container.pk}/available-prefixes/")
    assert_matches(schema, paths["/api/ipam/prefixes/{id}/available-prefixes/"]["get"], "200", free.json())
    created = api.post(f"/api/ipam/prefixes/{container.pk}/available-prefixes/",
                       [{"prefix_length": 28}, {"prefix_length": 28, "description": "b"}], format="json")
    assert created.status_code == 201, created.content
    assert_matches(schema, paths["/api/ipam/prefixes/{id}/available-prefixes/"]["post"], "201", created.json())

    invalid = api.post("/api/tenancy/tenants/", [{"name": ""}, {}], format="json")
    assert invalid.status_code == 400
    assert_matches(schema, paths["/api/tenancy/tenants/"]["post"], "400", invalid.json())
    missing = api.get("/api/ipam/prefixes/999999/")
    assert_matches(schema, paths["/api/ipam/prefixes/{id}/"]["get"], "404", missing.json())


def test_a_service_type_answer_matches_its_schema(schema, api):
    load_catalog()
    service_type = ServiceType.objects.order_by("slug").first()
    answer = api.get(f"/api/services/service-types/{service_type.pk}/")
    assert_matches(schema, schema["paths"]["/api/services/service-types/{id}/"]["get"], "200",
                   copy.deepcopy(answer.json()))
