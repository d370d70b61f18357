"""The generic parts of NetBox's API surface, on every endpoint: bulk PATCH/PUT/DELETE of the list route,
NetBox's text lookups and ``__n`` on filters, the ``tenant`` slug filter, ``/api/status/``'s NetBox keys,
the ``API-Version`` header, and the API root answering a caller without credentials with a 403.

Tenants (their own scope) and namespaces (a tenant field) stand for every endpoint: the behaviour lives
in the base viewset and filterset, which the generic tests of ``tests.api_mixins`` run on each endpoint.
"""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from catalog_site.models import ObjectStatus, Token
from dcim.models import Manufacturer
from ipam.models import Namespace
from tenancy.models import Membership, Tenant

pytestmark = pytest.mark.django_db

TENANTS = "/api/tenancy/tenants/"
NAMESPACES = "/api/ipam/namespaces/"
MANUFACTURERS = "/api/dcim/manufacturers/"
STATUSES = "/api/core/statuses/"
BACKUP = "example.com/backup"


def client_of(user, *, write_enabled: bool = True) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user, write_enabled=write_enabled)[1]}")
    return client


def member(tenant, role: str, name: str):
    user = get_user_model().objects.create_user(name)
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


@pytest.fixture
def world():
    """Alpha (with a sub-tenant) and Bravo, each with a namespace; an editor and a viewer of Alpha."""
    alpha = Tenant.objects.create(name="Alpha", slug="alpha")
    alpha_sub = Tenant.objects.create(name="Alpha Sub", slug="alpha-sub", parent=alpha)
    bravo = Tenant.objects.create(name="Bravo", slug="bravo")
    namespaces = {tenant.slug: Namespace.objects.create(name=f"{tenant.name} VRF", tenant=tenant)
                  for tenant in (alpha, alpha_sub, bravo)}
    shared = Namespace.objects.create(name="Shared VRF")
    return {
        "alpha": alpha, "alpha-sub": alpha_sub, "bravo": bravo, "namespaces": namespaces, "shared": shared,
        "editor": member(alpha, Membership.Role.EDITOR, "alpha-editor"),
        "viewer": member(alpha, Membership.Role.VIEWER, "alpha-viewer"),
    }


def names(response) -> set[str]:
    assert response.status_code == 200, response.data
    return {row["name"] for row in response.data["results"]}


# -- bulk PATCH and PUT ---------------------------------------------------------------------------------


