"""A generic API test: each model's test class declares its data and inherits the checks.

A subclass sets:
- ``url_name``: the route name without ``-list``/``-detail`` (``"tenancy-api:tenant"``);
- ``model`` and ``brief_fields``;
- ``make_objects(self, count)``: create ``count`` distinct objects (with their related rows)
  and return them; it may be called twice in one test, so names come from ``next_number()``;
- ``create_data(self)``: three valid payloads for POST;
- ``invalid_data(self)``: one invalid payload and the field the error must name;
- ``update_data(self)``: a PATCH payload, checked back on the object (also sent by bulk PATCH of the list
  route, through ``bulk_update_item(self, obj)``, which a class may extend);
- ``filter_cases(self, objects)``: ``[(params, expected_ids), ...]``;
- ``list_queries``: the pinned number of SQL queries of a list request (a tenant member's request
  may add one: the query that reads their rights).
"""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from catalog_site.models import Token
from tenancy.models import Membership, Tenant

_numbers = itertools.count(1)


def next_number() -> int:
    """A number never returned before in this test run, for unique names."""
    return next(_numbers)


@pytest.mark.django_db
class APIViewTests:
    url_name: str
    model = None
    brief_fields: tuple[str, ...] = ()
    list_queries: int
    member_sees_every_row = True  # False where rows belong to users, not tenants (users, tokens)

    # -- to declare -------------------------------------------------------------------
    def make_objects(self, count):
        raise NotImplementedError

    def create_data(self):
        raise NotImplementedError

    def invalid_data(self):
        raise NotImplementedError

    def update_data(self):
        raise NotImplementedError

    def filter_cases(self, objects):
        return []

    # -- helpers -----------------------------------------------------------------------
    def listed_rows(self):
        """The rows the list endpoint answers (a view over a subset of a model, such as NetBox's sites over
        locations, narrows it)."""
        return self.model.objects.all()

    def list_url(self):
        return reverse(f"{self.url_name}-list")

    def detail_url(self, obj):
        return reverse(f"{self.url_name}-detail", kwargs={"pk": obj.pk})

    # -- the checks ----------------------------------------------------------------------
    def test_anonymous_is_refused(self, anonymous_api):
        obj = self.make_objects(1)[0]
        payload = self.create_data()[0]
        before = self.model.objects.count()
        assert anonymous_api.get(self.list_url()).status_code == 401
        assert anonymous_api.get(self.detail_url(obj)).status_code == 401
        assert anonymous_api.post(self.list_url(), payload, format="json").status_code == 401
        assert anonymous_api.delete(self.detail_url(obj)).status_code == 401
        assert self.model.objects.count() == before

    def test_list(self, api):
        objects = self.make_objects(3)
        response = api.get(self.list_url())
        assert response.status_code == 200, response.data
        assert set(response.data) == {"count", "next", "previous", "results"}
        assert response.data["count"] == self.listed_rows().count()
        ids = {row["id"] for row in response.data["results"]}
        assert {obj.pk for obj in objects} <= ids

    def test_pagination(self, api):
        self.make_objects(3)
        total = self.listed_rows().count()
        response = api.get(self.list_url(), {"limit": 1, "offset": 1})
        assert response.status_code == 200
        assert response.data["count"] == total
        assert len(response.data["results"]) == 1
        assert response.data["previous"] is not None
        assert (response.data["next"] is not None) == (total > 2)

    def test_get(self, api):
        obj = self.make_objects(1)[0]
        response = api.get(self.detail_url(obj))
        assert response.status_code == 200, response.data
        assert response.data["id"] == obj.pk
        assert response.data["display"] == str(obj)
        assert response.data["url"].endswith(self.detail_url(obj))

    def test_brief(self, api):
        self.make_objects(2)
        response = api.get(self.list_url(), {"brief": 1})
        assert response.status_code == 200
        for row in response.data["results"]:
            assert tuple(sorted(row)) == tuple(sorted(self.brief_fields))

    def test_create(self, api):
        payload = self.create_data()[0]
        before = self.model.objects.count()
        response = api.post(self.list_url(), payload, format="json")
        assert response.status_code == 201, response.data
        assert self.model.objects.count() == before + 1
        assert self.model.objects.filter(pk=response.data["id"]).exists()

    def test_bulk_create(self, api):
        payloads = self.create_data()
        before = self.model.objects.count()
        response = api.post(self.list_url(), payloads, format="json")
        assert response.status_code == 201, response.data
        assert len(response.data) == len(payloads)
        assert self.model.objects.count() == before + len(payloads)

    def test_bulk_create_is_all_or_none(self, api):
        bad, field = self.invalid_data()
        good = self.create_data()[0]
        before = self.model.objects.count()
        response = api.post(self.list_url(), [good, bad], format="json")
        assert response.status_code == 400, response.data
        assert field in response.data[1], response.data
        assert self.model.objects.count() == before

    def test_invalid_create_names_the_field(self, api):
        bad, field = self.invalid_data()
        before = self.model.objects.count()
        response = api.post(self.list_url(), bad, format="json")
        assert response.status_code == 400, response.data
        assert field in response.data, response.data
        assert self.model.objects.count() == before

    def test_malformed_json(self, api):
        response = api.generic("POST", self.list_url(), "{not json", content_type="application/json")
        assert response.status_code == 400
        assert "detail" in response.data

    def test_update(self, api):
        obj = self.make_objects(1)[0]
        payload = self.update_data()
        response = api.patch(self.detail_url(obj), payload, format="json")
        assert response.status_code == 200, response.data
        obj.refresh_from_db()
        for name, value in payload.items():
            stored = getattr(obj, f"{name}_id", None) if isinstance(value, int) and hasattr(obj, f"{name}_id") \
                else getattr(obj, name)
            assert str(stored) == str(value), (name, stored, value)

    def test_delete(self, api):
        obj = self.make_objects(1)[0]
        response = api.delete(self.detail_url(obj))
        assert response.status_code == 204
        assert not self.model.objects.filter(pk=obj.pk).exists()

    # -- NetBox's bulk writes on the list route ----------------------------------------------
    def bulk_update_item(self, obj) -> dict:
        """One item of a bulk PATCH changing ``obj`` as ``update_data()`` says (a class may add to it)."""
        return {"id": obj.pk, **self.update_data()}

    def bulk_refused(self, api, method: str) -> bool:
        """Whether the list route refuses ``method`` (a read-only endpoint): then the test only checks that."""
        if method.upper() in api.options(self.list_url()).get("Allow", ""):
            return False
        assert api.generic(method, self.list_url(), "[]", content_type="application/json").status_code == 405
        return True

    def test_bulk_update_is_all_or_none(self, api):
        obj = self.make_objects(1)[0]
        if self.bulk_refused(api, "PATCH"):
            return
        payload = self.update_data()
        before = {name: str(stored_value(obj, name, value)) for name, value in payload.items()}
        response = api.patch(self.list_url(), [self.bulk_update_item(obj), {"id": 2**62}], format="json")
        assert response.status_code == 400, response.data
        assert response.data[0] == {} and "id" in response.data[1], response.data
        obj.refresh_from_db()
        assert {name: str(stored_value(obj, name, value)) for name, value in payload.items()} == before
        response = api.patch(self.list_url(), [self.bulk_update_item(obj)], format="json")
        assert response.status_code == 200, response.data
        assert [row["id"] for row in response.data] == [obj.pk]
        obj.refresh_from_db()
        for name, value in payload.items():
            assert str(stored_value(obj, name, value)) == str(value), (name, value)

    def test_bulk_delete_is_all_or_none(self, api):
        objects = self.make_objects(2)
        if self.bulk_refused(api, "DELETE"):
            return
        items = [{"id": obj.pk} for obj in reversed(objects)]  # a later object may depend on an earlier one
        response = api.delete(self.list_url(), [*items, {"id": 2**62}], format="json")
        assert response.status_code == 400, response.data
        assert self.model.objects.filter(pk__in=[obj.pk for obj in objects]).count() == 2
        response = api.delete(self.list_url(), items, format="json")
        assert response.status_code == 204, response.data
        assert not self.model.objects.filter(pk__in=[obj.pk for obj in objects]).exists()

    def test_filters(self, api):
        objects = self.make_objects(3)
        cases = self.filter_cases(objects)
        for params, expected in cases:
            response = api.get(self.list_url(), params)
            assert response.status_code == 200, (params, response.data)
            assert {row["id"] for row in response.data["results"]} == set(expected), params

    def test_list_query_count_is_pinned_and_flat(self, api):
        self.make_objects(2)
        api.get(self.list_url())  # warm-up: token last-use bookkeeping, content types
        with CaptureQueriesContext(connection) as few:
            assert api.get(self.list_url()).status_code == 200
        self.make_objects(6)
        with CaptureQueriesContext(connection) as many:
            assert api.get(self.list_url()).status_code == 200
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
        assert len(few) == self.list_queries, [q["sql"] for q in few.captured_queries]

    def test_list_query_count_of_a_tenant_member(self, django_user_model):
        """A member's rights cost one query per request at most, and the list stays flat."""
        user = django_user_model.objects.create_user(f"member-{next_number()}")

        def make_visible(count):
            self.make_objects(count)
            for root in Tenant.objects.filter(parent=None).exclude(memberships__user=user):
                Membership.objects.create(user=user, tenant=root, role=Membership.Role.VIEWER)

        make_visible(2)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
        client.get(self.list_url())  # warm-up
        with CaptureQueriesContext(connection) as few:
            assert client.get(self.list_url()).status_code == 200
        make_visible(6)
        with CaptureQueriesContext(connection) as many:
            response = client.get(self.list_url())
            assert response.status_code == 200
        if self.member_sees_every_row:  # all rows are in the member's tenants, or shared
            assert response.data["count"] == self.listed_rows().count()
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
        rights = [q["sql"] for q in few.captured_queries if '"rank"' in q["sql"]]
        assert len(rights) <= 1, rights
        assert len(few) == self.list_queries + len(rights), [q["sql"] for q in few.captured_queries]


def stored_value(obj, name, value):
    """What ``obj`` stores for the field ``name`` that a write set to ``value`` (a related object by its id)."""
    if isinstance(value, int) and hasattr(obj, f"{name}_id"):
        return getattr(obj, f"{name}_id")
    return getattr(obj, name)


def choice_value(value):
    """The value of a choice field as the API reads it: ``{"value", "label"}`` (NetBox style) or plain."""
    return value["value"] if isinstance(value, dict) and "value" in value else value
