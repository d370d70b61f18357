"""API tests of locations, manufacturers, devices and interfaces.

Interfaces with VLANs come last: their brief representation is ipam's VLAN serializer.
"""

import pytest

from dcim.models import Device, Interface, Location, Manufacturer
from tests.api_mixins import APIViewTests, choice_value, next_number

from .factories import (
    device_role,
    make_device,
    make_device_type,
    make_interface,
    make_location,
    make_manufacturer,
    make_site,
    make_tenant,
    make_vlan,
)

LOCATIONS = "/api/dcim/locations/"
DEVICES = "/api/dcim/devices/"
INTERFACES = "/api/dcim/interfaces/"


def ids(response):
    return {row["id"] for row in response.data["results"]}


class TestLocationAPI(APIViewTests):
    url_name = "dcim-api:location"
    model = Location
    brief_fields = ("id", "url", "display", "name", "slug", "kind")
    list_queries = 3  # token (with its user), count, page joined to parent and tenant

    def make_objects(self, count):
        country = make_location("country")
        return [country] + [make_location("metro", parent=country) for _ in range(count - 1)]

    def create_data(self):
        country = make_location("country")
        n = next_number()
        return [
            {"name": f"Belgium {n}", "slug": f"be-{n}", "kind": "country"},
            {"name": "Paris", "slug": f"paris-{n}", "kind": "metro", "parent": country.pk},
            {"name": "Paris 1", "slug": f"paris-1-{n}", "kind": "site", "parent": {"id": country.pk},
             "tenant": make_tenant().pk},
        ]

    def invalid_data(self):
        return {"name": "Mars", "slug": f"mars-{next_number()}", "kind": "planet"}, "kind"

    def update_data(self):
        return {"description": "renamed", "name": "Renamed location"}

    def filter_cases(self, objects):
        country, metro, other_metro = objects
        tenant = make_tenant()
        sub_tenant = make_tenant(parent=tenant)
        site = make_location("site", parent=metro, tenant=sub_tenant)
        metro.tenant = tenant
        metro.save()
        return [
            ({"name": site.name}, [site.pk]),
            ({"name__icontains": site.name.upper()}, [site.pk]),
            ({"slug": metro.slug}, [metro.pk]),
            ({"kind": "site"}, [site.pk]),
            ({"kind": ["metro", "site"]}, [metro.pk, other_metro.pk, site.pk]),
            ({"parent_id": country.pk}, [metro.pk, other_metro.pk]),
            ({"ancestor_id": country.pk}, [metro.pk, other_metro.pk, site.pk]),
            ({"ancestor_id": metro.pk}, [site.pk]),
            ({"ancestor_id": site.pk}, []),
            ({"tenant_id": tenant.pk}, [metro.pk, site.pk]),
            ({"tenant_id": sub_tenant.pk}, [site.pk]),
            ({"level": 2}, [site.pk]),
            ({"q": site.slug}, [site.pk]),
            ({"id": f"{country.pk},{site.pk}"}, [country.pk, site.pk]),
        ]