class TestBulkUpdate:
    def test_every_object_is_changed_and_answered_in_order(self, api, world):
        alpha, bravo = world["alpha"], world["bravo"]
        response = api.patch(TENANTS, [{"id": bravo.pk, "description": "b"}, {"id": alpha.pk, "description": "a"}],
                             format="json")
        assert response.status_code == 200, response.data
        assert [(row["id"], row["description"]) for row in response.data] == [(bravo.pk, "b"), (alpha.pk, "a")]
        assert {tenant.description for tenant in Tenant.objects.filter(pk__in=[alpha.pk, bravo.pk])} == {"a", "b"}

    def test_an_invalid_item_writes_nothing_and_is_named_by_position(self, api, world):
        alpha, bravo = world["alpha"], world["bravo"]
        response = api.patch(TENANTS, [{"id": alpha.pk, "description": "changed"}, {"id": bravo.pk, "slug": "no slug!"},
                                       {"id": world["alpha-sub"].pk, "colour": "red"}], format="json")
        assert response.status_code == 400, response.data
        assert response.data[0] == {}
        assert list(response.data[1]) == ["slug"]
        assert "Unknown field" in str(response.data[2]["colour"])  # strict input, as a single write
        alpha.refresh_from_db()
        assert alpha.description == ""

    def test_items_clashing_with_each_other_write_nothing(self, api, world):
        alpha, bravo = world["alpha"], world["bravo"]
        response = api.patch(TENANTS, [{"id": alpha.pk, "name": "Same"}, {"id": bravo.pk, "name": "Same"}],
                             format="json")
        assert response.status_code == 400, response.data
        assert response.data[0] == {} and "name" in response.data[1]
        assert not Tenant.objects.filter(name="Same").exists()

    @pytest.mark.parametrize("body, position, field", [
        ({"id": 1}, None, "non_field_errors"),
        ([{"description": "no id"}], 0, "id"),
        ([{"id": "abc", "description": "x"}], 0, "id"),
        ([{"id": 2**70}], 0, "id"),
        ([5], 0, "non_field_errors"),
    ])
    def test_a_list_of_objects_with_ids_is_required(self, api, world, body, position, field):
        response = api.patch(TENANTS, body, format="json")
        assert response.status_code == 400, response.data
        errors = response.data if position is None else response.data[position]
        assert field in errors, response.data

    def test_an_object_named_twice_is_refused(self, api, world):
        alpha = world["alpha"]
        response = api.patch(TENANTS, [{"id": alpha.pk, "description": "a"}, {"id": alpha.pk, "description": "b"}],
                             format="json")
        assert response.status_code == 400
        assert response.data[0] == {} and "position 0" in str(response.data[1]["id"])

    def test_an_empty_list_changes_nothing(self, api, world):
        response = api.patch(TENANTS, [], format="json")
        assert (response.status_code, response.data) == (200, [])

    def test_query_parameters_other_than_brief_are_refused(self, api, world):
        alpha = world["alpha"]
        response = api.patch(f"{TENANTS}?name=Bravo", [{"id": alpha.pk, "description": "a"}], format="json")
        assert response.status_code == 400 and list(response.data) == ["name"]
        # As for a single write, ?brief=1 writes and answers the brief fields.
        brief = api.patch(f"{TENANTS}?brief=1", [{"id": alpha.pk, "name": "Alpha 1"}], format="json")
        assert brief.status_code == 200 and set(brief.data[0]) == {"id", "url", "display", "name", "slug", "depth"}

    def test_put_replaces_every_object(self, api, world):
        alpha, bravo = world["alpha"], world["bravo"]
        response = api.put(TENANTS, [{"id": alpha.pk, "name": "Alpha 2", "slug": "alpha-2"},
                                     {"id": bravo.pk, "name": "Bravo 2", "slug": "bravo-2", "description": "x"}],
                           format="json")
        assert response.status_code == 200, response.data
        assert set(Tenant.objects.filter(pk__in=[alpha.pk, bravo.pk]).values_list("slug", flat=True)) == {
            "alpha-2", "bravo-2"}
        missing = api.put(TENANTS, [{"id": alpha.pk, "description": "no name"}], format="json")
        assert missing.status_code == 400 and "name" in missing.data[0]

    def test_a_body_read_from_the_list_can_be_sent_back(self, api, world):
        rows = api.get(TENANTS, {"slug": ["alpha", "bravo"]}).data["results"]
        for row in rows:
            row["description"] = "read and sent back"
        response = api.put(TENANTS, rows, format="json")
        assert response.status_code == 200, response.data
        assert Tenant.objects.filter(description="read and sent back").count() == 2

    def test_more_objects_than_max_bulk_objects_is_a_413(self, api, world, settings):
        settings.MAX_BULK_OBJECTS = 2
        items = [{"id": world[slug].pk, "description": "x"} for slug in ("alpha", "alpha-sub", "bravo")]
        assert api.patch(TENANTS, items, format="json").status_code == 413
        assert api.delete(TENANTS, [{"id": item["id"]} for item in items], format="json").status_code == 413
        assert not Tenant.objects.filter(description="x").exists()


