"""Statuses of objects (``/api/core/statuses/`` and the admin): upsert by key, data replaced, access that
follows the object, hostile input; and concurrent reports on PostgreSQL."""

import json
import threading
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from catalog_site import statuses
from catalog_site.models import ObjectStatus, Token
from dcim.models import Device
from tenancy.models import Membership, Tenant
from tests.dcim.factories import make_device, make_interface, make_site

pytestmark = pytest.mark.django_db

URL = "/api/core/statuses/"
NS = "monitoring.example.com"


def detail(status) -> str:
    return f"{URL}{status.pk if isinstance(status, ObjectStatus) else status}/"


def report(device, source="prometheus", data=None, namespace=NS, object_type="dcim.device") -> dict:
    return {"object_type": object_type, "object_id": device.pk, "namespace": namespace, "source": source,
            "data": {"up": True} if data is None else data}


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


def user_with(role=None, tenant=None, name=None, **flags):
    user = get_user_model().objects.create_user(name or f"{role or 'nobody'}-{tenant.slug if tenant else 'x'}",
                                                **flags)
    if role:
        Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


def file_status(obj, source="prometheus", namespace=NS, data=None) -> ObjectStatus:
    return statuses.status_upsert(obj=obj, namespace=namespace, source=source, data=data or {"up": True})[0]


# -- the upsert ---------------------------------------------------------------------------------------

