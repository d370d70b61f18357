"""Admin smoke tests: every dcim page renders for a superuser, and the interface form keeps the VLAN rule.

The lists, filters and the device page's interface table are tested in ``test_admin_lists``.
"""

import pytest
from django import forms
from django.urls import reverse

from dcim.admin import InterfaceForm
from dcim.models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer

from .factories import (
    default_device_type,
    device_role,
    make_device,
    make_device_role,
    make_device_type,
    make_interface,
    make_location,
    make_manufacturer,
    make_site,
    make_vlan,
)


def make_one(model):
    if model is Location:
        return make_site()
    if model is Manufacturer:
        return make_manufacturer()
    if model is DeviceType:
        return make_device_type()
    if model is DeviceRole:
        return make_device_role()
    if model is Device:
        return make_device(device_type=make_device_type())
    return make_interface(mode="access", untagged_vlan=make_vlan())


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Location, Manufacturer, DeviceType, DeviceRole, Device, Interface])
def test_pages_render(admin_client, model):
    obj = make_one(model)
    name = f"admin:dcim_{model._meta.model_name}"
    changelist = admin_client.get(reverse(f"{name}_changelist"))
    assert changelist.status_code == 200
    assert str(obj) in changelist.content.decode()
    assert admin_client.get(reverse(f"{name}_add")).status_code == 200
    change = admin_client.get(reverse(f"{name}_change", args=[obj.pk]))
    assert change.status_code == 200
    assert change.context["original"] == obj


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "term"), [(Location, "site"), (Manufacturer, "maker"), (DeviceType, "model-"),
                                             (DeviceRole, "role-"), (Device, "device"), (Interface, "eth")])
def test_changelist_search(admin_client, model, term):
    make_one(model)
    response = admin_client.get(reverse(f"admin:dcim_{model._meta.model_name}_changelist"), {"q": term})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


@pytest.mark.django_db
def test_device_page_lists_its_interfaces_read_only(admin_client):
    device = make_device()
    make_interface(device, name="Ethernet1", speed=1000)
    make_interface(device, name="Ethernet2", role="uplink")
    make_interface(name="Elsewhere9")
    response = admin_client.get(reverse("admin:dcim_device_change", args=[device.pk]))
    assert response.status_code == 200
    assert not response.context["inline_admin_formsets"]  # a form per interface does not fit the page
    assert [row["name"] for row in response.context["interface_rows"]] == ["Ethernet1", "Ethernet2"]
    content = response.content.decode()
    assert ">Ethernet1</a>" in content and ">Ethernet2</a>" in content and ">1G<" in content
    assert "Elsewhere9" not in content
    assert 'value="Ethernet1"' not in content


@pytest.mark.django_db
def test_device_save_leaves_its_interfaces_alone(admin_client):
    device = make_device()
    interface = make_interface(device, name="Ethernet1", mode="tagged")
    response = admin_client.post(reverse("admin:dcim_device_change", args=[device.pk]), {
        "name": "renamed", "location": device.location_id, "role": device.role_id, "status": device.status,
        "device_type": device.device_type_id, "annotations": "{}", "finalizers": "[]",
    })
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.name == "renamed"
    assert list(device.interfaces.all()) == [interface]


@pytest.mark.django_db
def test_device_add_in_a_metro_is_refused_on_location(admin_client):
    metro = make_location("metro")
    response = admin_client.post(reverse("admin:dcim_device_add"), {
        "name": "lost", "location": metro.pk, "role": device_role().pk, "device_type": default_device_type().pk,
        "status": "active", "annotations": "{}",
        "interfaces-TOTAL_FORMS": "0", "interfaces-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "location" in response.context["adminform"].form.errors
    assert not Device.objects.exists()


def interface_post(interface, **changes):
    data = {
        "device": interface.device_id, "name": interface.name, "type": interface.type, "layer": interface.layer,
        "role": interface.role,
        "status": interface.status, "enabled": "on", "speed": "", "mode": interface.mode, "description": "",
        "untagged_vlan": "", "annotations": "{}",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_interface_form_refuses_tagged_vlans_without_tagged_mode(admin_client):
    interface = make_interface(mode="access")
    vlan = make_vlan()
    url = reverse("admin:dcim_interface_change", args=[interface.pk])
    response = admin_client.post(url, interface_post(interface, tagged_vlans=[vlan.pk]))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["tagged_vlans"] == [
        "Only an interface in tagged mode can carry tagged VLANs."
    ]
    assert not interface.tagged_vlans.exists()

    response = admin_client.post(url, interface_post(interface, mode="tagged", tagged_vlans=[vlan.pk]))
    assert response.status_code == 302
    assert list(interface.tagged_vlans.all()) == [vlan]


@pytest.mark.django_db
def test_a_form_without_tagged_vlans_keeps_them_consistent():
    """A form of some of the fields (no tagged VLANs) checks the VLANs the interface carries against its new mode."""
    interface = make_interface(name="Ethernet1", mode="tagged")
    interface.tagged_vlans.add(make_vlan())
    form_class = forms.modelform_factory(Interface, form=InterfaceForm, fields=("name", "layer", "mode"))
    form = form_class({"name": "Ethernet1", "layer": "2", "mode": "access"}, instance=interface)
    assert not form.is_valid()
    assert form.non_field_errors() == ["Only an interface in tagged mode can carry tagged VLANs."]
    interface.refresh_from_db()
    assert interface.mode == "tagged"