class TestBulkUpdateAccess:
    def test_another_tenants_object_is_not_found_at_its_position(self, world):
        namespaces = world["namespaces"]
        client = client_of(world["editor"])
        response = client.patch(NAMESPACES, [{"id": namespaces["alpha-sub"].pk, "description": "mine"},
                                             {"id": namespaces["bravo"].pk, "description": "theirs"}], format="json")
        assert response.status_code == 400, response.data
        assert response.data[0] == {} and "Not found" in str(response.data[1]["id"])
        assert "Bravo" not in str(response.data)
        assert not Namespace.objects.filter(description__in=["mine", "theirs"]).exists()

    def test_the_write_is_checked_after_the_change_too(self, world):
        namespace = world["namespaces"]["alpha"]
        client = client_of(world["editor"])
        response = client.patch(NAMESPACES, [{"id": namespace.pk, "tenant": world["bravo"].pk}], format="json")
        assert response.status_code == 400, response.data
        assert "tenant" in response.data[0]
        namespace.refresh_from_db()
        assert namespace.tenant == world["alpha"]

    def test_an_editor_changes_their_tenants_objects(self, world):
        namespaces = world["namespaces"]
        client = client_of(world["editor"])
        response = client.patch(NAMESPACES, [{"id": namespaces["alpha"].pk, "description": "a"},
                                             {"id": namespaces["alpha-sub"].pk, "tenant": world["alpha"].pk}],
                                format="json")
        assert response.status_code == 200, response.data
        assert Namespace.objects.get(pk=namespaces["alpha-sub"].pk).tenant == world["alpha"]

    def test_a_viewer_is_refused_and_nothing_is_written(self, world):
        namespaces = world["namespaces"]
        response = client_of(world["viewer"]).patch(NAMESPACES, [{"id": namespaces["alpha"].pk, "description": "v"}],
                                                    format="json")
        assert response.status_code == 403, response.data
        assert "position 0" in str(response.data["detail"])
        assert not Namespace.objects.filter(description="v").exists()

    def test_a_shared_object_needs_the_model_permission(self, world):
        maker = Manufacturer.objects.create(name="Acme", slug="acme")
        response = client_of(world["editor"]).patch(MANUFACTURERS, [{"id": maker.pk, "description": "x"}],
                                                    format="json")
        assert response.status_code == 403, response.data

    def test_a_read_only_token_is_refused(self, api, world, admin_user):
        client = client_of(admin_user, write_enabled=False)
        alpha = world["alpha"]
        assert client.patch(TENANTS, [{"id": alpha.pk, "description": "x"}], format="json").status_code == 403
        assert client.put(TENANTS, [{"id": alpha.pk, "name": "x", "slug": "x"}], format="json").status_code == 403
        assert client.delete(TENANTS, [{"id": world["bravo"].pk}], format="json").status_code == 403
        assert Tenant.objects.filter(pk=world["bravo"].pk, description="").exists()

    def test_anonymous_is_refused(self, anonymous_api, world):
        assert anonymous_api.patch(TENANTS, [{"id": world["alpha"].pk}], format="json").status_code == 401
        assert anonymous_api.delete(TENANTS, [{"id": world["alpha"].pk}], format="json").status_code == 401


# -- bulk DELETE ----------------------------------------------------------------------------------------


class TestBulkDelete:
    def test_every_object_is_deleted(self, api, world):
        ids = [world["namespaces"][slug].pk for slug in ("alpha", "bravo")]
        response = api.delete(NAMESPACES, [{"id": pk} for pk in ids], format="json")
        assert response.status_code == 204, response.data
        assert not Namespace.objects.filter(pk__in=ids).exists()

    def test_a_tree_goes_deepest_first(self, api, world):
        root, child = world["alpha"], world["alpha-sub"]
        Namespace.objects.filter(tenant__in=[root, child]).delete()
        Membership.objects.filter(tenant__in=[root, child]).delete()
        response = api.delete(TENANTS, [{"id": root.pk}, {"id": child.pk}], format="json")
        assert response.status_code == 204, response.data
        assert not Tenant.objects.filter(pk__in=[root.pk, child.pk]).exists()

    def test_an_object_others_depend_on_is_a_409_and_nothing_is_deleted(self, api, world):
        Namespace.objects.filter(tenant=world["alpha-sub"]).delete()
        response = api.delete(TENANTS, [{"id": world["alpha-sub"].pk}, {"id": world["bravo"].pk}], format="json")
        assert response.status_code == 409, response.data
        assert response.data["dependent_objects"] == ["Bravo VRF"]
        assert Tenant.objects.filter(pk__in=[world["alpha-sub"].pk, world["bravo"].pk]).count() == 2

    def test_a_hidden_or_missing_id_deletes_nothing(self, world):
        namespaces = world["namespaces"]
        client = client_of(world["editor"])
        response = client.delete(NAMESPACES, [{"id": namespaces["alpha"].pk}, {"id": namespaces["bravo"].pk},
                                              {"id": 2**62}], format="json")
        assert response.status_code == 400, response.data
        assert response.data[0] == {}
        assert "Not found" in str(response.data[1]["id"]) and "Not found" in str(response.data[2]["id"])
        assert Namespace.objects.filter(pk__in=[ns.pk for ns in namespaces.values()]).count() == 3

    def test_a_viewer_is_refused_and_nothing_is_deleted(self, world):
        namespace = world["namespaces"]["alpha"]
        response = client_of(world["viewer"]).delete(NAMESPACES, [{"id": namespace.pk}], format="json")
        assert response.status_code == 403
        assert Namespace.objects.filter(pk=namespace.pk).exists()

    def test_items_name_objects_by_id_alone(self, api, world):
        namespace = world["namespaces"]["alpha"]
        for body, field in [([{"id": namespace.pk, "name": "x"}], "name"), ([namespace.pk], "non_field_errors"),
                            ([{}], "id")]:
            response = api.delete(NAMESPACES, body, format="json")
            assert response.status_code == 400, (body, response.data)
            assert field in response.data[0], (body, response.data)
        assert api.delete(NAMESPACES).status_code == 400  # no body: not "everything"
        assert Namespace.objects.filter(pk=namespace.pk).exists()

    def test_objects_with_finalizers_are_marked_deleting_and_answered(self, api, world):
        kept, gone = world["namespaces"]["alpha"], world["namespaces"]["bravo"]
        Namespace.objects.filter(pk=kept.pk).update(finalizers=[BACKUP])
        response = api.delete(NAMESPACES, [{"id": gone.pk}, {"id": kept.pk}], format="json")
        assert response.status_code == 202, response.data
        assert [row["id"] for row in response.data] == [kept.pk]
        assert response.data[0]["deleting_since"] is not None
        assert not Namespace.objects.filter(pk=gone.pk).exists()
        kept.refresh_from_db()
        assert kept.deleting_since is not None
        again = api.delete(NAMESPACES, [{"id": kept.pk}], format="json")
        assert again.status_code == 202 and again.data[0]["deleting_since"] == response.data[0]["deleting_since"]