class TestManufacturerAPI(APIViewTests):
    url_name = "dcim-api:manufacturer"
    model = Manufacturer
    brief_fields = ("id", "url", "display", "name", "slug")
    list_queries = 3

    def make_objects(self, count):
        return [make_manufacturer() for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [{"name": f"{name} {n}", "slug": f"{name.lower()}-{n}"} for name in ("Arista", "Juniper", "Nokia")]

    def invalid_data(self):
        return {"name": "Bad slug", "slug": "not a slug"}, "slug"

    def update_data(self):
        return {"description": "switches"}

    def filter_cases(self, objects):
        first = objects[0]
        return [
            ({"name": first.name}, [first.pk]),
            ({"slug": first.slug}, [first.pk]),
            ({"q": first.slug}, [first.pk]),
        ]

    def test_deleting_a_manufacturer_with_device_types_is_a_409(self, api):
        maker = make_manufacturer()
        make_device(device_type=make_device_type(maker))
        response = api.delete(self.detail_url(maker))
        assert response.status_code == 409
        assert Manufacturer.objects.filter(pk=maker.pk).exists()


class TestDeviceAPI(APIViewTests):
    url_name = "dcim-api:device"
    model = Device
    brief_fields = ("id", "url", "display", "name")
    # token, count, page joined to location (and the two above it, for the site), device type, manufacturer,
    # role and tenant
    list_queries = 3

    def make_objects(self, count):
        site = make_site(tenant=make_tenant())
        device_type = make_device_type()
        return [make_device(site, device_type=device_type, tenant=site.tenant, index=i + 1) for i in range(count)]

    def create_data(self):
        site = make_site()
        device_type = make_device_type()
        core, edge = device_role("core").pk, device_role("edge").pk
        return [
            {"name": "core1", "location": site.pk, "role": core, "index": 1, "device_type": device_type.pk,
             "serial": "SN1"},
            {"name": "core2", "location": {"id": site.pk}, "role": {"id": core}, "index": 2, "status": "planned",
             "device_type": {"id": device_type.pk}},
            {"name": "edge1", "location": site.pk, "role": edge, "device_type": device_type.pk,
             "tenant": make_tenant().pk},
        ]

    def invalid_data(self):
        metro = make_location("metro")
        return {"name": "lost", "location": metro.pk, "role": device_role().pk,
                "device_type": make_device_type().pk}, "location"

    def update_data(self):
        return {"status": "offline", "serial": "SN-9", "index": 7}

    def filter_cases(self, objects):
        first, second, third = objects
        site = first.location
        metro = site.parent
        tenant = first.tenant
        sub_tenant = make_tenant(parent=tenant)
        building = make_location("building", parent=site)
        other_site = make_location("site", parent=metro)
        elsewhere = make_site()
        mx204 = make_device_type(model=f"MX204-{next_number()}")
        in_building = make_device(building, role="edge", status=Device.Status.PLANNED, tenant=sub_tenant,
                                  serial="XYZ-123", device_type=mx204)
        at_other_site = make_device(other_site, role="edge")
        far = make_device(elsewhere, role="cpe", index=1, name=f"far-away-{next_number()}")
        everything_in_metro = [first.pk, second.pk, third.pk, in_building.pk, at_other_site.pk]
        first_maker = first.device_type.manufacturer
        return [
            ({"name": second.name}, [second.pk]),
            ({"role": "edge"}, [in_building.pk, at_other_site.pk]),
            ({"role": ["edge", "cpe"]}, [in_building.pk, at_other_site.pk, far.pk]),
            ({"role_id": device_role("cpe").pk}, [far.pk]),
            ({"status": "planned"}, [in_building.pk]),
            ({"index": 1}, [first.pk, far.pk]),
            ({"device_type_id": first.device_type_id}, [first.pk, second.pk, third.pk]),
            ({"device_type": mx204.slug}, [in_building.pk]),
            ({"manufacturer_id": first_maker.pk}, [first.pk, second.pk, third.pk]),
            ({"manufacturer": mx204.manufacturer.slug}, [in_building.pk]),
            ({"manufacturer_id": [first_maker.pk, mx204.manufacturer_id]},
             [first.pk, second.pk, third.pk, in_building.pk]),
            ({"site_id": site.pk}, [first.pk, second.pk, third.pk, in_building.pk]),
            ({"site": other_site.slug}, [at_other_site.pk]),
            ({"region_id": metro.pk}, everything_in_metro),
            ({"region": metro.parent.slug}, everything_in_metro),
            ({"location_id": metro.pk}, everything_in_metro),
            ({"location_id": metro.parent_id}, everything_in_metro),
            ({"location_id": site.pk}, [first.pk, second.pk, third.pk, in_building.pk]),
            ({"location_id": building.pk}, [in_building.pk]),
            ({"location_id": [building.pk, elsewhere.pk]}, [in_building.pk, far.pk]),
            ({"tenant_id": tenant.pk}, [first.pk, second.pk, third.pk, in_building.pk]),
            ({"tenant_id": sub_tenant.pk}, [in_building.pk]),
            ({"q": "xyz-1"}, [in_building.pk]),
            ({"q": "mx20"}, [in_building.pk]),  # the device type's model
            ({"q": far.name}, [far.pk]),
        ]

    def test_nested_objects_are_brief(self, api):
        device = self.make_objects(1)[0]
        data = api.get(self.detail_url(device)).data
        assert data["location"] == {
            "id": device.location_id, "url": data["location"]["url"], "display": device.location.name,
            "name": device.location.name, "slug": device.location.slug, "kind": {"value": "site", "label": "Site"},
        }
        assert set(data["device_type"]) == {"id", "url", "display", "manufacturer", "model", "slug"}
        assert set(data["device_type"]["manufacturer"]) == {"id", "url", "display", "name", "slug"}
        assert set(data["role"]) == {"id", "url", "display", "name", "slug"}
        assert data["role"]["slug"] == "core"
        assert data["site"]["id"] == device.location_id
        assert data["site"]["url"].endswith(f"/api/dcim/sites/{device.location_id}/")
        assert data["tenant"]["id"] == device.tenant_id
        assert data["index"] == 1


class TestInterfaceAPI(APIViewTests):
    url_name = "dcim-api:interface"
    model = Interface
    brief_fields = ("id", "url", "display", "device", "name")
    list_queries = 4  # token, count, page joined to device and untagged VLAN, tagged VLANs of the page

    def make_objects(self, count):
        device = make_device()
        return [make_interface(device) for _ in range(count)]

    def create_data(self):
        device = make_device()
        return [
            {"device": device.pk, "name": "Ethernet1", "type": "1000base-t", "role": "customer", "speed": 1000},
            {"device": device.pk, "name": "Ethernet2", "layer": 2, "mode": "access", "enabled": False},
            {"device": {"id": device.pk}, "name": "Loopback0", "layer": 3, "status": "active"},
        ]

    def invalid_data(self):
        return {"device": make_device().pk, "name": "vlan10", "layer": 3, "mode": "access"}, "mode"

    def update_data(self):
        return {"speed": 10000, "status": "active", "description": "to customer"}

    def filter_cases(self, objects):
        first, second, third = objects
        device = first.device
        site = device.location
        tenant = make_tenant()
        sub_tenant = make_tenant(parent=tenant)
        building = make_location("building", parent=site)
        in_building = make_device(building, tenant=sub_tenant, name=f"in-building-{next_number()}")
        uplink = make_interface(in_building, name="Ethernet49", role="uplink", status="active", speed=100000,
                                mode="tagged")
        loopback = make_interface(in_building, name="Loopback0", type="virtual", layer=3, enabled=False, speed=1000,
                                  description="router id")
        elsewhere = make_interface(make_device(), role="customer", speed=1000)
        everything_at_site = [first.pk, second.pk, third.pk, uplink.pk, loopback.pk]
        return [
            ({"device_id": device.pk}, [first.pk, second.pk, third.pk]),
            ({"device_id": [device.pk, in_building.pk]}, everything_at_site),
            ({"device": in_building.name}, [uplink.pk, loopback.pk]),
            ({"device": [in_building.name, device.name]}, everything_at_site),
            ({"type": "virtual"}, [loopback.pk]),
            ({"type": ["virtual", "other"]}, [first.pk, second.pk, third.pk, uplink.pk, loopback.pk, elsewhere.pk]),
            ({"site_id": site.pk}, everything_at_site),
            ({"site": site.slug}, everything_at_site),
            ({"region_id": site.parent_id}, everything_at_site),
            ({"name": "Ethernet49"}, [uplink.pk]),
            ({"layer": 3}, [loopback.pk]),
            ({"role": "uplink"}, [uplink.pk]),
            ({"role": ["uplink", "customer"]}, [uplink.pk, elsewhere.pk]),
            ({"status": "active"}, [uplink.pk]),
            ({"enabled": "false"}, [loopback.pk]),
            ({"mode": "tagged"}, [uplink.pk]),
            ({"speed": 1000}, [loopback.pk, elsewhere.pk]),
            ({"speed__gte": 10000}, [uplink.pk]),
            ({"speed__lte": 1000}, [loopback.pk, elsewhere.pk]),
            ({"location_id": site.parent_id}, everything_at_site),
            ({"location_id": site.pk}, everything_at_site),
            ({"location_id": building.pk}, [uplink.pk, loopback.pk]),
            ({"tenant_id": tenant.pk}, [uplink.pk, loopback.pk]),
            ({"tenant_id": sub_tenant.pk}, [uplink.pk, loopback.pk]),
            ({"q": "router id"}, [loopback.pk]),
            ({"q": in_building.name}, [uplink.pk, loopback.pk]),
        ]

    def test_display_and_nested_device(self, api):
        interface = self.make_objects(1)[0]
        data = api.get(self.detail_url(interface)).data
        assert data["display"] == f"{interface.device.name} {interface.name}"
        assert set(data["device"]) == {"id", "url", "display", "name"}
        assert data["untagged_vlan"] is None
        assert data["tagged_vlans"] == []


@pytest.mark.django_db
class TestLocationRules:
    def test_a_site_cannot_contain_a_country(self, api):
        site = make_site()
        response = api.post(LOCATIONS, {"name": "Nowhere", "slug": "nowhere", "kind": "country", "parent": site.pk},
                            format="json")
        assert response.status_code == 400, response.data
        assert response.data["parent"] == ["A site cannot contain a country."]
        assert not Location.objects.filter(slug="nowhere").exists()

    def test_a_metro_cannot_contain_a_metro(self, api):
        metro = make_location("metro")
        response = api.post(LOCATIONS, {"name": "Inner", "slug": "inner", "kind": "metro", "parent": metro.pk},
                            format="json")
        assert response.status_code == 400
        assert "parent" in response.data

    def test_levels_may_be_skipped(self, api):
        country = make_location("country")
        response = api.post(LOCATIONS, {"name": "Site", "slug": "site-x", "kind": "site", "parent": country.pk},
                            format="json")
        assert response.status_code == 201, response.data
        assert response.data["depth"] == 1
        assert response.data["parent"]["kind"] == {"value": "country", "label": "Country"}

    def test_kind_cannot_change_to_contain_a_wider_kind(self, api):
        metro = make_location("metro")
        site = make_location("site", parent=metro)
        response = api.patch(f"{LOCATIONS}{metro.pk}/", {"kind": "building"}, format="json")
        assert response.status_code == 400, response.data
        assert response.data["kind"] == [f"A building cannot contain the site {site.name}."]
        metro.refresh_from_db()
        assert metro.kind == "metro"

    def test_kind_may_change_when_children_stay_narrower(self, api):
        metro = make_location("metro")
        make_location("site", parent=metro)
        response = api.patch(f"{LOCATIONS}{metro.pk}/", {"kind": "country"}, format="json")
        assert response.status_code == 200, response.data
        metro.refresh_from_db()
        assert metro.kind == "country"

    def test_cannot_move_under_own_descendant(self, api):
        country = make_location("country")
        metro = make_location("metro", parent=country)
        response = api.patch(f"{LOCATIONS}{country.pk}/", {"parent": metro.pk}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data

    def test_duplicate_name_in_a_parent(self, api):
        metro = make_location("metro")
        site = make_location("site", parent=metro)
        response = api.post(LOCATIONS, {"name": site.name, "slug": "dup", "kind": "site", "parent": metro.pk},
                            format="json")
        assert response.status_code == 400, response.data
        assert response.data["name"] == ["A location with this name already exists in this parent."]
        assert Location.objects.filter(name=site.name).count() == 1

    def test_duplicate_top_level_name(self, api):
        country = make_location("country")
        response = api.post(LOCATIONS, {"name": country.name, "slug": "dup", "kind": "country"}, format="json")
        assert response.status_code == 400, response.data
        assert response.data["name"] == ["A top-level location with this name already exists."]

    def test_same_name_under_different_parents(self, api):
        site = make_site()
        other_metro = make_location("metro")
        response = api.post(LOCATIONS, {"name": site.name, "slug": "twin", "kind": "site", "parent": other_metro.pk},
                            format="json")
        assert response.status_code == 201, response.data

    def test_bad_kind_and_unknown_ids(self, api):
        response = api.post(LOCATIONS, {"name": "x", "slug": "x", "kind": "continent", "parent": 999999,
                                        "tenant": 999999}, format="json")
        assert response.status_code == 400
        assert set(response.data) == {"kind", "parent", "tenant"}

    def test_deleting_a_location_with_devices_is_a_409(self, api):
        device = make_device()
        response = api.delete(f"{LOCATIONS}{device.location_id}/")
        assert response.status_code == 409
        assert response.data["dependent_objects"] == [device.name]
        assert Location.objects.filter(pk=device.location_id).exists()

    def test_deleting_a_location_with_children_is_a_409(self, api):
        site = make_site()
        response = api.delete(f"{LOCATIONS}{site.parent_id}/")
        assert response.status_code == 409
        assert Location.objects.filter(pk=site.parent_id).exists()

    def test_deleting_a_leaf_keeps_the_tree_consistent(self, api):
        site = make_site()
        metro = site.parent
        assert api.delete(f"{LOCATIONS}{site.pk}/").status_code == 204
        metro.refresh_from_db()
        assert metro.rght == metro.lft + 1
        assert ids(api.get(LOCATIONS, {"ancestor_id": metro.parent_id})) == {metro.pk}

    def test_invalid_tree_filter_value_is_a_400(self, api):
        response = api.get(LOCATIONS, {"ancestor_id": "abc"})
        assert response.status_code == 400
        assert "ancestor_id" in response.data


@pytest.mark.django_db
class TestDeviceRules:
    def device(self, location, role="core", **fields):
        return {"name": f"dev-{next_number()}", "location": location.pk, "role": device_role(role).pk,
                "device_type": make_device_type().pk, **fields}

    @pytest.mark.parametrize("kind", ["country", "metro"])
    def test_device_must_be_at_a_site_building_or_zone(self, api, kind):
        location = make_location(kind)
        response = api.post(DEVICES, self.device(location), format="json")
        assert response.status_code == 400, response.data
        assert response.data["location"] == [f"A device must be at a site, building or zone, not in a {kind}."]
        assert not Device.objects.exists()

    @pytest.mark.parametrize("kind", ["building", "zone"])
    def test_device_in_a_building_or_zone(self, api, kind):
        location = make_location(kind, parent=make_site())
        response = api.post(DEVICES, self.device(location), format="json")
        assert response.status_code == 201, response.data

    def test_moving_a_device_to_a_metro_is_refused(self, api):
        device = make_device()
        response = api.patch(f"{DEVICES}{device.pk}/", {"location": device.location.parent_id}, format="json")
        assert response.status_code == 400
        assert "location" in response.data
        device.refresh_from_db()
        assert device.location.kind == "site"

    def test_duplicate_name_at_a_location(self, api):
        device = make_device()
        response = api.post(DEVICES, self.device(device.location, name=device.name, role="edge"), format="json")
        assert response.status_code == 400, response.data
        assert response.data["name"] == ["A device with this name already exists at this location."]
        assert Device.objects.count() == 1

    def test_same_name_at_another_location(self, api):
        device = make_device()
        response = api.post(DEVICES, self.device(make_site(), name=device.name), format="json")
        assert response.status_code == 201, response.data

    def test_duplicate_role_and_index_at_a_location(self, api):
        device = make_device(index=1)
        response = api.post(DEVICES, self.device(device.location, index=1), format="json")
        assert response.status_code == 400, response.data
        assert response.data["index"] == ["A device with this role and index already exists at this location."]
        assert Device.objects.count() == 1

    def test_index_is_optional_and_may_repeat_when_empty(self, api):
        site = make_site()
        for _ in range(2):
            response = api.post(DEVICES, self.device(site), format="json")
            assert response.status_code == 201, response.data
            assert response.data["index"] is None
        response = api.post(DEVICES, self.device(site, index=1, role="edge"), format="json")
        assert response.status_code == 201, response.data

    def test_renaming_onto_a_sibling_is_refused(self, api):
        first = make_device()
        second = make_device(first.location)
        response = api.patch(f"{DEVICES}{second.pk}/", {"name": first.name}, format="json")
        assert response.status_code == 400
        assert "name" in response.data
        response = api.patch(f"{DEVICES}{second.pk}/", {"name": second.name, "status": "staged"}, format="json")
        assert response.status_code == 200, response.data

    def test_bad_choices_and_unknown_ids(self, api):
        site = make_site()
        response = api.post(DEVICES, {**self.device(site, status="broken", tenant=999999), "role": 999999,
                                      "device_type": 999999}, format="json")
        assert response.status_code == 400
        assert set(response.data) == {"role", "status", "device_type", "tenant"}
        response = api.post(DEVICES, {"name": "x", "location": 999999, "role": device_role().pk,
                                      "device_type": make_device_type().pk}, format="json")
        assert response.status_code == 400
        assert "location" in response.data
        assert not Device.objects.exists()

    def test_negative_index(self, api):
        response = api.post(DEVICES, self.device(make_site(), index=-1), format="json")
        assert response.status_code == 400
        assert "index" in response.data

    def test_required_fields(self, api):
        response = api.post(DEVICES, {}, format="json")
        assert response.status_code == 400
        assert {"name", "role", "device_type"} <= set(response.data)

    def test_deleting_a_device_deletes_its_interfaces(self, api):
        interface = make_interface()
        assert api.delete(f"{DEVICES}{interface.device_id}/").status_code == 204
        assert not Interface.objects.filter(pk=interface.pk).exists()


@pytest.mark.django_db
class TestInterfaceRules:
    def test_layer_3_has_no_mode(self, api):
        device = make_device()
        response = api.post(INTERFACES, {"device": device.pk, "name": "Loopback0", "layer": 3, "mode": "tagged"},
                            format="json")
        assert response.status_code == 400
        assert response.data["mode"] == ["A layer-3 interface has no switching mode."]
        assert not Interface.objects.exists()

    def test_switching_to_layer_3_keeps_the_mode_rule(self, api):
        interface = make_interface(mode="access")
        response = api.patch(f"{INTERFACES}{interface.pk}/", {"layer": 3}, format="json")
        assert response.status_code == 400
        assert "mode" in response.data
        response = api.patch(f"{INTERFACES}{interface.pk}/", {"layer": 3, "mode": ""}, format="json")
        assert response.status_code == 200, response.data
        interface.refresh_from_db()
        assert (interface.layer, interface.mode) == (3, "")

    def test_duplicate_name_on_a_device(self, api):
        interface = make_interface()
        response = api.post(INTERFACES, {"device": interface.device_id, "name": interface.name}, format="json")
        assert response.status_code == 400, response.data
        assert response.data["name"] == ["This device already has an interface with this name."]
        assert Interface.objects.count() == 1

    def test_same_name_on_another_device(self, api):
        interface = make_interface()
        response = api.post(INTERFACES, {"device": make_device().pk, "name": interface.name}, format="json")
        assert response.status_code == 201, response.data

    def test_bad_choices_negative_speed_and_unknown_ids(self, api):
        response = api.post(INTERFACES, {"device": 999999, "name": "x", "type": "warp-drive", "layer": 4,
                                         "role": "wan", "status": "up", "mode": "trunk", "speed": -1,
                                         "untagged_vlan": 999999, "tagged_vlans": [999999]}, format="json")
        assert response.status_code == 400
        assert set(response.data) == {"device", "type", "layer", "role", "status", "mode", "speed", "untagged_vlan",
                                      "tagged_vlans"}
        assert not Interface.objects.exists()

    def test_tagged_vlans_must_be_a_list(self, api):
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "x", "mode": "tagged",
                                         "tagged_vlans": 5}, format="json")
        assert response.status_code == 400
        assert "tagged_vlans" in response.data

    def test_moving_to_another_device(self, api):
        interface = make_interface()
        other = make_device()
        response = api.patch(f"{INTERFACES}{interface.pk}/", {"device": other.pk}, format="json")
        assert response.status_code == 200, response.data
        assert response.data["display"] == f"{other.name} {interface.name}"


