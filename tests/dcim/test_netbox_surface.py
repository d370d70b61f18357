"""NetBox's dcim names over our models: device types and roles as objects, sites and regions as views of the
location tree, ``site`` on devices, interface types, and the migration that turned role names into objects.
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from catalog_site.models import Token
from dcim import selectors
from dcim.models import Device, DeviceRole, DeviceType, Interface, Location
from demo.inventory import load_inventory
from tenancy.models import Membership
from tests.api_mixins import APIViewTests, choice_value, next_number

from .factories import (
    device_role,
    make_device,
    make_device_role,
    make_device_type,
    make_interface,
    make_location,
    make_manufacturer,
    make_site,
    make_tenant,
)

SITES = "/api/dcim/sites/"
REGIONS = "/api/dcim/regions/"
DEVICES = "/api/dcim/devices/"
DEVICE_TYPES = "/api/dcim/device-types/"
DEVICE_ROLES = "/api/dcim/device-roles/"
INTERFACES = "/api/dcim/interfaces/"


def ids(response):
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


# -- the generic checks of each new endpoint ---------------------------------------------------------


class TestDeviceTypeAPI(APIViewTests):
    url_name = "dcim-api:devicetype"
    model = DeviceType
    brief_fields = ("id", "url", "display", "manufacturer", "model", "slug")
    list_queries = 3  # token, count, page joined to the manufacturer

    def make_objects(self, count):
        maker = make_manufacturer()
        return [make_device_type(maker) for _ in range(count)]

    def create_data(self):
        maker = make_manufacturer()
        n = next_number()
        return [
            {"manufacturer": maker.pk, "model": f"7050SX3-{n}", "slug": f"7050sx3-{n}", "part_number": "DCS-7050SX3"},
            {"manufacturer": {"id": maker.pk}, "model": f"MX204-{n}", "slug": f"mx204-{n}", "u_height": 1.5},
            {"manufacturer": maker.pk, "model": f"7280R3-{n}", "slug": f"7280r3-{n}", "is_full_depth": False},
        ]

    def invalid_data(self):
        return {"manufacturer": make_manufacturer().pk, "model": "x", "slug": "x", "u_height": -1}, "u_height"

    def update_data(self):
        return {"part_number": "PN-2", "description": "renamed"}

    def filter_cases(self, objects):
        first, second, _ = objects
        other = make_device_type(part_number="XYZ-9")
        return [
            ({"model": first.model}, [first.pk]),
            ({"slug": second.slug}, [second.pk]),
            ({"part_number": "XYZ-9"}, [other.pk]),
            ({"manufacturer_id": first.manufacturer_id}, [obj.pk for obj in objects]),
            ({"manufacturer": other.manufacturer.slug}, [other.pk]),
            ({"q": "xyz-9"}, [other.pk]),
            ({"q": other.manufacturer.name}, [other.pk]),
        ]

    def test_u_height_reads_as_a_number(self, api):
        device_type = make_device_type(u_height=Decimal("2.5"))
        data = api.get(self.detail_url(device_type)).data
        assert data["u_height"] == Decimal("2.5")
        assert api.get(self.detail_url(device_type)).json()["u_height"] == 2.5

    def test_model_and_slug_are_unique_per_manufacturer(self, api):
        device_type = make_device_type()
        response = api.post(self.list_url(), {"manufacturer": device_type.manufacturer_id, "model": device_type.model,
                                              "slug": device_type.slug}, format="json")
        assert response.status_code == 400
        assert set(response.data) == {"model", "slug"}
        response = api.post(self.list_url(), {"manufacturer": make_manufacturer().pk, "model": device_type.model,
                                              "slug": device_type.slug}, format="json")
        assert response.status_code == 201, response.data

    def test_a_device_type_in_use_cannot_be_deleted(self, api):
        device = make_device(device_type=make_device_type())
        response = api.delete(self.detail_url(device.device_type))
        assert response.status_code == 409
        assert DeviceType.objects.filter(pk=device.device_type_id).exists()


class TestDeviceRoleAPI(APIViewTests):
    url_name = "dcim-api:devicerole"
    model = DeviceRole
    brief_fields = ("id", "url", "display", "name", "slug")
    list_queries = 3  # token, count, page

    def make_objects(self, count):
        return [make_device_role() for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [
            {"name": f"Aggregation {n}", "slug": f"aggregation-{n}", "color": "ff9800"},
            {"name": f"Firewall {n}", "slug": f"firewall-{n}", "description": "stateful"},
            {"name": f"Access {n}", "slug": f"access-{n}", "color": "00ff00"},
        ]

    def invalid_data(self):
        return {"name": f"Red {next_number()}", "slug": f"red-{next_number()}", "color": "#ff0000"}, "color"

    def update_data(self):
        return {"color": "aa1409", "description": "routers at the edge"}

    def filter_cases(self, objects):
        first, second, _ = objects
        red = make_device_role(color="aa1409")
        return [
            ({"name": first.name}, [first.pk]),
            ({"slug": second.slug}, [second.pk]),
            ({"color": "aa1409"}, [red.pk]),
            ({"q": red.slug}, [red.pk]),
        ]

    def test_a_role_in_use_cannot_be_deleted(self, api):
        device = make_device(role=make_device_role())
        response = api.delete(self.detail_url(device.role))
        assert response.status_code == 409
        assert DeviceRole.objects.filter(pk=device.role_id).exists()


class TestSiteAPI(APIViewTests):
    url_name = "dcim-api:site"
    model = Location
    brief_fields = ("id", "url", "display", "name", "slug")
    list_queries = 3  # token, count, page joined to the parent (the region) and the tenant

    def listed_rows(self):
        return selectors.sites()

    def make_objects(self, count):
        metro = make_location("metro", parent=make_location("country"), tenant=make_tenant())
        return [make_location("site", parent=metro, tenant=metro.tenant) for _ in range(count)]

    def create_data(self):
        country = make_location("country")
        metro = make_location("metro", parent=country)
        n = next_number()
        return [
            {"name": f"Paris {n}", "slug": f"paris-{n}", "region": metro.pk, "status": "planned"},
            {"name": f"Lyon {n}", "slug": f"lyon-{n}", "region": {"id": country.pk}, "tenant": make_tenant().pk},
            {"name": f"Nowhere {n}", "slug": f"nowhere-{n}", "description": "no region"},
        ]

    def invalid_data(self):
        return {"name": "Mars 1", "slug": f"mars-{next_number()}", "region": make_site().pk}, "region"

    def update_data(self):
        return {"status": "decommissioning", "description": "closing"}

    def filter_cases(self, objects):
        first, second, third = objects
        metro = first.parent
        country = metro.parent
        sub_tenant = make_tenant(parent=metro.tenant)
        elsewhere = make_site(tenant=sub_tenant)
        retired = make_location("site", parent=make_location("metro", parent=country))
        retired.status = "retired"
        retired.save()
        return [
            ({"name": first.name}, [first.pk]),
            ({"slug": second.slug}, [second.pk]),
            ({"status": "retired"}, [retired.pk]),
            ({"region_id": metro.pk}, [first.pk, second.pk, third.pk]),
            ({"region_id": country.pk}, [first.pk, second.pk, third.pk, retired.pk]),
            ({"region": elsewhere.parent.slug}, [elsewhere.pk]),
            ({"region_id": [metro.pk, elsewhere.parent_id]}, [first.pk, second.pk, third.pk, elsewhere.pk]),
            ({"tenant_id": metro.tenant_id}, [first.pk, second.pk, third.pk, elsewhere.pk]),
            ({"tenant_id": sub_tenant.pk}, [elsewhere.pk]),
            ({"tenant": sub_tenant.slug}, [elsewhere.pk]),
            ({"q": third.slug}, [third.pk]),
        ]


class TestRegionAPI(APIViewTests):
    url_name = "dcim-api:region"
    model = Location
    brief_fields = ("id", "url", "display", "name", "slug")
    list_queries = 3  # token, count, page joined to the parent and the tenant

    def listed_rows(self):
        return selectors.regions()

    def make_objects(self, count):
        country = make_location("country", tenant=make_tenant())
        return [country] + [make_location("metro", parent=country, tenant=country.tenant) for _ in range(count - 1)]

    def create_data(self):
        country = make_location("country")
        n = next_number()
        return [
            {"name": f"Belgium {n}", "slug": f"be-{n}"},
            {"name": f"Brussels {n}", "slug": f"bru-{n}", "parent": country.pk},
            {"name": f"Greater London {n}", "slug": f"lon-{n}", "kind": "metro", "tenant": make_tenant().pk},
        ]

    def invalid_data(self):
        return {"name": "Inner", "slug": f"inner-{next_number()}", "parent": make_location("metro").pk}, "parent"

    def update_data(self):
        return {"description": "Western Europe", "name": "Renamed region"}

    def filter_cases(self, objects):
        country, metro, other_metro = objects
        other_country = make_location("country")
        far_metro = make_location("metro", parent=other_country)
        make_location("site", parent=metro)  # never a region
        return [
            ({"name": metro.name}, [metro.pk]),
            ({"slug": country.slug}, [country.pk]),
            ({"kind": "country"}, [country.pk, other_country.pk]),
            ({"parent_id": country.pk}, [metro.pk, other_metro.pk]),
            ({"parent": other_country.slug}, [far_metro.pk]),
            ({"ancestor_id": country.pk}, [metro.pk, other_metro.pk]),
            ({"ancestor": other_country.slug}, [far_metro.pk]),
            ({"tenant_id": country.tenant_id}, [country.pk, metro.pk, other_metro.pk]),
            ({"q": far_metro.slug}, [far_metro.pk]),
        ]


# -- sites and regions are the location tree ---------------------------------------------------------


@pytest.mark.django_db
class TestSitesAndRegions:
    def test_a_site_posted_under_a_region_is_a_site_location_under_it(self, api):
        metro = make_location("metro", parent=make_location("country"))
        response = api.post(SITES, {"name": "Paris 9", "slug": "par9", "region": metro.pk, "status": "planned"},
                            format="json")
        assert response.status_code == 201, response.data
        site = Location.objects.get(pk=response.data["id"])
        assert (site.kind, site.parent, site.status) == ("site", metro, "planned")
        assert response.data["url"].endswith(f"{SITES}{site.pk}/")
        assert response.data["region"]["id"] == metro.pk
        assert response.data["region"]["url"].endswith(f"{REGIONS}{metro.pk}/")
        assert choice_value(response.data["status"]) == "planned"
        location = api.get(f"/api/dcim/locations/{site.pk}/").data  # one row, two names
        assert (choice_value(location["kind"]), location["parent"]["id"]) == ("site", metro.pk)

    def test_a_site_cannot_sit_under_a_site_or_a_building(self, api):
        site = make_site()
        for parent in (site, make_location("building", parent=site)):
            response = api.post(SITES, {"name": "Inner", "slug": f"inner-{parent.pk}", "region": parent.pk},
                                format="json")
            assert response.status_code == 400
            assert "region" in response.data
        assert not Location.objects.filter(name="Inner").exists()

    def test_moving_a_site_to_another_region(self, api):
        site = make_site()
        other = make_location("metro", parent=make_location("country"))
        response = api.patch(f"{SITES}{site.pk}/", {"region": other.pk}, format="json")
        assert response.status_code == 200, response.data
        site.refresh_from_db()
        assert (site.parent, site.kind) == (other, "site")
        assert ids(api.get(SITES, {"region_id": other.parent_id})) == {site.pk}
        response = api.patch(f"{SITES}{site.pk}/", {"region": None}, format="json")
        assert response.status_code == 200, response.data
        site.refresh_from_db()
        assert site.parent is None and site.kind == "site"

    def test_kind_is_not_a_field_of_a_site(self, api):
        site = make_site()
        response = api.patch(f"{SITES}{site.pk}/", {"kind": "metro"}, format="json")
        assert response.status_code == 400
        assert "kind" in response.data
        site.refresh_from_db()
        assert site.kind == "site"

    def test_each_name_answers_only_its_own_kinds(self, api):
        site = make_site()
        metro = site.parent
        building = make_location("building", parent=site)
        assert api.get(f"{SITES}{metro.pk}/").status_code == 404
        assert api.get(f"{SITES}{building.pk}/").status_code == 404
        assert api.get(f"{REGIONS}{site.pk}/").status_code == 404
        assert api.get(f"{REGIONS}{metro.pk}/").status_code == 200
        assert api.delete(f"{SITES}{metro.pk}/").status_code == 404
        assert Location.objects.filter(pk=metro.pk).exists()
        assert site.pk in ids(api.get(SITES)) and building.pk not in ids(api.get(SITES))
        assert ids(api.get(REGIONS)) == {metro.pk, metro.parent_id}

    def test_deleting_a_site(self, api):
        site = make_site()
        assert api.delete(f"{SITES}{site.pk}/").status_code == 204
        assert not Location.objects.filter(pk=site.pk).exists()
        with_device = make_device().location
        assert api.delete(f"{SITES}{with_device.pk}/").status_code == 409

    def test_regions_nest(self, api):
        country = api.post(REGIONS, {"name": "France", "slug": "fr"}, format="json").data
        metro = api.post(REGIONS, {"name": "Paris", "slug": "par", "parent": country["id"]}, format="json").data
        assert (choice_value(country["kind"]), country["_depth"]) == ("country", 0)
        assert (choice_value(metro["kind"]), metro["_depth"], metro["parent"]["id"]) == ("metro", 1, country["id"])
        assert set(metro["parent"]) == {"id", "url", "display", "name", "slug"}
        inner = api.post(REGIONS, {"name": "Inner Paris", "slug": "inner", "parent": metro["id"]}, format="json")
        assert inner.status_code == 400
        assert inner.data["parent"] == ["A metro cannot contain a metro."]
        site = api.post(SITES, {"name": "Paris 1", "slug": "par1", "region": metro["id"]}, format="json").data
        assert ids(api.get(REGIONS, {"parent_id": country["id"]})) == {metro["id"]}
        assert ids(api.get(SITES, {"region_id": country["id"]})) == {site["id"]}
        assert ids(api.get(SITES, {"region": "par"})) == {site["id"]}

    def test_a_region_keeps_its_kind_when_moved(self, api):
        metro = make_location("metro")
        country = make_location("country")
        response = api.patch(f"{REGIONS}{metro.pk}/", {"parent": country.pk}, format="json")
        assert response.status_code == 200, response.data
        assert (choice_value(response.data["kind"]), response.data["parent"]["id"]) == ("metro", country.pk)
        response = api.patch(f"{REGIONS}{country.pk}/", {"parent": make_location("country").pk}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data

    def test_a_region_is_never_a_site(self, api):
        response = api.post(REGIONS, {"name": "x", "slug": "x", "kind": "site"}, format="json")
        assert response.status_code == 400
        assert "kind" in response.data
        metro = make_location("metro")
        response = api.patch(f"{REGIONS}{metro.pk}/", {"kind": "building"}, format="json")
        assert response.status_code == 400
        assert "kind" in response.data

    def test_the_list_of_sites_stays_flat(self, api, django_assert_num_queries):
        metro = make_location("metro")
        for _ in range(3):
            make_location("site", parent=metro)
        api.get(SITES)
        with django_assert_num_queries(TestSiteAPI.list_queries):
            assert api.get(SITES).data["count"] == 3


@pytest.mark.django_db
class TestTreeIsolation:
    """Another tenant's regions and sites never show, not even as the region of a site one may see."""

    @pytest.fixture
    def world(self):
        alpha, bravo = make_tenant(), make_tenant()
        country = make_location("country")
        bravo_metro = make_location("metro", parent=country, tenant=bravo, name="Bravo secret metro")
        return {
            "alpha": alpha, "bravo": bravo, "country": country, "bravo_metro": bravo_metro,
            "bravo_site": make_location("site", parent=bravo_metro, tenant=bravo, name="Bravo secret site"),
            # Shared infrastructure inside Bravo's metro: visible, but its region is not.
            "shared_site": make_location("site", parent=bravo_metro, name="Shared site"),
            "alpha_site": make_location("site", parent=country, tenant=alpha),
        }

    @pytest.fixture
    def alpha_api(self, world):
        user = get_user_model().objects.create_user(f"alpha-{next_number()}")
        Membership.objects.create(user=user, tenant=world["alpha"], role=Membership.Role.EDITOR)
        return client_of(user)

    def test_lists_details_and_filters(self, world, alpha_api):
        assert ids(alpha_api.get(REGIONS)) == {world["country"].pk}
        assert ids(alpha_api.get(SITES)) == {world["shared_site"].pk, world["alpha_site"].pk}
        assert alpha_api.get(f"{REGIONS}{world['bravo_metro'].pk}/").status_code == 404
        assert alpha_api.get(f"{SITES}{world['bravo_site'].pk}/").status_code == 404
        # A hidden region matches nothing, as one without sites would: no 400 that would tell it exists.
        assert ids(alpha_api.get(SITES, {"region_id": world["bravo_metro"].pk})) == set()
        assert ids(alpha_api.get(SITES, {"region": world["bravo_metro"].slug})) == set()
        assert ids(alpha_api.get(REGIONS, {"parent_id": world["country"].pk})) == set()
        everything = alpha_api.get(SITES, {"limit": 1000}).content.decode() + alpha_api.get(REGIONS).content.decode()
        assert "secret" not in everything

    def test_a_visible_site_in_a_hidden_region_reads_no_region(self, world, alpha_api):
        response = alpha_api.get(f"{SITES}{world['shared_site'].pk}/")
        assert response.status_code == 200
        assert response.data["region"] is None
        device = make_device(world["shared_site"], tenant=world["alpha"])
        data = alpha_api.get(f"{DEVICES}{device.pk}/").data
        assert data["site"]["id"] == world["shared_site"].pk

    def test_a_device_in_a_hidden_site_reads_no_site(self, world, alpha_api):
        device = make_device(world["bravo_site"], tenant=world["alpha"])
        data = alpha_api.get(f"{DEVICES}{device.pk}/").data
        assert data["site"] is None and data["location"] is None
        assert "secret" not in alpha_api.get(f"{DEVICES}{device.pk}/").content.decode()

    def test_writes_cannot_reach_a_hidden_region(self, world, alpha_api):
        response = alpha_api.post(SITES, {"name": "Mine", "slug": "mine", "region": world["bravo_metro"].pk,
                                          "tenant": world["alpha"].pk}, format="json")
        assert response.status_code == 400
        assert "region" in response.data
        response = alpha_api.post(REGIONS, {"name": "Mine", "slug": "mine", "parent": world["bravo_metro"].pk,
                                            "tenant": world["alpha"].pk}, format="json")
        assert response.status_code == 400
        assert "parent" in response.data
        response = alpha_api.patch(f"{SITES}{world['alpha_site'].pk}/", {"region": world["bravo_metro"].pk},
                                   format="json")
        assert response.status_code == 400
        assert not Location.objects.filter(slug="mine").exists()

    def test_a_member_writes_sites_of_their_tenant_only(self, world, alpha_api):
        response = alpha_api.post(SITES, {"name": "Alpha 2", "slug": "alpha-2", "region": world["country"].pk,
                                          "tenant": world["alpha"].pk}, format="json")
        assert response.status_code == 201, response.data
        response = alpha_api.post(SITES, {"name": "Bravo 2", "slug": "bravo-2", "tenant": world["bravo"].pk},
                                  format="json")
        assert response.status_code == 400
        assert "tenant" in response.data
        # A shared site (no tenant) needs the model permission, as a shared location does.
        response = alpha_api.post(SITES, {"name": "Shared 2", "slug": "shared-2"}, format="json")
        assert response.status_code == 403