class TestBulkOnStatuses:
    """Statuses have no tenant of their own: each write is checked against the right to change the object."""

    def test_bulk_patch_and_delete(self, world):
        statuses = {slug: ObjectStatus.objects.create(object=world[slug], namespace="monitoring.example.com",
                                                      source="probe", data={"up": True})
                    for slug in ("alpha", "alpha-sub", "bravo")}
        editor = client_of(world["editor"])
        mine = [{"id": statuses[slug].pk, "data": {"up": False}} for slug in ("alpha", "alpha-sub")]
        hidden = editor.patch(STATUSES, [*mine, {"id": statuses["bravo"].pk, "data": {}}], format="json")
        assert hidden.status_code == 400 and "Not found" in str(hidden.data[2]["id"])
        assert client_of(world["viewer"]).patch(STATUSES, mine, format="json").status_code == 403
        assert ObjectStatus.objects.filter(data={"up": True}).count() == 3
        response = editor.patch(STATUSES, mine, format="json")
        assert response.status_code == 200, response.data
        assert [row["data"] for row in response.data] == [{"up": False}, {"up": False}]
        assert editor.delete(STATUSES, [{"id": item["id"]} for item in mine], format="json").status_code == 204
        assert list(ObjectStatus.objects.all()) == [statuses["bravo"]]


# -- filters --------------------------------------------------------------------------------------------


