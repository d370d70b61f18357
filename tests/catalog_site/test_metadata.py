"""Annotations on every primary model: namespaced keys and size limits (API and admin refuse the same
things), and ``?annotation=`` on every list of a model that has them. Run on SQLite and PostgreSQL."""

import pytest
from django.core.exceptions import ValidationError
from drf_spectacular.generators import SchemaGenerator

from catalog_site import metadata
from catalog_site.filtersets import FilterBackend
from dcim.models import Device
from ipam.models import NumberPool
from tenancy.models import Tenant
from tests.dcim.factories import default_device_type, device_role, make_device, make_site

pytestmark = pytest.mark.django_db

DEVICES = "/api/dcim/devices/"


# -- validation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    "example.com/owner", "a/b", "example.com/A.b_c-D", "x-1.y2.example.org/n", "example.com/" + "n" * 63,
    ".".join(["a" * 63] * 3) + ".abc/x",
])
def test_valid_keys(key):
    assert metadata.annotation_key_error(key) is None
    Device(name="d", annotations={key: 1}).clean_fields(exclude=["location", "name", "role", "device_type",
                                                                 "status"])


@pytest.mark.parametrize("key, reason", [
    ("owner", "no prefix"),
    ("/owner", "empty"),
    ("Example.com/owner", "lowercase DNS name"),
    ("example..com/owner", "lowercase DNS name"),
    ("-example.com/owner", "lowercase DNS name"),
    ("example.com-/owner", "lowercase DNS name"),
    ("exa_mple.com/owner", "lowercase DNS name"),
    ("a" * 64 + ".com/owner", "lowercase DNS name"),
    (".".join(["a" * 63] * 4) + "/owner", "longer than 253"),
    ("example.com/", "the name"),
    ("example.com/-owner", "the name"),
    ("example.com/owner.", "the name"),
    ("example.com/own er", "the name"),
    ("example.com/a/b", "the name"),
    ("example.com/" + "n" * 64, "the name"),
    ("example.com/ownér", "the name"),
])
def test_invalid_keys_are_named_with_the_reason(key, reason):
    with pytest.raises(ValidationError) as caught:
        Device(name="d", annotations={"example.com/fine": 1, key: "x"}).clean_fields(
            exclude=["location", "name", "role", "status"])
    messages = caught.value.message_dict["annotations"]
    assert len(messages) == 1, messages
    assert repr(key[:80]) in messages[0] or repr(key[:80] + "…") in messages[0], messages
    assert reason in messages[0], messages


def test_sizes_and_shape_are_limited():
    def errors(value):
        return metadata.annotation_errors(value)

    assert errors({"example.com/big": "x" * 16000}) == []
    assert "per key" in errors({"example.com/big": "x" * 17000})[0]
    assert "example.com/big" in errors({"example.com/big": "x" * 17000})[0]
    many = {f"example.com/k{i}": "x" * 10000 for i in range(7)}
    assert "at most 65536" in errors(many)[0]
    assert "JSON object" in errors(["example.com/a"])[0]
    assert "JSON object" in errors("text")[0]
    assert "NUL" in errors({"example.com/a": {"b": ["x\x00"]}})[0]
    assert errors({f"k{i}": 1 for i in range(50)})[-1] == "(and more)"


def test_a_form_without_annotations_leaves_them_alone():
    """An inline row (no annotations field) never fails on stored annotations it cannot show."""
    device = Device(name="d", annotations={"owner": "legacy"})
    device.clean_fields(exclude=["location", "role", "device_type", "annotations"])