@pytest.mark.django_db
def test_build_the_tree_through_the_api(api):
    """tenant -> country -> metro -> site -> device -> interface, then read it back through the filters."""

    def post(url, payload):
        response = api.post(url, payload, format="json")
        assert response.status_code == 201, (url, response.data)
        return response.data

    tenant = post("/api/tenancy/tenants/", {"name": "Acme", "slug": "acme"})
    country = post(LOCATIONS, {"name": "France", "slug": "fr", "kind": "country", "tenant": tenant["id"]})
    metro = post(LOCATIONS, {"name": "Paris", "slug": "paris", "kind": "metro", "parent": country["id"]})
    site = post(LOCATIONS, {"name": "Paris 1", "slug": "paris-1", "kind": "site", "parent": metro["id"]})
    maker = post("/api/dcim/manufacturers/", {"name": "Arista", "slug": "arista"})
    device_type = post("/api/dcim/device-types/", {"manufacturer": maker["id"], "model": "7050SX3", "slug": "7050sx3"})
    role = post("/api/dcim/device-roles/", {"name": "Aggregation", "slug": "aggregation", "color": "ff9800"})
    device = post(DEVICES, {"name": "par1-core1", "location": site["id"], "role": role["id"], "index": 1,
                            "device_type": device_type["id"], "tenant": tenant["id"]})
    interface = post(INTERFACES, {"device": device["id"], "name": "Ethernet1", "role": "customer", "speed": 10000})

    assert site["depth"] == 2
    assert site["parent"] == {"id": metro["id"], "url": metro["url"], "display": "Paris", "name": "Paris",
                              "slug": "paris", "kind": {"value": "metro", "label": "Metro"}}
    assert device["location"]["id"] == site["id"]
    assert device["device_type"]["manufacturer"]["name"] == "Arista"
    assert device["site"]["id"] == site["id"]
    assert device["tenant"]["name"] == "Acme"
    assert interface["display"] == "par1-core1 Ethernet1"
    assert interface["device"] == {"id": device["id"], "url": device["url"], "display": "par1-core1",
                                   "name": "par1-core1"}
    assert choice_value(interface["status"]) == "free"
    assert choice_value(interface["layer"]) == 2
    assert interface["enabled"] is True

    assert ids(api.get(LOCATIONS, {"ancestor_id": country["id"]})) == {metro["id"], site["id"]}
    assert ids(api.get(DEVICES, {"location_id": country["id"]})) == {device["id"]}
    assert ids(api.get(INTERFACES, {"location_id": metro["id"]})) == {interface["id"]}
    assert ids(api.get(INTERFACES, {"tenant_id": tenant["id"]})) == {interface["id"]}
    stored = Interface.objects.select_related("device__location__parent__parent").get(pk=interface["id"])
    assert stored.device.location.parent.parent.tenant.slug == "acme"

    # The tree holds: nothing can be deleted while something depends on it.
    assert api.delete(f"{LOCATIONS}{site['id']}/").status_code == 409
    assert api.delete(f"/api/tenancy/tenants/{tenant['id']}/").status_code == 409


