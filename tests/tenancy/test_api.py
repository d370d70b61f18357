"""API tests of tenants and memberships."""

import pytest
from django.contrib.auth import get_user_model

from tenancy.models import Membership, Tenant
from tests.api_mixins import APIViewTests, next_number


def make_tenant(parent=None, name=None):
    n = next_number()
    name = name or f"Tenant {n}"
    return Tenant.objects.create(name=name, slug=f"tenant-{n}", parent=parent)


class TestTenantAPI(APIViewTests):
    url_name = "tenancy-api:tenant"
    model = Tenant
    brief_fields = ("id", "url", "display", "name", "slug", "depth")
    list_queries = 3  # token (with its user), count, page: nothing per row

    def make_objects(self, count):
        root = make_tenant()
        return [root] + [make_tenant(parent=root) for _ in range(count - 1)]

    def create_data(self):
        parent = make_tenant()
        return [
            {"name": "Acme", "slug": "acme"},
            {"name": "Acme Europe", "slug": "acme-europe", "parent": parent.pk},
            {"name": "Acme Asia", "slug": "acme-asia", "parent": {"id": parent.pk}},
        ]

    def invalid_data(self):
        return {"name": "No slug", "slug": "not a slug!"}, "slug"

    def update_data(self):
        return {"description": "renamed", "name": "Renamed tenant"}

    def filter_cases(self, objects):
        root, child, other_child = objects
        grandchild = make_tenant(parent=child)
        return [
            ({"name": child.name}, [child.pk]),
            ({"ancestor_id": root.pk}, [child.pk, other_child.pk, grandchild.pk]),
            ({"ancestor_id": child.pk}, [grandchild.pk]),
            ({"parent_id": root.pk}, [child.pk, other_child.pk]),
            ({"q": grandchild.slug}, [grandchild.pk]),
        ]


@pytest.mark.django_db
class TestTenantRules:
    def test_nested_parent_is_read_as_brief_object(self, api):
        root = make_tenant()
        child = make_tenant(parent=root)
        data = api.get(f"/api/tenancy/tenants/{child.pk}/").data
        assert data["parent"]["id"] == root.pk
        assert data["parent"]["display"] == root.name
        assert set(data["parent"]) == {"id", "url", "display", "name", "slug", "depth"}
        assert data["depth"] == 1

    def test_cannot_become_own_ancestor(self, api):
        root = make_tenant()
        child = make_tenant(parent=root)
        grandchild = make_tenant(parent=child)
        response = api.patch(f"/api/tenancy/tenants/{root.pk}/", {"parent": grandchild.pk}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data
        response = api.patch(f"/api/tenancy/tenants/{root.pk}/", {"parent": root.pk}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data
        root.refresh_from_db()
        assert root.parent is None

    def test_moving_under_a_descendant_is_refused_and_changes_nothing(self, api):
        root = make_tenant()
        middle = make_tenant(parent=root)
        child = make_tenant(parent=middle)
        grandchild = make_tenant(parent=child)
        columns = ("id", "parent_id", "tree_id", "lft", "rght", "level")
        before = list(Tenant.objects.order_by("id").values_list(*columns))
        for descendant in (child, grandchild):
            response = api.patch(f"/api/tenancy/tenants/{middle.pk}/", {"parent": descendant.pk}, format="json")
            assert response.status_code == 400, response.data
            assert set(response.data) == {"parent"}
            assert "descendant" in str(response.data["parent"])
        assert list(Tenant.objects.order_by("id").values_list(*columns)) == before

    def test_move_subtree(self, api):
        a, b = make_tenant(), make_tenant()
        child = make_tenant(parent=a)
        leaf = make_tenant(parent=child)
        response = api.patch(f"/api/tenancy/tenants/{child.pk}/", {"parent": b.pk}, format="json")
        assert response.status_code == 200, response.data
        ids = {row["id"] for row in api.get("/api/tenancy/tenants/", {"ancestor_id": b.pk}).data["results"]}
        assert ids == {child.pk, leaf.pk}
        assert not api.get("/api/tenancy/tenants/", {"ancestor_id": a.pk}).data["results"]

    def test_unknown_parent_is_a_400(self, api):
        response = api.post("/api/tenancy/tenants/", {"name": "x", "slug": "x", "parent": 999999}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data

    def test_wrong_type_for_parent(self, api):
        response = api.post("/api/tenancy/tenants/", {"name": "x", "slug": "x", "parent": [1]}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data

    def test_duplicate_slug_is_a_400(self, api):
        tenant = make_tenant()
        response = api.post("/api/tenancy/tenants/", {"name": "other", "slug": tenant.slug}, format="json")
        assert response.status_code == 400
        assert "slug" in response.data

    def test_deleting_a_parent_with_children_is_a_409(self, api):
        root = make_tenant()
        make_tenant(parent=root)
        response = api.delete(f"/api/tenancy/tenants/{root.pk}/")
        assert response.status_code == 409
        assert Tenant.objects.filter(pk=root.pk).exists()

    def test_invalid_filter_value_is_a_400(self, api):
        response = api.get("/api/tenancy/tenants/", {"ancestor_id": "abc"})
        assert response.status_code == 400
        assert "ancestor_id" in response.data


class TestMembershipAPI(APIViewTests):
    url_name = "tenancy-api:membership"
    model = Membership
    brief_fields = ("id", "url", "display", "role")
    list_queries = 3

    def make_user(self):
        return get_user_model().objects.create_user(f"user{next_number()}")

    def make_objects(self, count):
        tenant = make_tenant()
        return [Membership.objects.create(user=self.make_user(), tenant=tenant) for _ in range(count)]

    def create_data(self):
        tenant = make_tenant()
        return [{"user": self.make_user().pk, "tenant": tenant.pk, "role": role}
                for role in ("viewer", "editor", "admin")]

    def invalid_data(self):
        return {"user": self.make_user().pk, "tenant": make_tenant().pk, "role": "owner"}, "role"

    def update_data(self):
        return {"role": "admin"}

    def filter_cases(self, objects):
        root = objects[0].tenant
        child = make_tenant(parent=root)
        nested = Membership.objects.create(user=self.make_user(), tenant=child, role="editor")
        return [
            ({"tenant_id": root.pk}, [m.pk for m in objects] + [nested.pk]),
            ({"tenant_id": child.pk}, [nested.pk]),
            ({"role": "editor"}, [nested.pk]),
            ({"username": objects[0].user.username}, [objects[0].pk]),
        ]

    def test_duplicate_membership_is_a_400(self, api):
        membership = self.make_objects(1)[0]
        response = api.post(self.list_url(), {"user": membership.user_id, "tenant": membership.tenant_id},
                            format="json")
        assert response.status_code == 400, response.data


@pytest.mark.django_db
def test_a_member_is_told_that_a_top_level_tenant_needs_the_permission():
    """A membership reaches a tenant's subtree, never above it: a new tenant without a parent is refused
    with a reason that speaks of tenants (not of "shared infrastructure")."""
    from django.core.exceptions import PermissionDenied

    from catalog_site import access

    user = get_user_model().objects.create_user("tenant-admin")
    tenant = make_tenant()
    Membership.objects.create(user=user, tenant=tenant, role="admin")
    viewer = access.for_user(user)
    viewer.check_write(Tenant(name="Below", slug="below", parent=tenant), "add")  # inside the subtree: allowed
    with pytest.raises(PermissionDenied) as refused:
        viewer.check_write(Tenant(name="New", slug="new"), "add")
    assert str(refused.value) == "You may not add a top-level tenant: that needs the 'tenancy.add_tenant' permission."
