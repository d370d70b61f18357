"""Finalizers on every primary model, through the API and the admin (a device and a prefix stand for all).

Deleting an object that has finalizers marks it deleting (202 with the object) and hides nothing;
while it is deleting, only the removal of finalizers is accepted, and removing the last one deletes
it (204). Names under ``catalog/`` are the catalog's own. Access is unchanged: deleting needs the
delete right, removing a finalizer the change right, and another tenant's object is a 404.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from catalog_site import finalizers
from catalog_site.models import Token
from dcim.models import Device
from ipam.models import Prefix
from tenancy.models import Membership

from ..dcim.factories import default_device_type, device_role, make_device, make_site, make_tenant
from ..ipam.factories import make_prefix

pytestmark = pytest.mark.django_db

BACKUP, AUDIT = "example.com/backup", "audit.example.org/hold"


def device_url(obj):
    return reverse("dcim-api:device-detail", args=[obj.pk])


def prefix_url(obj):
    return reverse("ipam-api:prefix-detail", args=[obj.pk])


def client_of(user) -> APIClient:
    _, key = Token.issue(user=user, description="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def member(tenant, role) -> APIClient:
    user = get_user_model().objects.create_user(f"user-{tenant.slug}-{role}")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return client_of(user)


def held_device(*names, **fields):
    return make_device(finalizers=list(names or [BACKUP]), **fields)


class TestNames:
    @pytest.mark.parametrize("value, message", [
        (["backup"], "Not a finalizer name"),
        (["Example.com/backup"], "Not a finalizer name"),
        (["example.com/"], "Not a finalizer name"),
        (["example.com/-x"], "Not a finalizer name"),
        ([BACKUP, BACKUP], "is repeated"),
        ([7], "Not a finalizer name"),
    ])
    def test_malformed_names_are_a_400_on_the_field(self, api, value, message):
        device = make_device()
        response = api.patch(device_url(device), {"finalizers": value}, format="json")
        assert response.status_code == 400, response.data
        assert message in " ".join(map(str, response.data["finalizers"]))
        device.refresh_from_db()
        assert device.finalizers == []

    def test_not_a_list_is_a_400(self, api):
        response = api.patch(device_url(make_device()), {"finalizers": BACKUP}, format="json")
        assert response.status_code == 400
        assert "finalizers" in response.data

    def test_names_under_catalog_are_the_catalogs_own(self, api):
        device = make_device()
        response = api.patch(device_url(device), {"finalizers": ["catalog/decommission"]}, format="json")
        assert response.status_code == 400
        assert "users cannot add them" in response.data["finalizers"][0]
        Device.objects.filter(pk=device.pk).update(finalizers=["catalog/decommission"])
        response = api.patch(device_url(device), {"finalizers": []}, format="json")
        assert response.status_code == 400
        assert "users cannot remove it" in response.data["finalizers"][0]

    def test_finalizers_are_written_and_shown_on_create_and_update(self, api):
        site = make_site()
        response = api.post(reverse("dcim-api:device-list"),
                            {"name": "held", "location": site.pk, "role": device_role().pk,
                             "device_type": default_device_type().pk, "finalizers": [BACKUP]},
                            format="json")
        assert response.status_code == 201, response.data
        assert (response.data["finalizers"], response.data["deleting_since"]) == ([BACKUP], None)
        response = api.patch(reverse("dcim-api:device-detail", args=[response.data["id"]]),
                             {"finalizers": [BACKUP, AUDIT]}, format="json")
        assert response.status_code == 200
        assert Device.objects.get(name="held").finalizers == [BACKUP, AUDIT]

    def test_deleting_since_is_read_only(self, api):
        device = make_device()
        response = api.patch(device_url(device), {"deleting_since": "2030-01-01T00:00:00Z"}, format="json")
        assert response.status_code == 400
        assert "deleting_since" in response.data


class TestDeletionThroughTheAPI:
    @pytest.mark.parametrize("make, url", [
        (lambda: held_device(), device_url),
        (lambda: make_prefix("10.20.0.0/16", finalizers=[BACKUP]), prefix_url),
    ])
    def test_delete_marks_deleting_and_hides_nothing(self, api, make, url):
        obj = make()
        model = type(obj)
        response = api.delete(url(obj))
        assert response.status_code == 202, response.data
        assert response.data["id"] == obj.pk and response.data["finalizers"] == [BACKUP]
        assert response.data["deleting_since"] is not None
        obj.refresh_from_db()
        assert obj.deleting_since is not None
        assert api.get(url(obj)).data["deleting_since"] == response.data["deleting_since"]
        list_url = reverse(f"{model._meta.app_label}-api:{model._meta.model_name}-list")
        assert obj.pk in [row["id"] for row in api.get(list_url).data["results"]]
        assert [row["id"] for row in api.get(list_url, {"deleting": "true"}).data["results"]] == [obj.pk]
        assert obj.pk not in [row["id"] for row in api.get(list_url, {"deleting": "false"}).data["results"]]

        again = api.delete(url(obj))
        assert again.status_code == 202
        assert again.data["deleting_since"] == response.data["deleting_since"]

    def test_no_change_but_removing_finalizers_then_the_last_removal_deletes(self, api):
        device = held_device(BACKUP, AUDIT)
        api.delete(device_url(device))

        response = api.patch(device_url(device), {"description": "changed"}, format="json")
        assert response.status_code == 409
        assert "is being deleted" in response.data["detail"] and "description" in response.data["detail"]
        response = api.patch(device_url(device), {"finalizers": [BACKUP, AUDIT, "example.com/more"]}, format="json")
        assert response.status_code == 409
        assert "adding the finalizers example.com/more" in response.data["detail"]
        device.refresh_from_db()
        assert (device.description, device.finalizers) == ("", [BACKUP, AUDIT])

        response = api.patch(device_url(device), {"finalizers": [AUDIT]}, format="json")
        assert response.status_code == 200
        assert response.data["finalizers"] == [AUDIT] and response.data["deleting_since"] is not None

        body = api.get(device_url(device)).data  # a body read by GET, trimmed and sent back by PUT
        body["finalizers"] = []
        response = api.put(device_url(device), body, format="json")
        assert response.status_code == 204
        assert not response.content
        assert not Device.objects.filter(pk=device.pk).exists()
        assert api.get(device_url(device)).status_code == 404

    def test_an_object_without_finalizers_is_deleted_at_once(self, api):
        prefix = make_prefix("10.30.0.0/16")
        assert api.delete(prefix_url(prefix)).status_code == 204
        assert not Prefix.objects.filter(pk=prefix.pk).exists()

    def test_finalizers_removed_before_deletion_change_nothing_else(self, api):
        device = held_device()
        response = api.patch(device_url(device), {"finalizers": []}, format="json")
        assert response.status_code == 200
        assert Device.objects.filter(pk=device.pk, finalizers=[]).exists()


class TestAccess:
    def test_a_viewer_can_neither_delete_nor_remove_finalizers(self):
        tenant = make_tenant()
        device = held_device(tenant=tenant)
        viewer = member(tenant, Membership.Role.VIEWER)
        assert viewer.get(device_url(device)).status_code == 200
        assert viewer.delete(device_url(device)).status_code == 403
        Device.objects.filter(pk=device.pk).update(deleting_since="2030-01-01T00:00:00Z")
        assert viewer.patch(device_url(device), {"finalizers": []}, format="json").status_code == 403
        assert Device.objects.filter(pk=device.pk, finalizers=[BACKUP]).exists()

    def test_an_editor_of_another_tenant_gets_a_404(self):
        device = held_device(tenant=make_tenant())
        outsider = member(make_tenant(), Membership.Role.EDITOR)
        assert outsider.delete(device_url(device)).status_code == 404
        assert outsider.patch(device_url(device), {"finalizers": []}, format="json").status_code == 404
        device.refresh_from_db()
        assert (device.deleting_since, device.finalizers) == (None, [BACKUP])

    def test_an_editor_deletes_and_finishes_the_deletion(self):
        tenant = make_tenant()
        device = held_device(tenant=tenant)
        editor = member(tenant, Membership.Role.EDITOR)
        assert editor.delete(device_url(device)).status_code == 202
        assert editor.patch(device_url(device), {"finalizers": []}, format="json").status_code == 204
        assert not Device.objects.filter(pk=device.pk).exists()


class TestServiceFunctions:
    def test_remove_finalizer_deletes_only_an_object_being_deleted(self):
        device = held_device()
        assert finalizers.remove_finalizer(device, BACKUP) is False
        assert Device.objects.get(pk=device.pk).finalizers == []
        device = held_device(BACKUP, AUDIT)
        assert finalizers.request_deletion(device) is False
        assert finalizers.remove_finalizer(device, "example.com/absent") is False
        assert finalizers.remove_finalizer(device, BACKUP) is False
        assert finalizers.remove_finalizer(device, AUDIT) is True
        assert not Device.objects.filter(name=device.name).exists()


class TestAdmin:
    def test_the_delete_page_marks_deleting_and_the_change_page_shows_it(self, admin_client):
        device = held_device()
        delete_url = reverse("admin:dcim_device_delete", args=[device.pk])
        page = admin_client.get(delete_url)
        assert "has finalizers" in page.content.decode()
        response = admin_client.post(delete_url, {"post": "yes"}, follow=True)
        assert response.redirect_chain[-1][0] == reverse("admin:dcim_device_change", args=[device.pk])
        device.refresh_from_db()
        assert device.deleting_since is not None
        body = response.content.decode()
        assert "is being deleted" in body and "Being deleted" in body and BACKUP in body

    def test_the_change_form_only_removes_finalizers_and_the_last_removal_deletes(self, admin_client):
        device = held_device(BACKUP, AUDIT)
        finalizers.request_deletion(device)
        change_url = reverse("admin:dcim_device_change", args=[device.pk])
        page = admin_client.get(change_url)
        form = page.context["adminform"].form
        assert form.fields["name"].disabled and not form.fields["finalizers"].disabled
        data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
        for inline in page.context["inline_admin_formsets"]:
            management = inline.formset.management_form
            data.update({management[name].html_name: management[name].value() for name in management.fields})
        data.update(name="renamed", finalizers=f'["{BACKUP}", "{AUDIT}", "example.com/more"]')
        response = admin_client.post(change_url, data)
        assert response.status_code == 200  # the form again, with the error
        assert "can only be removed, not added" in response.content.decode()

        data.update(finalizers=f'["{AUDIT}"]')
        assert admin_client.post(change_url, data).status_code == 302
        device.refresh_from_db()
        assert (device.name, device.finalizers) != ("renamed", [AUDIT]) and device.finalizers == [AUDIT]

        data.update(finalizers="[]")
        response = admin_client.post(change_url, data, follow=True)
        assert response.redirect_chain[-1][0] == reverse("admin:dcim_device_changelist")
        assert "its last finalizer was removed" in response.content.decode()
        assert not Device.objects.filter(pk=device.pk).exists()

    def test_delete_selected_deletes_some_and_marks_the_others(self, admin_client):
        held, plain = held_device(), make_device()
        response = admin_client.post(reverse("admin:dcim_device_changelist"), {
            "action": "delete_selected", "_selected_action": [held.pk, plain.pk], "post": "yes"}, follow=True)
        messages = [str(m) for m in response.context["messages"]]
        assert "Successfully deleted 1 device." in messages
        assert any("Being deleted, waiting for their finalizers" in m and held.name in m for m in messages)
        assert not Device.objects.filter(pk=plain.pk).exists()
        assert Device.objects.get(pk=held.pk).deleting_since is not None

    def test_a_viewer_cannot_delete_in_the_admin(self, client):
        tenant = make_tenant()
        device = held_device(tenant=tenant)
        user = get_user_model().objects.create_user("staff-viewer", password="pw", is_staff=True)
        Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.VIEWER)
        client.force_login(user)
        response = client.post(reverse("admin:dcim_device_delete", args=[device.pk]), {"post": "yes"})
        assert response.status_code == 403
        assert Device.objects.get(pk=device.pk).deleting_since is None


@pytest.mark.django_db
def test_a_delete_that_finds_the_object_gone_meanwhile_is_a_404(api, monkeypatch):
    """Two DELETEs at once (found by the fuzzer): the second read the object, then found its row gone
    when it locked it, and answered 500."""
    from catalog_site.api.views import CatalogModelViewSet

    device = make_device()
    read = CatalogModelViewSet.get_object

    def read_then_lose(self):
        obj = read(self)
        type(obj).objects.filter(pk=obj.pk).delete()  # the other request's DELETE commits now
        return obj

    monkeypatch.setattr(CatalogModelViewSet, "get_object", read_then_lose)
    response = api.delete(f"/api/dcim/devices/{device.pk}/")
    assert response.status_code == 404, response.content
    assert response.json() == {"detail": f"Device {device.pk} no longer exists."}