class TestTextLookups:
    @pytest.fixture
    def makers(self):
        for name, slug, description in [("Core Systems", "core-systems", "routers"), ("core labs", "core-labs", ""),
                                        ("Edge Works", "edge-works", "Edge and core")]:
            Manufacturer.objects.create(name=name, slug=slug, description=description)

    @pytest.mark.parametrize("params, expected", [
        ({"name": "Core Systems"}, {"Core Systems"}),
        ({"name": ["Core Systems", "Edge Works"]}, {"Core Systems", "Edge Works"}),
        ({"name__n": "Core Systems"}, {"core labs", "Edge Works"}),
        ({"name__n": ["Core Systems", "Edge Works"]}, {"core labs"}),
        ({"name__ic": "CORE"}, {"Core Systems", "core labs"}),
        ({"name__ic": ["labs", "works"]}, {"core labs", "Edge Works"}),
        ({"name__nic": "core"}, {"Edge Works"}),
        ({"name__isw": "core"}, {"Core Systems", "core labs"}),
        ({"name__nisw": "core"}, {"Edge Works"}),
        ({"name__iew": "WORKS"}, {"Edge Works"}),
        ({"name__niew": "works"}, {"Core Systems", "core labs"}),
        ({"name__ie": "core systems"}, {"Core Systems"}),
        ({"name__nie": "core systems"}, {"core labs", "Edge Works"}),
        ({"name__empty": "false"}, {"Core Systems", "core labs", "Edge Works"}),
        ({"name__empty": "true"}, set()),
        ({"slug__isw": "core-"}, {"Core Systems", "core labs"}),
        ({"slug__n": "core-labs", "name__ic": "core"}, {"Core Systems"}),
        ({"name__ic": "10%_"}, set()),
    ])
    def test_lookups(self, api, makers, params, expected):
        assert names(api.get(MANUFACTURERS, params)) == expected

    def test_a_lookup_on_a_tenant_scoped_list(self, api, world):
        assert names(api.get(NAMESPACES, {"name__isw": "alpha"})) == {"Alpha VRF", "Alpha Sub VRF"}
        assert names(api.get(NAMESPACES, {"name__nic": "alpha", "name__niew": "global"})) >= {"Bravo VRF",
                                                                                                 "Shared VRF"}

    def test_id_and_choice_filters_have_n(self, api, world):
        alpha, bravo = world["alpha"], world["bravo"]
        assert names(api.get(TENANTS, {"id__n": [alpha.pk, bravo.pk]})) == {"Alpha Sub"}
        roles = api.get("/api/tenancy/memberships/", {"role__n": "viewer"}).data["results"]
        assert {row["user"]["username"] for row in roles} == {"alpha-editor"}

    def test_an_unknown_lookup_is_a_400_naming_it(self, api, world):
        response = api.get(MANUFACTURERS, {"name__regex": "x", "name__ic": "x"})
        assert response.status_code == 400 and list(response.data) == ["name__regex"]
        assert "name__nisw" in str(response.data["name__regex"])
        assert list(api.get(MANUFACTURERS, {"name__empty": "maybe"}).data) == ["name__empty"]


class TestTenantFilter:
    def test_by_slug_with_the_subtree(self, api, world):
        assert names(api.get(NAMESPACES, {"tenant": "alpha"})) == {"Alpha VRF", "Alpha Sub VRF"}
        assert names(api.get(NAMESPACES, {"tenant": ["alpha-sub", "bravo"]})) == {"Alpha Sub VRF", "Bravo VRF"}
        assert names(api.get(NAMESPACES, {"tenant_id": world["alpha-sub"].pk})) == {"Alpha Sub VRF"}
        excluded = names(api.get(NAMESPACES, {"tenant__n": "alpha"}))
        assert {"Bravo VRF", "Shared VRF"} <= excluded and not excluded & {"Alpha VRF", "Alpha Sub VRF"}
        assert "Bravo VRF" not in names(api.get(NAMESPACES, {"tenant_id__n": world["bravo"].pk}))

    def test_a_hidden_tenants_slug_matches_nothing(self, world):
        client = client_of(world["viewer"])
        assert names(client.get(NAMESPACES, {"tenant": "bravo"})) == set()
        assert names(client.get(NAMESPACES, {"tenant_id": world["bravo"].pk})) == set()
        assert names(client.get(NAMESPACES, {"tenant": ["bravo", "alpha-sub"]})) == {"Alpha Sub VRF"}
        assert names(client.get(NAMESPACES, {"tenant__n": "bravo"})) == names(client.get(NAMESPACES))
        assert names(client.get(NAMESPACES, {"tenant": "nowhere"})) == set()

    def test_every_model_with_a_tenant_has_the_filters(self):
        from django.urls import get_resolver

        checked = 0
        for pattern in get_resolver().url_patterns:
            for cls in viewsets_under(pattern):
                filterset = getattr(cls, "filterset_class", None)
                model = getattr(getattr(cls, "queryset", None), "model", None)
                if filterset is None or model is None or not any(f.name == "tenant" for f in model._meta.fields):
                    continue
                assert {"tenant", "tenant_id", "tenant__n", "tenant_id__n"} <= set(filterset.base_filters), cls
                checked += 1
        assert checked >= 5


def viewsets_under(pattern):
    for child in getattr(pattern, "url_patterns", ()):
        yield from viewsets_under(child)
    cls = getattr(getattr(pattern, "callback", None), "cls", None)
    if cls is not None:
        yield cls


# -- status, root, version ------------------------------------------------------------------------------


