"""Rules of the dcim models, checked directly (the API tests check them through the API)."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from dcim.models import Device, DeviceRole, DeviceType, Interface, Location

from .factories import (
    default_device_type,
    device_role,
    make_device,
    make_device_type,
    make_interface,
    make_location,
    make_manufacturer,
    make_site,
    make_vlan,
)


def errors_of(obj):
    with pytest.raises(ValidationError) as info:
        obj.full_clean()
    return info.value.message_dict


@pytest.mark.django_db
class TestLocation:
    @pytest.mark.parametrize(
        ("parent_kind", "kind"),
        [("site", "country"), ("site", "metro"), ("metro", "metro"), ("zone", "building"), ("building", "site")],
    )
    def test_never_contains_a_wider_or_equal_kind(self, parent_kind, kind):
        parent = make_location(parent_kind)
        errors = errors_of(Location(name="x", slug="x", kind=kind, parent=parent))
        assert list(errors) == ["parent"]

    @pytest.mark.parametrize(("parent_kind", "kind"), [("country", "site"), ("metro", "zone"), ("site", "building")])
    def test_levels_may_be_skipped(self, parent_kind, kind):
        Location(name="x", slug="x", kind=kind, parent=make_location(parent_kind)).full_clean()

    def test_kind_change_checks_the_children(self):
        site = make_site()
        metro = site.parent
        metro.kind = Location.Kind.SITE
        assert list(errors_of(metro)) == ["kind"]
        metro.kind = Location.Kind.COUNTRY
        metro.parent = None
        metro.full_clean()

    def test_duplicate_names_are_reported_on_name(self):
        site = make_site()
        assert list(errors_of(Location(name=site.name, slug="other", kind="site", parent=site.parent))) == ["name"]
        country = site.parent.parent
        assert list(errors_of(Location(name=country.name, slug="other", kind="country"))) == ["name"]


@pytest.mark.django_db
class TestDevice:
    def device(self, role="core", **fields):
        return Device(role=device_role(role), device_type=default_device_type(), **fields)

    def test_placement(self):
        site = make_site()
        assert list(errors_of(self.device(name="x", location=site.parent))) == ["location"]
        self.device(name="x", location=make_location("zone", parent=site)).full_clean()

    def test_duplicates_are_reported_on_their_field(self):
        device = make_device(index=1)
        assert list(errors_of(self.device("edge", name=device.name, location=device.location))) == ["name"]
        assert list(errors_of(self.device(name="other", location=device.location, index=1))) == ["index"]
        self.device("edge", name="other", location=device.location, index=1).full_clean()
        self.device(name="other", location=device.location).full_clean()

    def test_role_and_device_type_are_required(self):
        errors = errors_of(Device(name="x", location=make_site()))
        assert {"role", "device_type"} <= set(errors)

    def test_site_is_the_nearest_site(self):
        site = make_site()
        building = make_location("building", parent=site)
        for location in (site, building, make_location("zone", parent=building), make_location("zone", parent=site)):
            assert location.site == site
            assert make_device(location).site == site

    def test_a_location_above_or_outside_a_site_has_none(self):
        site = make_site()
        assert site.parent.site is None
        assert make_location("zone", parent=site.parent).site is None


@pytest.mark.django_db
class TestDeviceTypeAndRole:
    def test_model_and_slug_are_unique_per_manufacturer(self):
        device_type = make_device_type()
        same_maker = DeviceType(manufacturer=device_type.manufacturer, model=device_type.model, slug="other")
        assert list(errors_of(same_maker)) == ["model"]
        same_slug = DeviceType(manufacturer=device_type.manufacturer, model="Other", slug=device_type.slug)
        assert list(errors_of(same_slug)) == ["slug"]
        DeviceType(manufacturer=make_manufacturer(), model=device_type.model, slug=device_type.slug).full_clean()

    @pytest.mark.parametrize("color", ["00FF00", "0f0", "green", "00ff001", "#00ff0"])
    def test_colour_is_six_lowercase_hex_digits(self, color):
        assert list(errors_of(DeviceRole(name="x", slug="x", color=color))) == ["color"]

    def test_a_role_in_use_cannot_be_deleted(self):
        device = make_device()
        with pytest.raises(ProtectedError):
            device.role.delete()

    def test_an_unchanged_device_is_valid(self):
        make_device(index=1).full_clean()


@pytest.mark.django_db
class TestInterface:
    def test_layer_3_has_no_mode(self):
        interface = Interface(device=make_device(), name="lo0", layer=3, mode="access")
        assert list(errors_of(interface)) == ["mode"]

    def test_untagged_vlan_on_layer_2_needs_a_mode(self):
        interface = Interface(device=make_device(), name="eth0", untagged_vlan=make_vlan())
        assert list(errors_of(interface)) == ["mode"]
        interface.mode = Interface.Mode.ACCESS
        interface.full_clean()

    def test_type_is_one_of_netbox_values(self):
        interface = Interface(device=make_device(), name="eth0", type="1000base-t")
        interface.full_clean()
        interface.type = "1000BASE-T"
        assert list(errors_of(interface)) == ["type"]
        assert Interface(device=make_device(), name="eth0").type == "other"

    def test_duplicate_name_is_reported_on_name(self):
        interface = make_interface()
        assert list(errors_of(Interface(device=interface.device, name=interface.name))) == ["name"]

    def test_tagged_vlans_need_tagged_mode(self):
        vlan = make_vlan()
        interface = Interface(mode=Interface.Mode.ACCESS)
        with pytest.raises(ValidationError) as info:
            interface.validate_tagged_vlans([vlan])
        assert list(info.value.message_dict) == ["tagged_vlans"]
        interface.validate_tagged_vlans([])
        Interface(mode=Interface.Mode.TAGGED).validate_tagged_vlans([vlan])

    def test_str_is_device_and_name(self):
        interface = make_interface(name="Ethernet1")
        assert str(interface) == f"{interface.device.name} Ethernet1"