# -- interfaces and VLANs (ipam's VLAN serializer gives their brief representation) -----------------


@pytest.mark.django_db
class TestInterfaceVLANs:
    def test_access_port_with_untagged_vlan(self, api):
        vlan = make_vlan()
        device = make_device()
        response = api.post(INTERFACES, {"device": device.pk, "name": "Ethernet1", "mode": "access",
                                         "untagged_vlan": vlan.pk}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["untagged_vlan"]["id"] == vlan.pk
        assert response.data["untagged_vlan"]["display"] == str(vlan)
        assert Interface.objects.get(pk=response.data["id"]).untagged_vlan == vlan

    def test_untagged_vlan_needs_a_mode_on_layer_2(self, api):
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "Ethernet1",
                                         "untagged_vlan": make_vlan().pk}, format="json")
        assert response.status_code == 400
        assert "mode" in response.data

    def test_vlan_interface_on_layer_3(self, api):
        vlan = make_vlan()
        response = api.post(INTERFACES, {"device": make_device().pk, "name": f"vlan_{vlan.vid}", "layer": 3,
                                         "untagged_vlan": vlan.pk}, format="json")
        assert response.status_code == 201, response.data

    def test_tagged_vlans_written_by_id_and_read_brief(self, api):
        first, second = make_vlan(), make_vlan()
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "Ethernet1", "mode": "tagged",
                                         "untagged_vlan": first.pk, "tagged_vlans": [first.pk, {"id": second.pk}]},
                            format="json")
        assert response.status_code == 201, response.data
        assert {vlan["id"] for vlan in response.data["tagged_vlans"]} == {first.pk, second.pk}
        assert all(vlan["display"] for vlan in response.data["tagged_vlans"])
        interface = Interface.objects.get(pk=response.data["id"])
        assert set(interface.tagged_vlans.all()) == {first, second}

        response = api.patch(f"{INTERFACES}{interface.pk}/", {"tagged_vlans": [second.pk]}, format="json")
        assert response.status_code == 200, response.data
        assert [vlan["id"] for vlan in response.data["tagged_vlans"]] == [second.pk]
        assert list(interface.tagged_vlans.all()) == [second]

        response = api.patch(f"{INTERFACES}{interface.pk}/", {"description": "kept"}, format="json")
        assert response.status_code == 200
        assert list(interface.tagged_vlans.all()) == [second]

        response = api.patch(f"{INTERFACES}{interface.pk}/", {"tagged_vlans": []}, format="json")
        assert response.status_code == 200
        assert not interface.tagged_vlans.exists()

    @pytest.mark.parametrize("mode", ["access", ""])
    def test_tagged_vlans_need_tagged_mode(self, api, mode):
        vlan = make_vlan()
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "Ethernet1", "mode": mode,
                                         "tagged_vlans": [vlan.pk]}, format="json")
        assert response.status_code == 400, response.data
        assert response.data["tagged_vlans"] == ["Only an interface in tagged mode can carry tagged VLANs."]
        assert not Interface.objects.exists()

    def test_tagged_vlans_and_another_error_are_reported_together(self, api):
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "Loopback0", "layer": 3,
                                         "mode": "access", "tagged_vlans": [make_vlan().pk]}, format="json")
        assert response.status_code == 400
        assert {"mode", "tagged_vlans"} <= set(response.data)

    def test_leaving_tagged_mode_with_tagged_vlans_is_refused(self, api):
        interface = make_interface(mode="tagged")
        vlan = make_vlan()
        interface.tagged_vlans.add(vlan)
        response = api.patch(f"{INTERFACES}{interface.pk}/", {"mode": "access"}, format="json")
        assert response.status_code == 400
        assert "tagged_vlans" in response.data
        response = api.patch(f"{INTERFACES}{interface.pk}/", {"mode": "access", "tagged_vlans": []}, format="json")
        assert response.status_code == 200, response.data
        interface.refresh_from_db()
        assert interface.mode == "access"
        assert not interface.tagged_vlans.exists()

    def test_bulk_create_with_tagged_vlans_is_all_or_none(self, api):
        vlan = make_vlan()
        device = make_device()
        good = {"device": device.pk, "name": "Ethernet1", "mode": "tagged", "tagged_vlans": [vlan.pk]}
        bad = {"device": device.pk, "name": "Ethernet2", "mode": "access", "tagged_vlans": [vlan.pk]}
        response = api.post(INTERFACES, [good, bad], format="json")
        assert response.status_code == 400
        assert "tagged_vlans" in response.data[1]
        assert not Interface.objects.exists()
        response = api.post(INTERFACES, [good, {**bad, "mode": "tagged"}], format="json")
        assert response.status_code == 201, response.data
        assert vlan.tagged_interfaces.count() == 2

    def test_deleting_a_vlan_clears_the_untagged_vlan(self, api):
        vlan = make_vlan()
        interface = make_interface(mode="access", untagged_vlan=vlan)
        vlan.delete()
        interface.refresh_from_db()
        assert interface.untagged_vlan is None

    def test_filter_by_untagged_vlan(self, api):
        vlan, other = make_vlan(), make_vlan()
        device = make_device()
        first = make_interface(device, mode="access", untagged_vlan=vlan)
        second = make_interface(device, mode="access", untagged_vlan=other)
        make_interface(device)
        assert ids(api.get(INTERFACES, {"untagged_vlan_id": vlan.pk})) == {first.pk}
        assert ids(api.get(INTERFACES, {"untagged_vlan_id": [vlan.pk, other.pk]})) == {first.pk, second.pk}
        # An id that does not exist matches nothing, exactly like one the caller may not see.
        response = api.get(INTERFACES, {"untagged_vlan_id": 999999})
        assert response.status_code == 200
        assert response.data["count"] == 0
        response = api.get(INTERFACES, {"untagged_vlan_id": "abc"})
        assert response.status_code == 400
        assert "untagged_vlan_id" in response.data

    def test_list_with_vlans_stays_flat(self, api, django_assert_num_queries):
        device = make_device()

        def add_interfaces(count):
            for _ in range(count):
                interface = make_interface(device, mode="tagged", untagged_vlan=make_vlan())
                interface.tagged_vlans.set([make_vlan(), make_vlan()])

        add_interfaces(2)
        api.get(INTERFACES)
        with django_assert_num_queries(TestInterfaceAPI.list_queries):
            response = api.get(INTERFACES)
        assert all(len(row["tagged_vlans"]) == 2 for row in response.data["results"])
        add_interfaces(5)
        with django_assert_num_queries(TestInterfaceAPI.list_queries):
            response = api.get(INTERFACES)
        assert response.data["count"] == 7
        assert all(row["untagged_vlan"]["id"] for row in response.data["results"])
