"""Hostile input, class by class, over every endpoint it can reach: a JSON 4xx naming the field, never a 500.

Each class of issue 15 is checked generically: list endpoints and create endpoints are found from the
URL configuration (a new endpoint is covered without being listed here), and each answer must be
JSON naming the field or parameter, with nothing written. Run on PostgreSQL too
(``DATABASE_URL=postgres://...``): it refuses NUL characters that SQLite stores, and overflows
differently.
"""

import json

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from catalog_site.api.parsers import MAX_DEPTH
from catalog_site.filtersets import FilterBackend, MultiValueCharFilter
from dcim.models import Device, Interface, Location, Manufacturer
from ipam import allocation, freespace
from ipam.api.pools import FreeSpaceView
from ipam.models import FreeSpace, IPAddress, IPAddressPool, IPAddressPoolResource, Namespace, Prefix
from services.models import Parameter, Service
from tenancy.models import Tenant

from .test_api_isolation import api_routes, make_world, probe_key, route_model

pytestmark = pytest.mark.django_db


def routes_with(action: str, method: str = "get"):
    """(route name, view class) of every viewset route whose ``method`` runs ``action``."""
    return [(name, cls) for name, _, cls, actions in api_routes() if actions and actions.get(method) == action]


LIST_ROUTES = routes_with("list")
CREATE_ROUTES = [(name, cls) for name, cls in routes_with("create", "post") if "post" in cls.http_method_names]
UPDATE_ROUTES = [(name, cls) for name, cls in routes_with("partial_update", "patch")
                 if "patch" in cls.http_method_names]
FREE_SPACE_ROUTES = [(name, cls) for name, route, cls, actions in api_routes()
                     if actions is None and route.endswith(("available-prefixes/", "available-ips/",
                                                            "available-vlans/"))]


def ids(routes):
    return [name for name, _ in routes]


@pytest.fixture
def admin_user(django_user_model):
    """The superuser behind ``api``, without a password: hashing one would cost most of each test here."""
    return django_user_model.objects.create_superuser("admin", "admin@example.com", None)


@pytest.fixture
def world(db):
    """One object of every model behind a route (a light world: the demo inventory costs seconds per test)."""
    country = Location.objects.create(name="France", slug="fr", kind="country")
    metro = Location.objects.create(name="Paris", slug="par", kind="metro", parent=country)
    Location.objects.create(name="Paris 1", slug="par1", kind="site", parent=metro)
    Manufacturer.objects.create(name="Arista", slug="arista")
    Parameter.objects.create(name="hostile-parameter", values=["a", "b"])
    return make_world("hostile", Tenant.objects.create(name="Hostile", slug="hostile"))


def filterset_of(cls):
    view = cls()
    return FilterBackend().get_filterset_class(view, cls.queryset)


def json_body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:300])
    return json.loads(response.content)


def count(cls) -> int:
    return route_model(cls).objects.count()


def assert_names(response, status: int, name: str) -> None:
    """The answer has ``status`` and a JSON body keyed by ``name`` (the field or parameter at fault)."""
    body = json_body(response)
    assert response.status_code == status, (response.status_code, body)
    assert name in body, body


def detail_of(name: str, pk) -> str:
    return reverse(name.replace("-list", "-detail"), kwargs={"pk": pk})


# -- 1. typed filters never pass unvalidated text to the database ---------------------------------

HOSTILE_VALUES = ["abc", "10%", "%(x)s %s %n", "²", "9" * 30, "9" * 5000, "-1", "1.5", "1e999", "NaN",
                  "' OR 1=1 --", "null", "1,abc", "true", "x" * 3000]