# -- devices: role and type objects, site -------------------------------------------------------------


@pytest.mark.django_db
class TestDeviceSite:
    def payload(self, **fields):
        return {"name": f"dev-{next_number()}", "role": device_role().pk, "device_type": make_device_type().pk,
                **fields}

    def test_a_device_created_with_a_site_stands_at_the_site(self, api):
        site = make_site()
        response = api.post(DEVICES, self.payload(site=site.pk), format="json")
        assert response.status_code == 201, response.data
        assert response.data["location"]["id"] == site.pk
        assert response.data["site"]["id"] == site.pk
        assert Device.objects.get(pk=response.data["id"]).location == site

    def test_a_location_in_another_site_is_refused(self, api):
        site, other = make_site(), make_site()
        building = make_location("building", parent=site)
        response = api.post(DEVICES, self.payload(site=site.pk, location=building.pk), format="json")
        assert response.status_code == 201, response.data
        assert response.data["site"]["id"] == site.pk
        response = api.post(DEVICES, self.payload(site=other.pk, location=building.pk), format="json")
        assert response.status_code == 400
        assert "site" in response.data

    def test_site_is_not_a_region_or_building(self, api):
        site = make_site()
        for location in (site.parent, make_location("building", parent=site)):
            response = api.post(DEVICES, self.payload(site=location.pk), format="json")
            assert response.status_code == 400
            assert "site" in response.data

    def test_a_device_needs_a_location_or_a_site(self, api):
        response = api.post(DEVICES, self.payload(), format="json")
        assert response.status_code == 400
        assert "location" in response.data

    def test_writing_the_site_keeps_a_device_inside_it_in_place(self, api):
        site = make_site()
        building = make_location("building", parent=site)
        device = make_device(building)
        response = api.patch(f"{DEVICES}{device.pk}/", {"site": site.pk}, format="json")
        assert response.status_code == 200, response.data
        device.refresh_from_db()
        assert device.location == building
        other = make_site()
        response = api.patch(f"{DEVICES}{device.pk}/", {"site": other.pk}, format="json")
        assert response.status_code == 200, response.data
        device.refresh_from_db()
        assert device.location == other

    def test_a_body_read_by_get_can_be_sent_back(self, api):
        device = make_device(make_location("zone", parent=make_location("building", parent=make_site())))
        body = api.get(f"{DEVICES}{device.pk}/", format="json").json()
        response = api.put(f"{DEVICES}{device.pk}/", body, format="json")
        assert response.status_code == 200, response.data
        device.refresh_from_db()
        assert device.location.kind == "zone"

    def test_a_device_in_a_zone_outside_any_site_has_no_site(self, api):
        zone = make_location("zone", parent=make_location("metro"))
        device = make_device(zone)
        assert api.get(f"{DEVICES}{device.pk}/").data["site"] is None

    def test_role_and_type_read_as_objects_and_are_written_by_id(self, api):
        device = make_device(role="edge")
        data = api.get(f"{DEVICES}{device.pk}/").data
        assert data["role"]["slug"] == "edge"
        assert data["device_type"]["model"] == device.device_type.model
        role = make_device_role()
        response = api.patch(f"{DEVICES}{device.pk}/", {"role": role.pk}, format="json")
        assert response.status_code == 200, response.data
        device.refresh_from_db()
        assert device.role == role
        response = api.patch(f"{DEVICES}{device.pk}/", {"role": "edge"}, format="json")
        assert response.status_code == 400
        assert "role" in response.data

    def test_the_list_of_devices_stays_flat_with_sites_above_zones(self, api, django_assert_num_queries):
        site = make_site()
        building = make_location("building", parent=site)
        for location in (site, building, make_location("zone", parent=building)):
            make_device(location, device_type=make_device_type(), role=make_device_role())
        api.get(DEVICES)
        with django_assert_num_queries(3):
            response = api.get(DEVICES)
        assert {row["site"]["id"] for row in response.data["results"]} == {site.pk}