class TestNetBoxStatus:
    def test_netbox_keys_and_ours(self, api):
        body = api.get("/api/status/").json()
        assert body["netbox-version"] == settings.NETBOX_VERSION
        assert body["catalog_version"] == settings.CATALOG_VERSION
        assert body["django-version"] == body["django_version"]
        assert body["python-version"] == body["python_version"]
        assert body["plugins"] == {}
        assert isinstance(body["rq-workers-running"], int) and body["rq-workers-running"] >= 0
        apps = body["installed-apps"]
        assert apps["rest_framework"] and apps["django_filters"] and apps["mptt"]
        assert all(isinstance(version, str) for version in apps.values())
        assert {"database", "broker", "workers", "runs"} <= set(body)

    def test_the_api_version_header_is_netboxs_major_minor(self, api, anonymous_api):
        assert ".".join(settings.NETBOX_VERSION.split(".")[:2]) == settings.API_VERSION
        for client in (api, anonymous_api):
            assert client.get("/api/")["API-Version"] == settings.API_VERSION

    def test_the_root_answers_a_caller_without_credentials_with_a_403(self, api, anonymous_api):
        response = anonymous_api.get("/api/")
        assert response.status_code == 403 and "detail" in response.json()
        assert response["API-Version"] == settings.API_VERSION
        bad = APIClient()
        bad.credentials(HTTP_AUTHORIZATION="Token nope")
        assert bad.get("/api/").status_code == 403
        assert api.get("/api/").status_code == 200
        assert anonymous_api.get(TENANTS).status_code == 401  # elsewhere, a 401 as before

    def test_the_schema_is_readable_without_credentials(self, anonymous_api):
        # pynetbox's openapi() (strict_filters) fetches it without the token.
        response = anonymous_api.get("/api/schema/", HTTP_ACCEPT="application/json")
        assert response.status_code == 200 and "/api/tenancy/tenants/" in response.json()["paths"]

    def test_the_browsable_api_offers_a_log_in(self, admin_user):
        browser = Client()
        page = browser.get("/api/", HTTP_ACCEPT="text/html")
        assert page.status_code == 403
        assert "/api-auth/login/" in page.content.decode()
        assert browser.get("/api-auth/login/").status_code == 200
        browser.force_login(admin_user)
        page = browser.get("/api/", HTTP_ACCEPT="text/html")
        assert page.status_code == 200 and "/api-auth/logout/" in page.content.decode()


# -- schema ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_the_schema_documents_the_bulk_writes(schema):
    item = schema["paths"][TENANTS]
    assert item["patch"]["operationId"] == "tenancy_tenants_bulk_partial_update"
    assert item["put"]["operationId"] == "tenancy_tenants_bulk_update"
    assert item["delete"]["operationId"] == "tenancy_tenants_bulk_destroy"
    body = item["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["type"] == "array" and body["maxItems"] == settings.MAX_BULK_OBJECTS
    patched = schema["components"]["schemas"][body["items"]["$ref"].rsplit("/", 1)[1]]
    assert patched["required"] == ["id"] and patched["additionalProperties"] is False
    assert set(patched["properties"]) == {"id"} | set(schema["components"]["schemas"]["PatchedTenantRequest"][
        "properties"])
    put = item["put"]["requestBody"]["content"]["application/json"]["schema"]["items"]["$ref"].rsplit("/", 1)[1]
    assert {"id", "name", "slug"} <= set(schema["components"]["schemas"][put]["required"])
    assert item["patch"]["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    destroy = item["delete"]
    assert destroy["requestBody"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "/BulkDestroyItemRequest")
    assert {"202", "204", "400", "403", "409", "413"} <= set(destroy["responses"])
    generator_runs = schema["paths"]["/api/services/generator-runs/"]
    assert set(generator_runs) & {"put", "patch", "delete"} == set()  # read-only: no bulk writes


def test_the_schema_lists_the_netbox_filters(schema):
    parameters = {p["name"]: p for p in schema["paths"][NAMESPACES]["get"]["parameters"]}
    assert {"name", "name__n", "name__ic", "name__nic", "name__isw", "name__nisw", "name__iew", "name__niew",
            "name__ie", "name__nie", "name__empty", "id__n", "tenant", "tenant__n", "tenant_id",
            "tenant_id__n"} <= set(parameters)
    assert parameters["name__ic"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert parameters["name__empty"]["schema"]["type"] == "boolean"


def test_the_schema_documents_the_status_keys(schema):
    status = schema["components"]["schemas"]["Status"]
    assert {"netbox-version", "django-version", "installed-apps", "python-version", "plugins",
            "rq-workers-running", "catalog_version", "database"} <= set(status["required"])