@pytest.mark.parametrize("name, cls", LIST_ROUTES, ids=ids(LIST_ROUTES))
def test_every_filter_answers_a_wrong_type_with_a_400_naming_it(api, world, name, cls):
    url = reverse(name)
    filterset = filterset_of(cls)
    # NetBox's lookups of a text filter (name__isw, name__nic...) are one filter class: __ic stands for them.
    params = [param for param, filter_ in (filterset.base_filters if filterset else {}).items()
              if not (isinstance(filter_, MultiValueCharFilter) and "__" in param and not param.endswith("__ic"))]
    if route_model(cls) is Service:
        params.append("attr_bandwidth")
    before = count(cls)
    for param in params:
        for value in HOSTILE_VALUES:
            response = api.get(url, {param: value})
            assert response.status_code in (200, 400), (param, value, response.status_code)
            body = json_body(response)
            if response.status_code == 400:
                assert list(body) == [param], (param, value, body)
    assert_names(api.get(url, {"id": "abc"}), 400, "id")
    assert_names(api.get(url, {"id": "1,abc"}), 400, "id")
    assert_names(api.get(url, {"id": "9" * 30}), 400, "id")
    assert api.get(url, {"id": str(world[Tenant].pk)}).status_code == 200
    assert_names(api.get(url, {"id": ["1", "abc"]}), 400, "id")
    assert count(cls) == before


DETAIL_ROUTES = [(name, cls) for name, route, cls, actions in api_routes()
                 if "pk>" in route and (actions is None or "get" in actions)]


@pytest.mark.parametrize("name, cls", DETAIL_ROUTES, ids=ids(DETAIL_ROUTES))
def test_an_id_in_the_path_that_is_no_id_is_a_json_404(token_key, world, name, cls):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token_key}")
    path = reverse(name, kwargs={"pk": 1})
    for pk in ("abc", "9" * 25, "-1", "0", "%00", "1%25"):
        response = client.get(path.replace("/1/", f"/{pk}/", 1))
        assert response.status_code in (404, 405), (pk, response.status_code)
        assert "detail" in json_body(response)


def test_filters_of_the_wrong_type_examples(api, world):
    other = Device.objects.create(name="other-sw", location=world[Location], role=world[Device].role,
                                  device_type=world[Device].device_type)
    both = {world[Device].pk, other.pk}
    for params in ({"id": ",".join(map(str, both))}, {"id": [str(pk) for pk in both]}):
        assert {row["id"] for row in api.get("/api/dcim/devices/", params).json()["results"]} == both
    assert_names(api.get("/api/dcim/interfaces/", {"enabled": "maybe"}), 400, "enabled")
    Interface.objects.create(device=world[Device], name="off0", enabled=False)
    counts = [api.get("/api/dcim/interfaces/", {"enabled": word}).json()["count"] for word in ("true", "no", "")]
    assert counts == [1, 1, 2]
    assert_names(api.get("/api/dcim/devices/", {"tenant_id": "9" * 30}), 400, "tenant_id")
    assert api.get("/api/ipam/vlans/", {"q": "²"}).status_code == 200
    rows = api.get("/api/services/services/", {"attr_bandwidth": "9" * 40}).json()
    assert rows["count"] == 0
    assert api.get("/api/services/services/", {"attr_bandwidth": "1000"}).json()["count"] == 1


HOSTILE_BODY_VALUES = [10**30, -(10**30), "9" * 30, "abc%s%(x)s", {"id": 10**30}, [10**30], {"a": "b"}, ["x"],
                       True, 1.5, "", None, "²"]


def writable_fields(cls):
    view = cls(request=None, format_kwarg=None, action="partial_update", kwargs={})
    serializer = view.get_serializer_class()(context={"request": None})
    return [field for field, f in serializer.fields.items() if not f.read_only]