@pytest.mark.django_db
class TestInterfaceType:
    def test_written_and_read_back(self, api):
        device = make_device()
        response = api.post(INTERFACES, {"device": device.pk, "name": "xe-0/0/0", "type": "10gbase-x-sfpp"},
                            format="json")
        assert response.status_code == 201, response.data
        assert choice_value(response.data["type"]) == "10gbase-x-sfpp"
        assert Interface.objects.get(pk=response.data["id"]).type == "10gbase-x-sfpp"

    @pytest.mark.parametrize("value", ["10GBASE-X-SFPP", "sfp+", "", None, 10])
    def test_anything_but_netbox_values_is_refused(self, api, value):
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "eth0", "type": value}, format="json")
        assert response.status_code == 400
        assert "type" in response.data

    def test_without_a_type_an_interface_is_other(self, api):
        response = api.post(INTERFACES, {"device": make_device().pk, "name": "eth0"}, format="json")
        assert response.status_code == 201, response.data
        assert choice_value(response.data["type"]) == "other"

    def test_filter_by_type(self, api):
        device = make_device()
        lag = make_interface(device, type="lag")
        sfp = make_interface(device, type="1000base-x-sfp")
        make_interface(device)
        assert ids(api.get(INTERFACES, {"type": "lag"})) == {lag.pk}
        assert ids(api.get(INTERFACES, {"type": ["lag", "1000base-x-sfp"]})) == {lag.pk, sfp.pk}
        response = api.get(INTERFACES, {"type": "warp"})
        assert response.status_code == 400
        assert "type" in response.data


