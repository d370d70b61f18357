"""The admin action "Edit selected …" of the inventory (``catalog_site.bulk_edit``).

It sets status, tenant, role or location on every selected row through the same validation as a
single edit, all or nothing, with the choices the admin's forms offer; another tenant's rows are out
of its reach.
"""

import types

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from catalog_site.bulk_edit import UNCHANGED
from dcim.models import Device, Interface, Location
from ipam.models import VLAN, L2Domain, Prefix
from tenancy.models import Membership, Tenant
from tests.dcim.factories import make_device, make_device_role, make_interface, make_location

pytestmark = pytest.mark.django_db


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def open_page(client, model, objects):
    """The intermediate page, as the list page's action form posts it."""
    return client.post(changelist(model), {"action": "bulk_edit", "index": 0,
                                           helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects]})


def apply(client, model, objects, **values):
    """The intermediate page's form posted back with ``values`` (field -> value; empty fields unchanged)."""
    return client.post(changelist(model), {"action": "bulk_edit", "apply": "Apply",
                                           helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects], **values})


@pytest.fixture
def world(django_user_model):
    tenant_a = Tenant.objects.create(name="Alpha", slug="alpha")
    branch = Tenant.objects.create(name="Alpha branch", slug="alpha-branch", parent=tenant_a)
    tenant_b = Tenant.objects.create(name="Beta", slug="beta")
    site = make_location("site", parent=make_location("metro", parent=make_location("country")), name="Shared site")
    other_site = make_location("site", parent=site.parent, tenant=tenant_a, name="Alpha site")
    site_b = make_location("site", parent=site.parent, tenant=tenant_b, name="Beta site")
    devices = [make_device(location=site, name=f"alpha-{n}", tenant=tenant_a) for n in (1, 2)]
    device_b = make_device(location=site, name="beta-1", tenant=tenant_b)
    shared = make_device(location=site, name="shared-1")
    editor = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    Membership.objects.create(user=editor, tenant=tenant_a, role="editor")
    Membership.objects.create(user=viewer, tenant=tenant_a, role="viewer")
    return types.SimpleNamespace(tenant_a=tenant_a, branch=branch, tenant_b=tenant_b, site=site, other_site=other_site,
                                 site_b=site_b, devices=devices, device_b=device_b, shared=shared, editor=editor,
                                 viewer=viewer)


@pytest.fixture
def editor(client, world):
    client.force_login(world.editor)
    return client


def statuses(objects):
    return [type(obj).objects.get(pk=obj.pk).status for obj in objects]


def test_the_page_offers_the_models_fields_each_left_unchanged(world, editor):
    response = open_page(editor, Device, world.devices)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.fields) == {"status", "tenant", "clear_tenant", "role", "location"}
    assert not any(field.required for field in form.fields.values())
    html = response.content.decode()
    assert UNCHANGED in html and "alpha-1" in html and "alpha-2" in html
    # The tenant: only those the editor may write into; locations: those they see.
    assert set(form.fields["tenant"].queryset) == {world.tenant_a, world.branch}
    locations = set(form.fields["location"].queryset)
    assert {world.site, world.other_site} <= locations
    assert world.site_b not in locations
    assert "Beta" not in html


def test_a_change_is_applied_to_every_selected_row(world, editor):
    response = apply(editor, Device, world.devices, status="offline", tenant=world.branch.pk)
    assert response.status_code == 302
    assert statuses(world.devices) == ["offline", "offline"]
    assert {device.tenant for device in Device.objects.filter(name__startswith="alpha-")} == {world.branch}
    messages = [str(message) for message in editor.get(changelist(Device)).context["messages"]]
    assert "Changed 2 devices." in messages


def test_fields_left_empty_stay_as_they_are(world, editor):
    role = make_device_role(slug="lab")
    apply(editor, Device, world.devices, role=role.pk)
    device = Device.objects.get(pk=world.devices[0].pk)
    assert (device.role, device.status, device.tenant, device.location) == (role, "active", world.tenant_a, world.site)


def test_a_row_failing_validation_writes_nothing(world, editor):
    """A country cannot hold devices: every row fails, each named with its field; nothing changes."""
    country = world.site.parent.parent
    response = apply(editor, Device, world.devices, status="offline", location=country.pk)
    assert response.status_code == 200
    errors = response.context["errors"]
    assert len(errors) == 2
    assert all(error.startswith(("alpha-1: location:", "alpha-2: location:")) for error in errors), errors
    assert statuses(world.devices) == ["active", "active"]