@pytest.mark.parametrize("name, cls", UPDATE_ROUTES, ids=ids(UPDATE_ROUTES))
def test_every_writable_field_answers_a_wrong_value_with_a_4xx(api, world, name, cls):
    """What a typed filter is to a query, a typed field is to a body: no value of any type reaches the
    database unchecked, whether the field is alone in a POST or changed by a PATCH."""
    obj = world.get(probe_key(name, route_model(cls))) or route_model(cls).objects.first()
    urls = (("post", reverse(name.replace("-detail", "-list"))), ("patch", detail_of(name, obj.pk)))
    for field in writable_fields(cls):
        for value in HOSTILE_BODY_VALUES:
            for method, url in urls:
                response = getattr(api, method)(url, {field: value}, format="json")
                assert response.status_code < 500, (method, field, value, response.status_code)
                json_body(response)


# -- 2. NUL characters: in query parameters and in every JSON string, a 400 naming the field -------

@pytest.mark.parametrize("name, cls", LIST_ROUTES, ids=ids(LIST_ROUTES))
def test_nul_in_a_query_parameter_is_a_400_naming_it(api, world, name, cls):
    url = reverse(name)
    assert_names(api.get(url, {"q": "a\x00b"}), 400, "q")
    assert_names(api.get(url, {"id": "1\x00"}), 400, "id")
    assert_names(api.get(url, {"limit": "5\x00"}), 400, "limit")
    assert_names(api.get(url, {"ordering": "id\x00"}), 400, "ordering")
    if route_model(cls) is Service:
        assert_names(api.get(url, {"attr_bandwidth": "a\x00b"}), 400, "attr_bandwidth")


@pytest.mark.parametrize("name, cls", CREATE_ROUTES, ids=ids(CREATE_ROUTES))
def test_nul_in_a_json_body_is_a_400_naming_the_field(api, world, name, cls):
    url = reverse(name)
    before = count(cls)
    assert_names(api.post(url, {"description": "a\x00b"}, format="json"), 400, "description")
    assert_names(api.post(url, {"annotations": {"owner": ["x", "a\x00b"]}}, format="json"), 400, "annotations")
    assert_names(api.post(url, {"annotations": {"ke\x00y": 1}}, format="json"), 400, "annotations")
    surrogate = api.generic("POST", url, '{"name": "\\ud800"}', content_type="application/json")
    assert_names(surrogate, 400, "name")
    bulk = api.post(url, [{"description": "fine"}, {"description": "a\x00b"}], format="json")
    assert_names(bulk, 400, "1")
    assert "description" in bulk.json()["1"]
    assert count(cls) == before


@pytest.mark.parametrize("name, cls", UPDATE_ROUTES, ids=ids(UPDATE_ROUTES))
def test_nul_in_an_update_is_a_400_and_changes_nothing(api, world, name, cls):
    obj = world.get(probe_key(name, route_model(cls))) or route_model(cls).objects.first()
    if obj is None:
        pytest.skip(f"no {route_model(cls).__name__} to update")
    response = api.patch(detail_of(name, obj.pk), {"description": "a\x00b"}, format="json")
    assert_names(response, 400, "description")
    obj.refresh_from_db()
    assert "\x00" not in str(getattr(obj, "description", ""))


def test_nul_in_allocation_data_and_free_space_posts(api, world):
    pool = world[IPAddressPool]
    before = (IPAddress.objects.count(), pool.allocations.count())
    response = api.post(f"/api/ipam/ip-pools/{pool.pk}/allocate/",
                        {"identifier": "x", "data": {"description": "a\x00b"}}, format="json")
    assert_names(response, 400, "data")
    assert "data.description" in response.json()["data"][0]
    assert_names(api.post(f"/api/ipam/ip-pools/{pool.pk}/allocate/", {"identifier": "a\x00b"}, format="json"),
                 400, "identifier")
    prefix = world[Prefix]
    assert_names(api.post(f"/api/ipam/prefixes/{prefix.pk}/available-ips/", [{"dns_name": "a\x00"}],
                          format="json"), 400, "0")
    assert (IPAddress.objects.count(), pool.allocations.count()) == before


# -- 3. user text in a filter's error message is never a format string ------------------------------