# -- the demo and the migration -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_has_typed_devices_and_interfaces(api):
    load_inventory()
    switches = Device.objects.filter(role__slug="core")
    routers = Device.objects.filter(role__slug="edge")
    assert switches.count() == routers.count() == 10
    assert {device.device_type.model for device in switches} == {"7050SX3-48YC8"}
    assert {device.device_type.manufacturer.slug for device in routers} == {"juniper"}
    assert not Interface.objects.filter(type="other").exists()
    paris = Location.objects.get(slug="par1")
    assert ids(api.get(DEVICES, {"site": "par1", "role": "core"})) == set(switches.filter(location=paris)
                                                                         .values_list("pk", flat=True))
    assert api.get(SITES, {"region": "us"}).data["count"] == 3
    load_inventory()  # idempotent
    assert Device.objects.count() == 20 and DeviceType.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_role_names_into_objects_and_back():
    """Old rows (role names, manufacturer and model on the device) survive the migration, both ways."""
    try:
        check_the_migration_both_ways()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def check_the_migration_both_ways():
    before, after = [("dcim", "0003_finalizers")], [("dcim", "0006_device_role_and_type_required")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldLocation, OldDevice, OldManufacturer = (old.get_model("dcim", name) for name in
                                               ("Location", "Device", "Manufacturer"))
    site = OldLocation.objects.create(name="Old site", slug="old-site", kind="site", tree_id=1, lft=1, rght=2,
                                      level=0)
    arista = OldManufacturer.objects.create(name="Arista", slug="arista")
    rows = [("sw01", "core", arista, "7280R3"), ("sw02", "core", arista, "7280R3"), ("rb01", "edge", None, ""),
            ("odd", "Route Reflector", arista, "")]
    for name, role, manufacturer, model in rows:
        OldDevice.objects.create(name=name, location=site, role=role, manufacturer=manufacturer, model=model)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    Device_, DeviceRole_ = new.get_model("dcim", "Device"), new.get_model("dcim", "DeviceRole")
    assert set(DeviceRole_.objects.values_list("slug", flat=True)) >= {"core", "edge", "cpe", "spine", "leaf", "tor",
                                                                       "route-reflector"}
    assert DeviceRole_.objects.get(slug="core").color == "1e88e5"
    migrated = {device.name: (device.role.slug, device.device_type.manufacturer.slug, device.device_type.model)
                for device in Device_.objects.select_related("role", "device_type__manufacturer")}
    assert migrated == {
        "sw01": ("core", "arista", "7280R3"), "sw02": ("core", "arista", "7280R3"),
        "rb01": ("edge", "generic", "Unknown model"), "odd": ("route-reflector", "arista", "Unknown model"),
    }
    assert Device_.objects.get(name="sw01").device_type_id == Device_.objects.get(name="sw02").device_type_id

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    OldDevice = executor.loader.project_state(before).apps.get_model("dcim", "Device")
    restored = {device.name: (device.role, device.manufacturer_id, device.model) for device in OldDevice.objects.all()}
    assert restored == {"sw01": ("core", arista.pk, "7280R3"), "sw02": ("core", arista.pk, "7280R3"),
                        "rb01": ("edge", None, ""), "odd": ("route-reflector", arista.pk, "")}