def test_one_row_refused_writes_none(world, editor):
    """The shared switch is visible, not the editor's to change: the whole edit is refused."""
    response = apply(editor, Device, [*world.devices, world.shared], status="offline")
    assert response.status_code == 200
    assert response.context["errors"] == [
        "shared-1: You may not change this device: it is shared infrastructure and needs the 'dcim.change_device' "
        "permission."]
    assert "Nothing was changed" in response.content.decode()
    assert statuses([*world.devices, world.shared]) == ["active", "active", "active"]


def test_a_tenant_out_of_reach_is_refused(world, editor):
    response = apply(editor, Device, world.devices, tenant=world.tenant_b.pk)
    assert response.status_code == 200
    assert "tenant" in response.context["form"].errors
    assert {device.tenant for device in Device.objects.filter(name__startswith="alpha-")} == {world.tenant_a}


def test_another_tenants_rows_are_not_touched(world, editor):
    """B's device posted among the selection is not in the editor's list: it is left out."""
    response = apply(editor, Device, [*world.devices, world.device_b], status="offline")
    assert response.status_code == 302
    assert statuses([world.device_b]) == ["active"]
    assert statuses(world.devices) == ["offline", "offline"]


def test_a_relation_can_be_cleared(world, editor):
    vlans = [VLAN.objects.create(vid=vid, name=f"v{vid}", l2domain=L2Domain.get_default(), tenant=world.tenant_a,
                                 location=world.other_site) for vid in (10, 11)]
    apply(editor, VLAN, vlans, clear_location="on")
    assert list(VLAN.objects.filter(vid__in=(10, 11)).values_list("location", flat=True)) == [None, None]


def test_nothing_chosen_is_said(world, editor):
    response = apply(editor, Device, world.devices)
    assert response.status_code == 200
    assert "Choose at least one field to change." in response.content.decode()


@pytest.mark.parametrize("model, fields", [
    (Location, {"status", "tenant", "clear_tenant"}),
    (Interface, {"status", "role"}),
    (Prefix, {"status", "role", "tenant", "clear_tenant", "location", "clear_location"}),
])
def test_each_model_offers_the_fields_it_has(world, editor, model, fields):
    objects = {Location: [world.other_site], Interface: [make_interface(world.devices[0])],
               Prefix: [Prefix.objects.create(prefix="192.0.2.0/24", tenant=world.tenant_a)]}[model]
    response = open_page(editor, model, objects)
    assert set(response.context["form"].fields) == fields


def test_a_tree_row_is_edited(world, editor):
    response = apply(editor, Location, [world.other_site], status="planned")
    assert response.status_code == 302
    world.other_site.refresh_from_db()
    assert world.other_site.status == "planned"
    Location.objects.partial_rebuild(world.other_site.tree_id)  # the tree is still whole


def test_the_action_is_offered_to_writers_on_inventory_only(world, client):
    client.force_login(world.editor)
    assert "bulk_edit" in dict(client.get(changelist(Device)).context["action_form"].fields["action"].choices)
    client.force_login(world.viewer)
    page = client.get(changelist(Device))
    actions = page.context["action_form"].fields["action"].choices if page.context.get("action_form") else []
    assert "bulk_edit" not in dict(actions)
    assert apply(client, Device, world.devices, status="offline").status_code in (200, 302)
    assert statuses(world.devices) == ["active", "active"]


def test_rows_that_would_collide_write_nothing(world, editor):
    """Namesakes at two sites: moved to the other's site, the model says why; both moved to a third, each
    passes alone and the database refuses them together. No row moves."""
    twins = [make_device(location=site, name="twin", tenant=world.tenant_a) for site in (world.site, world.other_site)]
    response = apply(editor, Device, twins, location=world.other_site.pk, status="offline")
    assert response.context["errors"] == ["twin: name: A device with this name already exists at this location."]
    third = make_location("site", parent=world.site.parent, tenant=world.tenant_a, name="Third site")
    response = apply(editor, Device, twins, location=third.pk, status="offline")
    assert response.status_code == 200
    assert response.context["errors"][0].startswith("The database refused the change, nothing was written")
    assert sorted(Device.objects.filter(name="twin").values_list("location", "status")) == \
        sorted([(world.site.pk, "active"), (world.other_site.pk, "active")])