@pytest.mark.parametrize("param", ["prefix", "within", "within_include", "contains"])
def test_a_percent_sign_in_a_network_filter_is_quoted_back(api, world, param):
    response = api.get("/api/ipam/prefixes/", {param: "10%"})
    assert_names(response, 400, param)
    assert "'10%'" in response.json()[param][0]
    response = api.get("/api/ipam/ip-addresses/", {"parent": "%(x)s%s"})
    assert_names(response, 400, "parent")
    assert "%(x)s%s" in response.json()["parent"][0]


# -- 4. deep nesting, NaN and Infinity: the parser refuses them --------------------------------------

def nested(levels: int, key: str = "annotations") -> str:
    return json.dumps(key).join(["{", ": "]) + '{"a": ' * (levels - 1) + "1" + "}" * levels


@pytest.mark.parametrize("name, cls", CREATE_ROUTES, ids=ids(CREATE_ROUTES))
def test_deep_or_non_finite_json_is_a_400(api, world, name, cls):
    url = reverse(name)
    before = count(cls)
    for body in ("[" * 100_000 + "]" * 100_000, "[" * 1000 + "]" * 1000):
        response = api.generic("POST", url, body, content_type="application/json")
        assert response.status_code == 400, response.content[:300]
        assert "nested" in json_body(response)["detail"]
    for levels in (1000, MAX_DEPTH + 5):
        response = api.generic("POST", url, nested(levels), content_type="application/json")
        assert response.status_code == 400, response.content[:300]
        body = json_body(response)
        assert "annotations" in body or "nested" in body.get("detail", ""), body
    assert_names(api.generic("POST", url, nested(MAX_DEPTH + 1), content_type="application/json"),
                 400, "annotations")
    for number in ("NaN", "Infinity", "-Infinity", "1e999"):
        response = api.generic("POST", url, f'{{"description": {number}}}', content_type="application/json")
        assert response.status_code == 400, (number, response.content[:300])
        assert "JSON parse error" in json_body(response)["detail"]
    assert count(cls) == before


def test_nesting_up_to_the_limit_is_accepted(api, world):
    annotations = {"example.com/deep": json.loads(nested(MAX_DEPTH - 2))["annotations"]}  # keys are namespaced
    response = api.post("/api/tenancy/tenants/", {"name": "Deep", "slug": "deep", "annotations": annotations},
                        format="json")
    assert response.status_code == 201, response.json()


# -- 5. bulk lists are capped --------------------------------------------------------------------------

@pytest.mark.parametrize("name, cls", CREATE_ROUTES + FREE_SPACE_ROUTES, ids=ids(CREATE_ROUTES + FREE_SPACE_ROUTES))
def test_a_list_longer_than_max_bulk_objects_is_a_413(api, world, settings, name, cls):
    settings.MAX_BULK_OBJECTS = 3
    free_space = issubclass(cls, FreeSpaceView)
    url = reverse(name, kwargs={"pk": world[route_model(cls)].pk} if free_space else {})
    created = cls.queryset.model if free_space else route_model(cls)
    before = created.objects.count()
    response = api.post(url, [{"name": f"n{i}"} for i in range(4)], format="json")
    assert response.status_code == 413, response.content[:300]
    assert "MAX_BULK_OBJECTS" in json_body(response)["detail"]
    assert created.objects.count() == before


def test_a_list_at_the_cap_is_created(api, world, settings):
    settings.MAX_BULK_OBJECTS = 3
    payload = [{"name": f"Bulk {i}", "slug": f"bulk-{i}"} for i in range(3)]
    assert api.post("/api/tenancy/tenants/", payload, format="json").status_code == 201
    assert settings.MAX_BULK_OBJECTS == 3 and Tenant.objects.filter(slug__startswith="bulk-").count() == 3


# -- 6. a body too large, unknown API URLs: JSON, never Django's HTML pages -------------------------

