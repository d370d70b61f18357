"""Rules of the dcim models, checked directly (the API tests check them through the API)."""

import pytest
from django.core.exceptions import ValidationError

from dcim.models import Device, Interface, Location

from .factories import make_device, make_interface, make_location, make_site, make_vlan


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
    def test_placement(self):
        site = make_site()
        assert list(errors_of(Device(name="x", location=site.parent, role="core"))) == ["location"]
        Device(name="x", location=make_location("zone", parent=site), role="core").full_clean()

    def test_duplicates_are_reported_on_their_field(self):
        device = make_device(index=1)
        assert list(errors_of(Device(name=device.name, location=device.location, role="edge"))) == ["name"]
        assert list(errors_of(Device(name="other", location=device.location, role="core", index=1))) == ["index"]
        Device(name="other", location=device.location, role="edge", index=1).full_clean()
        Device(name="other", location=device.location, role="core").full_clean()

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