def test_post_creates_then_replaces(api):
    device = make_device()
    first = api.post(URL, report(device, data={"up": True, "latency_ms": 3}), format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["object_type"] == "dcim.device" and body["object_id"] == device.pk
    assert body["object"]["id"] == device.pk and body["object"]["display"] == device.name
    assert body["object"]["url"].endswith(f"/api/dcim/devices/{device.pk}/")
    assert body["url"].endswith(detail(body["id"]))
    assert body["display"] == f"{NS}/prometheus of dcim.device {device.pk}"
    assert (body["namespace"], body["source"], body["data"]) == (NS, "prometheus", {"up": True, "latency_ms": 3})
    time.sleep(0.002)
    second = api.post(URL, report(device, data={"up": False}), format="json")
    assert second.status_code == 200, second.json()
    assert second.json()["id"] == body["id"]
    assert second.json()["data"] == {"up": False}  # replaced, not merged
    assert second.json()["created"] == body["created"]
    assert second.json()["last_updated"] > body["last_updated"]
    assert ObjectStatus.objects.count() == 1
    assert ObjectStatus.objects.get().data == {"up": False}


def test_several_sources_in_one_namespace_and_several_namespaces(api):
    device = make_device()
    for source, namespace in (("prometheus", NS), ("blackbox", NS), ("prometheus", "backup.example.com")):
        assert api.post(URL, report(device, source, namespace=namespace), format="json").status_code == 201
    assert api.post(URL, report(device, "blackbox"), format="json").status_code == 200
    rows = api.get(URL, {"object_id": device.pk}).json()
    assert rows["count"] == 3
    assert [(row["namespace"], row["source"]) for row in rows["results"]] == [
        ("backup.example.com", "prometheus"), (NS, "blackbox"), (NS, "prometheus")]
    assert {(s.namespace, s.source) for s in device.statuses.all()} == {
        (NS, "prometheus"), (NS, "blackbox"), ("backup.example.com", "prometheus")}


def test_a_list_post_files_every_status_or_none(api):
    device, other = make_device(), make_device()
    response = api.post(URL, [report(device), report(other), report(device, "blackbox")], format="json")
    assert response.status_code == 201, response.json()
    assert [row["object_id"] for row in response.json()] == [device.pk, other.pk, device.pk]
    again = api.post(URL, [report(device, data={"up": False}), report(other, data={"up": False})], format="json")
    assert again.status_code == 200
    assert ObjectStatus.objects.filter(data={"up": False}).count() == 2
    # The same key twice in a list: the last report wins.
    twice = api.post(URL, [report(device, data={"n": 1}), report(device, data={"n": 2})], format="json")
    assert twice.status_code == 200
    assert ObjectStatus.objects.get(object_id=device.pk, source="prometheus").data == {"n": 2}
    bad = api.post(URL, [report(device, "new"), {**report(other), "namespace": "Bad NS"}], format="json")
    assert bad.status_code == 400
    assert "namespace" in bad.json()["1"]
    assert not ObjectStatus.objects.filter(source="new").exists()


def test_patch_and_put_change_the_data_only(api):
    device = make_device()
    status = file_status(device)
    read = api.get(detail(status)).json()
    time.sleep(0.002)
    response = api.patch(detail(status), {"data": {"up": False}}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {"up": False}
    assert response.json()["last_updated"] > read["last_updated"]
    read = api.get(detail(status)).json()
    response = api.put(detail(status), {**read, "data": {"up": "maybe"}}, format="json")
    assert response.status_code == 200, response.json()
    assert api.put(detail(status), {"data": {"up": 1}}, format="json").status_code == 200  # the key may be left out
    for field, value in (("namespace", "other.example.com"), ("source", "blackbox"), ("object_id", make_device().pk),
                         ("object_type", "tenancy.tenant")):
        response = api.patch(detail(status), {field: value}, format="json")
        assert response.status_code == 400, (field, response.json())
        assert "does not change" in response.json()[field][0]
    status.refresh_from_db()
    assert (status.namespace, status.source, status.object_id, status.data) == (NS, "prometheus", device.pk, {"up": 1})


def test_delete_and_deleting_the_object(api):
    device = make_device()
    status = file_status(device)
    assert api.delete(detail(status)).status_code == 204
    assert not ObjectStatus.objects.exists()
    file_status(device)
    file_status(device, "blackbox")
    kept = file_status(make_device())
    assert api.delete(f"/api/dcim/devices/{device.pk}/").status_code == 204
    assert list(ObjectStatus.objects.all()) == [kept]


def test_filters_and_ordering(api):
    device, other = make_device(), make_device()
    interface = make_interface(device)
    rows = [file_status(device), file_status(device, "blackbox"), file_status(other, namespace="backup.example.com"),
            file_status(interface)]

    def ids(params):
        response = api.get(URL, params)
        assert response.status_code == 200, (params, response.json())
        return [row["id"] for row in response.json()["results"]]

    assert set(ids({"object_type": "dcim.device"})) == {rows[0].pk, rows[1].pk, rows[2].pk}
    assert set(ids({"object_type": ["dcim.device", "dcim.interface"]})) == {row.pk for row in rows}
    assert set(ids({"object_type": "dcim.interface", "object_id": interface.pk})) == {rows[3].pk}
    assert set(ids({"object_type": "dcim.device", "object_id": f"{device.pk},{other.pk}"})) == {
        rows[0].pk, rows[1].pk, rows[2].pk}
    assert set(ids({"namespace": "backup.example.com"})) == {rows[2].pk}
    assert set(ids({"source": "blackbox"})) == {rows[1].pk}
    assert set(ids({"q": "black"})) == {rows[1].pk}
    assert ids({"ordering": "-id"}) == sorted(ids({}), reverse=True)
    assert ids({"ordering": "source,id"})[0] == rows[1].pk
    for params in ({"object_type": "auth.user"}, {"object_id": "x"}, {"ordering": "data"}, {"annotation": "a/b"}):
        response = api.get(URL, params)
        assert response.status_code == 400 and list(response.json()) == list(params), (params, response.json())
    brief = api.get(URL, {"brief": 1}).json()["results"][0]
    assert set(brief) == {"id", "url", "display", "object_type", "object_id", "namespace", "source"}
    interface_row = api.get(detail(rows[3])).json()
    assert interface_row["object"]["display"] == str(interface)


def test_only_primary_objects_carry_statuses(api, admin_user):
    device = make_device()
    membership = Membership.objects.create(user=admin_user, tenant=Tenant.objects.create(name="T", slug="t"))
    for object_type, object_id in (("tenancy.membership", membership.pk), ("auth.user", admin_user.pk),
                                   ("catalog_site.objectstatus", 1), ("nonsense", 1), ("dcim", 1), ("", 1),
                                   ({"a": 1}, 1), (["dcim.device"], 1), (None, 1)):
        response = api.post(URL, {**report(device), "object_type": object_type, "object_id": object_id},
                            format="json")
        assert response.status_code == 400, (object_type, response.json())
        assert list(response.json()) == ["object_type"], response.json()
    response = api.post(URL, {**report(device), "object_id": 10**9}, format="json")
    assert response.status_code == 400 and response.json() == {"object_id": [statuses.NOT_FOUND]}
    for tenant_object in (Tenant.objects.get(slug="t"), device.location):
        label = tenant_object._meta.label_lower
        response = api.post(URL, {**report(tenant_object), "object_type": label}, format="json")
        assert response.status_code == 201, (label, response.json())
    assert ObjectStatus.objects.count() == 2


@pytest.mark.parametrize("field, value, words", [
    ("namespace", "Monitoring.example.com", "lowercase DNS name"),
    ("namespace", "monitoring..example.com", "lowercase DNS name"),
    ("namespace", "", "blank"),
    ("namespace", "a" * 254, "253"),
    ("source", "Prometheus", "not a source name"),
    ("source", "prom etheus", "not a source name"),
    ("source", "-prometheus", "not a source name"),
    ("source", "p" * 64, "63"),
    ("data", "up", "JSON object"),
    ("data", ["up"], "JSON object"),
    ("data", None, "null"),
    ("data", {"blob": "x" * 70000}, "at most 65536"),
    ("object_id", 0, "greater than or equal to 1"),
    ("object_id", 10**30, "less than or equal to"),
    ("object_id", "abc", "valid integer"),
])
def test_bad_fields_are_a_400_naming_them(api, field, value, words):
    device = make_device()
    response = api.post(URL, {**report(device), field: value}, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field], response.json()
    assert words in " ".join(response.json()[field]), response.json()
    assert not ObjectStatus.objects.exists()


def test_hostile_bodies(api, token_key):
    device = make_device()
    status = file_status(device)
    for body in ({**report(device), "data": {"a": "x\x00y"}}, {**report(device), "source": "a\x00b"},
                 {**report(device), "data": {"k\x00": 1}}):
        response = api.post(URL, body, format="json")
        assert 400 <= response.status_code < 500, response.content[:300]
    surrogate = json.dumps(report(device))[:-1] + ', "namespace": "\\ud800"}'
    assert api.generic("POST", URL, surrogate, content_type="application/json").status_code == 400
    assert api.patch(detail(status), {"data": {"a": "\x00"}}, format="json").status_code == 400
    deep = {"a": {}}
    node = deep["a"]
    for _ in range(40):
        node["a"] = {}
        node = node["a"]
    assert api.post(URL, {**report(device), "data": deep}, format="json").status_code == 400
    huge = json.dumps({**report(device), "data": {"blob": "x" * (6 * 1024 * 1024)}})
    response = api.generic("POST", URL, huge, content_type="application/json")
    assert response.status_code == 413
    big_list = [report(device, f"s{i}") for i in range(settings.MAX_BULK_OBJECTS + 1)]
    assert api.post(URL, big_list, format="json").status_code == 413
    for params in ({"namespace": "a\x00"}, {"object_type": "dcim.device\x00"}):
        assert api.get(URL, params).status_code == 400
    assert api.get(f"{URL}abc/").status_code == 404
    assert api.get(f"{URL}{'9' * 25}/").status_code == 404
    status.refresh_from_db()
    assert status.data == {"up": True} and ObjectStatus.objects.count() == 1


# -- access -------------------------------------------------------------------------------------------

@pytest.fixture
def world():
    """Tenants A (with a child) and B, a device in each and a shared one, each with statuses."""
    site = make_site()
    tenant_a = Tenant.objects.create(name="A", slug="a")
    child_a = Tenant.objects.create(name="A1", slug="a1", parent=tenant_a)
    tenant_b = Tenant.objects.create(name="B", slug="b")
    devices = {
        "a": make_device(location=site, tenant=child_a, name="a-sw"),
        "b": make_device(location=site, tenant=tenant_b, name="b-sw-secret"),
        "shared": make_device(location=site, name="shared-sw"),
    }
    rows = {name: file_status(device, data={"note": f"{name}-note"}) for name, device in devices.items()}
    rows["b2"] = file_status(devices["b"], "blackbox", data={"note": "b-note"})
    rows["b-interface"] = file_status(make_interface(devices["b"]), data={"note": "b-note"})
    return {"devices": devices, "rows": rows, "a": tenant_a, "b": tenant_b}


def visible_ids(client):
    response = client.get(URL, {"limit": 0})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}, response.json()["count"], response.content.decode()


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_a_member_sees_the_statuses_of_what_they_see_only(world, role):
    client = client_for(user_with(role, world["a"]))
    rows = world["rows"]
    ids, count, body = visible_ids(client)
    assert ids == {rows["a"].pk, rows["shared"].pk} and count == 2
    assert "b-note" not in body and "secret" not in body
    for hidden in ("b", "b2", "b-interface"):
        response = client.get(detail(rows[hidden]))
        assert response.status_code == 404 and "b-note" not in response.content.decode()
    for params in ({"object_id": world["devices"]["b"].pk}, {"q": "blackbox"}, {"source": "blackbox"},
                   {"object_type": "dcim.interface"}):
        assert client.get(URL, params).json()["count"] == 0, params
    assert client.get(detail(rows["a"])).json()["data"] == {"note": "a-note"}


def test_nobody_without_membership_sees_shared_statuses_only(world):
    ids, count, _ = visible_ids(client_for(user_with()))
    assert ids == {world["rows"]["shared"].pk} and count == 1


def test_superuser_sees_all(world, api):
    assert visible_ids(api)[1] == ObjectStatus.objects.count() == 5


def test_a_viewer_reads_but_cannot_write(world):
    client = client_for(user_with("viewer", world["a"]))
    device, row = world["devices"]["a"], world["rows"]["a"]
    response = client.post(URL, report(device, data={"x": 1}), format="json")
    assert response.status_code == 403
    assert "editor role" in response.json()["detail"]
    assert client.post(URL, report(device, "new"), format="json").status_code == 403
    assert client.patch(detail(row), {"data": {"x": 1}}, format="json").status_code == 403
    assert client.put(detail(row), {"data": {"x": 1}}, format="json").status_code == 403
    assert client.delete(detail(row)).status_code == 403
    row.refresh_from_db()
    assert row.data == {"note": "a-note"} and ObjectStatus.objects.count() == 5


def test_an_editor_writes_in_reach_and_cannot_tell_a_hidden_object_from_a_missing_one(world):
    client = client_for(user_with("editor", world["a"]))
    devices, rows = world["devices"], world["rows"]
    assert client.post(URL, report(devices["a"], data={"x": 1}), format="json").status_code == 200
    assert client.post(URL, report(devices["a"], "new"), format="json").status_code == 201
    assert client.patch(detail(rows["a"]), {"data": {"x": 2}}, format="json").status_code == 200
    hidden = client.post(URL, report(devices["b"], data={"stolen": 1}), format="json")
    missing = client.post(URL, {**report(devices["b"]), "object_id": 10**12}, format="json")
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json() == {"object_id": [statuses.NOT_FOUND]}
    listed = client.post(URL, [report(devices["a"], "third"), report(devices["b"], "third")], format="json")
    assert listed.status_code == 400 and listed.json()["1"] == {"object_id": [statuses.NOT_FOUND]}
    for method in ("patch", "put", "delete"):
        response = getattr(client, method)(detail(rows["b"]), {"data": {"stolen": 1}}, format="json")
        assert response.status_code == 404, method
    # A shared object: its statuses are written with the model's change permission.
    assert client.post(URL, report(devices["shared"], "new"), format="json").status_code == 403
    assert client.delete(detail(rows["shared"])).status_code == 403
    assert client.delete(detail(rows["a"])).status_code == 204
    b_rows = ObjectStatus.objects.filter(object_id=devices["b"].pk)
    assert sorted(b_rows.values_list("source", flat=True)) == ["blackbox", "prometheus"]
    assert not ObjectStatus.objects.filter(data={"stolen": 1}).exists()
    assert not ObjectStatus.objects.filter(source="third").exists()


def test_shared_objects_need_the_change_permission(world):
    user = user_with("editor", world["a"])
    user.user_permissions.add(Permission.objects.get(codename="change_device"))
    client = client_for(user)
    assert client.post(URL, report(world["devices"]["shared"], "new"), format="json").status_code == 201
    assert client.delete(detail(world["rows"]["shared"])).status_code == 204


def test_a_read_only_token_cannot_report(world):
    user = user_with("editor", world["a"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user, write_enabled=False)[1]}")
    assert client.get(URL).status_code == 200
    assert client.post(URL, report(world["devices"]["a"]), format="json").status_code == 403


def test_list_queries_are_flat(world):
    client = client_for(user_with("viewer", world["a"]))
    client.get(URL)  # warm-up: content types, token bookkeeping
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    site = make_site()
    for _ in range(6):
        device = make_device(location=site, tenant=world["a"])
        file_status(device)
        file_status(make_interface(device))
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)
        assert response.status_code == 200 and response.json()["count"] == 14
    assert len(many) == len(few) + 1, [q["sql"] for q in many.captured_queries]  # + the interfaces' objects
    # rights, count, page, one query per object type on the page
    assert len(many) == 6, [q["sql"] for q in many.captured_queries]