@pytest.mark.parametrize("name, cls", CREATE_ROUTES, ids=ids(CREATE_ROUTES))
def test_a_5_mb_body_is_a_json_413(token_key, world, name, cls):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token_key}")
    before = count(cls)
    body = json.dumps({"description": "x" * (5 * 1024 * 1024)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post(reverse(name), body, content_type="application/json")
    assert response.status_code == 413, response.content[:300]
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in json_body(response)["detail"]
    assert count(cls) == before


def test_errors_outside_drf_are_json_under_api_only(token_key):
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token_key}")
    for path in ("/api/nowhere/", "/api/dcim/nothing-here/", "/api/dcim/devices/1/nothing/"):
        response = client.get(path)
        assert response.status_code == 404
        assert json_body(response) == {"detail": "Not found."}
    assert client.get("/nowhere/")["Content-Type"].startswith("text/html")
    # Django's own refusals (a SuspiciousOperation) answer JSON under /api/ too.
    assert json_body(client.get("/api/dcim/devices/", HTTP_HOST="evil.example")) == {"detail": "Bad request."}
    too_many = "&".join(f"p{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.get(f"/api/dcim/devices/?{too_many}")
    assert (response.status_code, json_body(response)) == (400, {"detail": "Bad request."})


# -- 7. strict input: unknown query parameters and unknown or read-only fields are a 400 -------------

@pytest.mark.parametrize("name, cls", LIST_ROUTES, ids=ids(LIST_ROUTES))
def test_unknown_query_parameters_are_a_400_naming_them(api, world, name, cls):
    url = reverse(name)
    response = api.get(url, {"nonexistent": "1", "tenant__name": "x"})
    assert response.status_code == 400
    assert set(json_body(response)) == {"nonexistent", "tenant__name"}
    known = {"limit": "5", "offset": "0", "brief": "1", "format": "json", "ordering": "-id", "q": "x"}
    assert api.get(url, known).status_code == 200
    assert api.get(url, {"limit": "0"}).status_code == 200
    for param, value in (("limit", "abc"), ("limit", "-5"), ("offset", "-1"), ("offset", "9" * 30),
                         ("ordering", "nonexistent_field"), ("ordering", "id,?"), ("ordering", "display")):
        assert_names(api.get(url, {param: value}), 400, param)


def test_ordering_follows_the_listed_fields(api, world):
    names = [row["name"] for row in api.get("/api/dcim/devices/", {"ordering": "-name", "limit": 0}).json()["results"]]
    assert names == sorted(names, reverse=True)
    response = api.get("/api/ipam/prefix-pools/", {"ordering": "resources"})  # to-many: would repeat rows
    assert_names(response, 400, "ordering")


def test_detail_actions_keep_their_own_parameters(api, world):
    prefix = world[Prefix]
    response = api.get(f"/api/ipam/prefixes/{prefix.pk}/available-ips/", {"limit": 3})
    assert response.status_code == 200 and len(response.json()) == 3
    allocations = api.get(f"/api/ipam/ip-pools/{world[IPAddressPool].pk}/allocations/", {"limit": 5})
    assert allocations.status_code == 200
    assert api.get(f"/api/dcim/devices/{world[Device].pk}/", {"brief": 1}).status_code == 200


@pytest.mark.parametrize("name, cls", CREATE_ROUTES, ids=ids(CREATE_ROUTES))
def test_unknown_and_read_only_fields_in_a_create_are_a_400(api, world, name, cls):
    url = reverse(name)
    before = count(cls)
    response = api.post(url, {"nonexistent_field": 1, "id": 12345}, format="json")
    body = json_body(response)
    assert response.status_code == 400
    assert "Unknown field" in body["nonexistent_field"][0]
    assert body["id"] == ["This field is read-only."]
    for field in ("url", "display"):
        assert_names(api.post(url, {field: "x"}, format="json"), 400, field)
    assert count(cls) == before


@pytest.mark.parametrize("name, cls", UPDATE_ROUTES, ids=ids(UPDATE_ROUTES))
def test_a_body_read_by_get_can_be_sent_back_and_read_only_fields_cannot_change(api, world, name, cls):
    obj = world.get(probe_key(name, route_model(cls))) or route_model(cls).objects.first()
    if obj is None:
        pytest.skip(f"no {route_model(cls).__name__} to update")
    url = detail_of(name, obj.pk)
    read = api.get(url).json()
    response = api.patch(url, read, format="json")
    assert response.status_code == 200, response.json()
    for field, value in (("id", obj.pk + 1000), ("display", "something else"), ("created", "2000-01-01T00:00:00Z"),
                         ("bogus", 1)):
        if field != "bogus" and field not in read:
            continue
        assert_names(api.patch(url, {field: value}, format="json"), 400, field)
    again = api.get(url).json()
    assert (again["id"], again["display"]) == (read["id"], read["display"])


def test_action_bodies_are_strict(api, world):
    pool = world[IPAddressPool]
    response = api.post(f"/api/ipam/ip-pools/{pool.pk}/allocate/", {"identifier": "x", "prefix_lenght": 28},
                        format="json")
    assert_names(response, 400, "prefix_lenght")
    assert not pool.allocations.exists()
    service = world[Service]
    response = api.post(f"/api/services/services/{service.pk}/transition/",
                        {"to": "active", "version": service.version, "comment": "x"}, format="json")
    assert_names(response, 400, "comment")
    service.refresh_from_db()
    assert service.status == "draft"


def test_a_service_status_still_changes_only_by_transition(api, world):
    service = world[Service]
    url = f"/api/services/services/{service.pk}/"
    response = api.patch(url, {"status": "active", "version": service.version}, format="json")
    assert_names(response, 400, "status")
    assert "transition" in response.json()["status"][0]
    assert api.patch(url, {"status": service.status, "version": service.version}, format="json").status_code == 200


# -- 8. IPv6: the subnet-router anycast address is never handed out -----------------------------------

@pytest.fixture
def v6_prefix(world):
    return Prefix.objects.create(prefix="2001:db8:42::/64", namespace=Namespace.objects.get(name="Global"),
                                 status="container")


def test_an_ipv6_pool_skips_the_subnet_router_anycast_address(api, v6_prefix):
    pool = IPAddressPool.objects.create(name="v6 pool")
    IPAddressPoolResource.objects.create(pool=pool, prefix=v6_prefix, position=0)
    response = api.post(f"/api/ipam/ip-pools/{pool.pk}/allocate/", {"identifier": "first"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["address"] == "2001:db8:42::1/64"
    assert not IPAddress.objects.filter(address="2001:db8:42::/64").exists()


def test_a_stale_index_still_skips_the_anycast_address(v6_prefix):
    space = freespace.ensure_space(v6_prefix, FreeSpace.Kind.IP)
    freespace.give_back(space, int(v6_prefix.cidr.network), 128)  # ::0 free again, as in an index built before
    address = allocation.allocate_child_ip_address(parent=v6_prefix)
    assert str(address.address) == "2001:db8:42::1/64"


def test_available_ips_of_an_ipv6_prefix(api, v6_prefix):
    listed = api.get(f"/api/ipam/prefixes/{v6_prefix.pk}/available-ips/", {"limit": 2}).json()
    assert [row["address"] for row in listed] == ["2001:db8:42::1/64", "2001:db8:42::2/64"]
    created = api.post(f"/api/ipam/prefixes/{v6_prefix.pk}/available-ips/", {}, format="json")
    assert created.status_code == 201 and created.json()["address"] == "2001:db8:42::1/64"
    point_to_point = Prefix.objects.create(prefix="2001:db8:43::/127", namespace=v6_prefix.namespace)
    listed = api.get(f"/api/ipam/prefixes/{point_to_point.pk}/available-ips/").json()
    assert [row["address"] for row in listed] == ["2001:db8:43::/127", "2001:db8:43::1/127"]