def test_the_api_refuses_a_bad_key_naming_it(api):
    site = make_site()
    payload = {"name": "sw-bad", "location": site.pk, "role": device_role().pk,
               "device_type": default_device_type().pk, "annotations": {"owner": "noc"}}
    response = api.post(DEVICES, payload, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == ["annotations"]
    assert "'owner' has no prefix" in response.json()["annotations"][0]
    assert not Device.objects.filter(name="sw-bad").exists()
    payload["annotations"] = {"example.com/owner": "noc", "example.com/rack": 5}
    response = api.post(DEVICES, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["annotations"] == {"example.com/owner": "noc", "example.com/rack": 5}


def test_the_api_refuses_bad_annotations_on_update(api):
    device = make_device(annotations={"example.com/owner": "noc"})
    for bad, words in (({"Owner/x": 1}, "'Owner/x'"), (["example.com/a"], "JSON object"),
                       ({"example.com/big": "x" * 20000}, "per key")):
        response = api.patch(f"{DEVICES}{device.pk}/", {"annotations": bad}, format="json")
        assert response.status_code == 400, response.json()
        assert words in response.json()["annotations"][0]
    device.refresh_from_db()
    assert device.annotations == {"example.com/owner": "noc"}
    # Every model: a tenant, a pool (a view built from filterset_fields), a service type's own annotations.
    response = api.post("/api/tenancy/tenants/", {"name": "T", "slug": "t", "annotations": {"t": 1}}, format="json")
    assert response.status_code == 400 and "annotations" in response.json()
    response = api.post("/api/ipam/number-pools/", {"name": "P", "start": 1, "end": 9, "annotations": {"p": 1}},
                        format="json")
    assert response.status_code == 400 and "annotations" in response.json()


def test_the_api_answers_a_huge_annotation_with_a_4xx(api):
    device = make_device()
    huge = {f"example.com/k{i}": "x" * 15000 for i in range(10)}
    response = api.patch(f"{DEVICES}{device.pk}/", {"annotations": huge}, format="json")
    assert response.status_code == 400
    assert "at most 65536" in response.json()["annotations"][0]


def device_form(device, **changes):
    data = {"name": device.name, "location": device.location_id, "role": device.role_id, "status": device.status,
            "device_type": device.device_type_id, "tenant": "", "description": "", "annotations": "{}",
            "finalizers": "[]", "serial": "",
            "interfaces-TOTAL_FORMS": "0", "interfaces-INITIAL_FORMS": "0"}
    data.update(changes)
    return data


def test_the_admin_form_shows_the_same_error(client, admin_user):
    device = make_device(annotations={"example.com/owner": "noc"})
    client.force_login(admin_user)
    url = f"/admin/dcim/device/{device.pk}/change/"
    response = client.post(url, device_form(device, annotations='{"owner": "ops"}'))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "'owner' has no prefix" in errors["annotations"][0], errors
    device.refresh_from_db()
    assert device.annotations == {"example.com/owner": "noc"}
    response = client.post(url, device_form(device, annotations='{"example.com/owner": "ops"}'))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    device.refresh_from_db()
    assert device.annotations == {"example.com/owner": "ops"}


# -- the filter ---------------------------------------------------------------------------------------

@pytest.fixture
def annotated():
    site = make_site()

    def device(annotations):
        return make_device(location=site, annotations=annotations)

    return {
        "noc": device({"example.com/owner": "noc", "example.com/rack": 5, "example.com/managed": True,
                       "example.com/a.b_c": "dots"}),
        "ops": device({"example.com/owner": "ops", "example.com/rack": "5", "example.com/managed": False}),
        "none": device({"example.com/owner": None, "example.com/rack": 5.5, "other.example.com/owner": "noc"}),
        "bare": device({}),
        "text": device({"example.com/owner": "true", "example.com/rack": "five", "example.com/nested": {"a": 1}}),
    }


@pytest.mark.parametrize("params, expected", [
    ({"annotation": "example.com/owner=noc"}, {"noc"}),
    ({"annotation": "example.com/owner"}, {"noc", "ops", "none", "text"}),
    ({"annotation": "other.example.com/owner"}, {"none"}),
    ({"annotation": "example.com/a.b_c=dots"}, {"noc"}),
    ({"annotation": "example.com/rack=5"}, {"noc", "ops"}),  # the number 5 and the text "5"
    ({"annotation": "example.com/rack=5.5"}, {"none"}),
    ({"annotation": "example.com/rack=five"}, {"text"}),
    ({"annotation": "example.com/managed=true"}, {"noc"}),
    ({"annotation": "example.com/managed=false"}, {"ops"}),
    ({"annotation": "example.com/owner=true"}, {"text"}),  # the text "true"
    ({"annotation": "example.com/owner=null"}, {"none"}),
    ({"annotation": "example.com/owner=NOC"}, set()),
    ({"annotation": "example.com/owner="}, set()),
    ({"annotation": "example.com/missing"}, set()),
    ({"annotation": ["example.com/owner=noc", "example.com/rack=5"]}, {"noc"}),
    ({"annotation": ["example.com/owner=ops", "example.com/managed=true"]}, set()),
    ({"annotation": ["example.com/owner", "example.com/managed"]}, {"noc", "ops"}),
    ({"annotation": ["example.com/rack=5", "example.com/rack=5"]}, {"noc", "ops"}),
    ({"annotation": ""}, {"noc", "ops", "none", "bare", "text"}),
])
def test_annotation_filter(api, annotated, params, expected):
    response = api.get(DEVICES, {**params, "limit": 0})
    assert response.status_code == 200, response.json()
    names = {device.pk: name for name, device in annotated.items()}
    assert {names[row["id"]] for row in response.json()["results"] if row["id"] in names} == expected


@pytest.mark.parametrize("value", ["owner", "owner=noc", "=noc", "Example.com/owner=noc", "example.com/=x",
                                   "example.com/owner/x=1", "10%", "%(x)s/%s=1", "x" * 3000])
def test_a_malformed_annotation_parameter_is_a_400_naming_it(api, annotated, value):
    response = api.get(DEVICES, {"annotation": value})
    assert response.status_code == 400
    assert list(response.json()) == ["annotation"]
    assert "Expected <key> or <key>=<value>" in response.json()["annotation"][0]
    both = api.get(DEVICES, {"annotation": ["example.com/owner", value]})
    assert both.status_code == 400 and list(both.json()) == ["annotation"]


def test_every_model_with_annotations_has_the_filter(api, annotated):
    tenant = Tenant.objects.create(name="T", slug="t", annotations={"example.com/tier": "gold"})
    Tenant.objects.create(name="U", slug="u")
    pool = NumberPool.objects.create(name="P", start=1, end=9, annotations={"example.com/tier": "gold"})
    for url, expected in (("/api/tenancy/tenants/", tenant.pk), ("/api/ipam/number-pools/", pool.pk)):
        response = api.get(url, {"annotation": "example.com/tier=gold"})
        assert response.status_code == 200, response.json()
        assert [row["id"] for row in response.json()["results"]] == [expected]
    # Every list view of a primary model offers it; a model without annotations does not.
    from tests.catalog_site.test_api_isolation import api_routes, route_model

    for _, _, cls, actions in api_routes():
        if not actions or actions.get("get") != "list":
            continue
        filterset = FilterBackend().get_filterset_class(cls(), cls.queryset)
        has_field = any(field.name == "annotations" for field in route_model(cls)._meta.get_fields())
        assert ("annotation" in (filterset.base_filters if filterset else {})) == has_field, cls


def test_the_schema_describes_the_filter():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {p["name"]: p for p in schema["paths"]["/api/dcim/devices/"]["get"]["parameters"]}
    annotation = parameters["annotation"]
    assert annotation["in"] == "query"
    assert annotation["schema"] == {"type": "array", "items": {"type": "string"}}
    assert "example.com/owner" in annotation["description"]
    assert annotation.get("explode", True) is True  # repeated, not comma-separated
    status_parameters = {p["name"] for p in schema["paths"]["/api/core/statuses/"]["get"]["parameters"]}
    assert "annotation" not in status_parameters
    assert {"object_type", "object_id", "namespace", "source"} <= status_parameters