# -- the admin ----------------------------------------------------------------------------------------

@pytest.fixture
def staff(world):
    editor = user_with("editor", world["a"], "a-editor", is_staff=True)
    return editor


def test_the_object_page_shows_its_statuses(world, client, staff):
    client.force_login(staff)
    device = world["devices"]["a"]
    file_status(device, "blackbox", data={"latency_ms": 12, "path": ["r1", "r2"]})
    page = client.get(reverse("admin:dcim_device_change", args=[device.pk])).content.decode()
    assert "Statuses" in page and NS in page and "blackbox" in page
    assert "&quot;latency_ms&quot;: 12" in page and "a-note" in page
    assert "b-note" not in page
    # Drawn only: the form posts and saves without it.
    data = {"name": device.name, "location": device.location_id, "role": device.role_id, "status": device.status,
            "device_type": device.device_type_id, "tenant": device.tenant_id, "description": "edited",
            "annotations": "{}", "finalizers": "[]", "serial": "", "interfaces-TOTAL_FORMS": "0",
            "interfaces-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:dcim_device_change", args=[device.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    empty = client.get(reverse("admin:dcim_device_change", args=[make_device(tenant=world["a"]).pk]))
    assert "No status reported." in empty.content.decode()
    tenant_page = client.get(reverse("admin:tenancy_tenant_change", args=[world["a"].pk]))
    assert tenant_page.status_code == 200 and "No status reported." in tenant_page.content.decode()


def test_pages_with_their_own_layout_show_statuses_too(client, admin_user):
    from ipam.models import Prefix
    from tests.services.factories import make_service

    client.force_login(admin_user)
    for obj in (make_service(), Prefix.objects.create(prefix="10.9.0.0/16")):
        file_status(obj, data={"note": f"{obj._meta.model_name}-note"})
        page = client.get(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert "object-statuses" in page.content.decode() and f"{obj._meta.model_name}-note" in page.content.decode()


def test_the_status_list_is_scoped(world, client, staff):
    client.force_login(staff)
    rows = world["rows"]
    page = client.get(reverse("admin:catalog_site_objectstatus_changelist"))
    assert page.status_code == 200
    assert {row.pk for row in page.context["cl"].result_list} == {rows["a"].pk, rows["shared"].pk}
    assert "b-sw-secret" not in page.content.decode()
    assert client.get(reverse("admin:catalog_site_objectstatus_changelist"), {"q": "blackbox"}
                      ).context["cl"].result_count == 0
    hidden = client.get(reverse("admin:catalog_site_objectstatus_change", args=[rows["b"].pk]), follow=True)
    missing = client.get(reverse("admin:catalog_site_objectstatus_change", args=[10**9]), follow=True)
    assert [hop[1] for hop in hidden.redirect_chain] == [hop[1] for hop in missing.redirect_chain] == [302]
    assert "b-note" not in hidden.content.decode()
    seen = client.get(reverse("admin:catalog_site_objectstatus_change", args=[rows["a"].pk]))
    assert seen.status_code == 200 and "a-note" in seen.content.decode() and 'name="_save"' not in seen.content.decode()
    assert client.get(reverse("admin:catalog_site_objectstatus_add")).status_code == 403
    # Deleting: whoever may change the object.
    assert client.post(reverse("admin:catalog_site_objectstatus_delete", args=[rows["shared"].pk]),
                       {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:catalog_site_objectstatus_delete", args=[rows["a"].pk]),
                       {"post": "yes"}).status_code == 302
    assert not ObjectStatus.objects.filter(pk=rows["a"].pk).exists()


def test_deleting_an_object_in_the_admin_takes_its_statuses(world, client, staff):
    client.force_login(staff)
    device = world["devices"]["a"]
    page = client.get(reverse("admin:dcim_device_delete", args=[device.pk])).content.decode()
    assert "object status" in page.lower()
    response = client.post(reverse("admin:dcim_device_delete", args=[device.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Device.objects.filter(pk=device.pk).exists()
    assert not ObjectStatus.objects.filter(pk=world["rows"]["a"].pk).exists()


# -- concurrency (PostgreSQL) -------------------------------------------------------------------------

WORKERS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reports_never_clash(token_key):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent upserts are tested on PostgreSQL")
    device = make_device()
    barrier = threading.Barrier(WORKERS)
    answers, errors = [], []

    def work(number):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_key}")
            barrier.wait()
            for round_ in range(5):
                for body in (report(device, data={"worker": number, "round": round_}),  # one key for all
                             report(device, f"worker-{number}", data={"round": round_}),  # a key each
                             [report(device, "listed", data={"worker": number}),
                              report(device, f"worker-{(number + 1) % WORKERS}", data={"round": -1})]):
                    answers.append(client.post(URL, body, format="json").status_code)
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert set(answers) <= {200, 201}, answers
    assert len(answers) == WORKERS * 15
    # Each of the 10 keys was created once: no two writers both report creating it (a list creating
    # two keys answers one 201).
    assert 1 <= answers.count(201) <= 2 + WORKERS, answers
    rows = ObjectStatus.objects.filter(object_id=device.pk)
    assert sorted(rows.values_list("source", flat=True)) == sorted(
        ["prometheus", "listed", *(f"worker-{n}" for n in range(WORKERS))])
    shared = rows.get(source="prometheus").data
    assert shared["worker"] in range(WORKERS) and shared["round"] in range(5)  # one whole report: the last one
