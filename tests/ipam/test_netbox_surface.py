"""NetBox's IPAM surface over our models (issue 10): VRFs, VLAN groups and their available VLANs, and
the NetBox fields and filters of prefixes, addresses and VLANs.

The NetBox names are views of the same rows, never copies: a VRF is a namespace, a VLAN group an
L2 domain, a site a location of kind site. Choice fields are compared with ``choice_value`` (they
may read plain or as ``{"value", "label"}``).
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog_site.models import Token
from ipam.models import DEFAULT_L2DOMAIN, DEFAULT_NAMESPACE, VLAN, IPAddress, L2Domain, Namespace, Prefix
from tenancy.models import Membership
from tests.api_mixins import APIViewTests, choice_value, next_number
from tests.dcim.factories import make_device, make_location, make_site

from .factories import make_interface, make_ip, make_l2domain, make_namespace, make_prefix, make_tenant, make_vlan

VRFS = "/api/ipam/vrfs/"
VLAN_GROUPS = "/api/ipam/vlan-groups/"
PREFIXES = "/api/ipam/prefixes/"
IP_ADDRESSES = "/api/ipam/ip-addresses/"
VLANS = "/api/ipam/vlans/"

pytestmark = pytest.mark.django_db


def ids(response) -> set[int]:
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


def member_client(tenant, role=Membership.Role.EDITOR) -> APIClient:
    user = get_user_model().objects.create_user(f"member-{next_number()}")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


def located(kind: str, site):
    """A building in ``site``, or a zone in a building of it."""
    building = make_location("building", parent=site)
    return building if kind == "building" else make_location("zone", parent=building)


# -- VRFs ----------------------------------------------------------------------------------------


class TestVRFAPI(APIViewTests):
    url_name = "ipam-api:vrf"
    model = Namespace
    brief_fields = ("id", "url", "display", "name", "rd")
    list_queries = 3  # token (with its user), count, page

    def listed_rows(self):
        return Namespace.objects.exclude(name=DEFAULT_NAMESPACE)  # "Global" is NetBox's global table, no VRF

    def make_objects(self, count):
        tenant = make_tenant()
        return [make_namespace(tenant=tenant, rd=f"65000:{next_number()}") for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [{"name": f"vrf-{n}-a"},
                {"name": f"vrf-{n}-b", "rd": f"65001:{n}", "tenant": make_tenant().pk},
                {"name": f"vrf-{n}-c", "enforce_unique": True, "description": "customer"}]

    def invalid_data(self):
        return {"name": f"vrf-{next_number()}", "enforce_unique": False}, "enforce_unique"

    def update_data(self):
        return {"name": "renamed", "rd": "65002:1", "description": "a VRF"}

    def filter_cases(self, objects):
        child = make_tenant(parent=objects[0].tenant)
        nested = make_namespace(tenant=child, description="nested one")
        return [
            ({"name": objects[1].name}, [objects[1].pk]),
            ({"rd": objects[2].rd}, [objects[2].pk]),
            ({"tenant": objects[0].tenant.slug}, [o.pk for o in objects] + [nested.pk]),
            ({"tenant_id": child.pk}, [nested.pk]),
            ({"q": objects[0].rd}, [objects[0].pk]),
            ({"q": "nested one"}, [nested.pk]),
        ]


class TestVRFs:
    def test_a_vrf_is_a_namespace_and_global_is_no_vrf(self, api):
        response = api.post(VRFS, {"name": "customer-a", "rd": "65000:100"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["enforce_unique"] is True
        namespace = Namespace.objects.get(pk=response.data["id"])
        assert (namespace.name, namespace.rd) == ("customer-a", "65000:100")
        assert api.get(f"/api/ipam/namespaces/{namespace.pk}/").data["rd"] == "65000:100"  # the same row
        global_ = Namespace.get_default()
        assert global_.pk not in ids(api.get(VRFS, {"limit": 1000}))
        assert api.get(f"{VRFS}{global_.pk}/").status_code == 404

    def test_rd_is_unique_when_set_and_optional(self, api):
        assert api.post(VRFS, {"name": "a", "rd": "65000:1"}, format="json").status_code == 201
        duplicate = api.post(VRFS, {"name": "b", "rd": "65000:1"}, format="json")
        assert duplicate.status_code == 400 and "rd" in duplicate.data
        for name in ("c", "d"):
            response = api.post(VRFS, {"name": name, "rd": ""}, format="json")
            assert response.status_code == 201, response.data
            assert response.data["rd"] is None
        assert Namespace.objects.filter(name__in=["c", "d"], rd__isnull=True).count() == 2

    def test_global_cannot_be_made_again(self, api):
        response = api.post(VRFS, {"name": DEFAULT_NAMESPACE}, format="json")
        assert response.status_code == 400 and "name" in response.data

    def test_enforce_unique_cannot_be_switched_off(self, api):
        vrf = make_namespace()
        response = api.patch(f"{VRFS}{vrf.pk}/", {"enforce_unique": False}, format="json")
        assert response.status_code == 400 and "enforce_unique" in response.data
        assert api.patch(f"{VRFS}{vrf.pk}/", {"enforce_unique": True}, format="json").status_code == 200

    def test_deleting_a_vrf_in_use_is_a_409(self, api):
        vrf = make_namespace()
        make_prefix("10.0.0.0/8", namespace=vrf)
        assert api.delete(f"{VRFS}{vrf.pk}/").status_code == 409
        assert Namespace.objects.filter(pk=vrf.pk).exists()


class TestPrefixVRF:
    def test_vrf_reads_as_a_brief_vrf_or_null_for_global(self, api):
        vrf = make_namespace(rd="65000:7")
        inside = make_prefix("10.1.0.0/16", namespace=vrf)
        global_ = make_prefix("10.1.0.0/16")
        data = api.get(f"{PREFIXES}{inside.pk}/").data
        assert data["vrf"] == {"id": vrf.pk, "url": f"http://testserver{VRFS}{vrf.pk}/", "display": vrf.name,
                               "name": vrf.name, "rd": "65000:7"}
        assert data["namespace"]["id"] == vrf.pk
        data = api.get(f"{PREFIXES}{global_.pk}/").data
        assert data["vrf"] is None
        assert data["namespace"]["name"] == DEFAULT_NAMESPACE

    def test_vrf_is_written_by_id_and_null_is_global(self, api):
        vrf = make_namespace()
        response = api.post(PREFIXES, {"prefix": "10.2.0.0/16", "vrf": vrf.pk}, format="json")
        assert response.status_code == 201, response.data
        prefix = Prefix.objects.get(pk=response.data["id"])
        assert prefix.namespace == vrf
        response = api.patch(f"{PREFIXES}{prefix.pk}/", {"vrf": None}, format="json")
        assert response.status_code == 200, response.data
        prefix.refresh_from_db()
        assert prefix.namespace.name == DEFAULT_NAMESPACE
        assert response.data["vrf"] is None

    def test_vrf_and_namespace_must_agree(self, api):
        vrf, other = make_namespace(), make_namespace()
        response = api.post(PREFIXES, {"prefix": "10.3.0.0/16", "vrf": vrf.pk, "namespace": other.pk},
                            format="json")
        assert response.status_code == 400 and "vrf" in response.data
        assert not Prefix.objects.filter(prefix="10.3.0.0/16").exists()
        response = api.post(PREFIXES, {"prefix": "10.3.0.0/16", "vrf": vrf.pk, "namespace": vrf.pk}, format="json")
        assert response.status_code == 201, response.data

    def test_unknown_vrf_is_a_400(self, api):
        response = api.post(PREFIXES, {"prefix": "10.4.0.0/16", "vrf": 999999}, format="json")
        assert response.status_code == 400 and "vrf" in response.data

    def test_a_body_read_is_sent_back_unchanged(self, api):
        site = make_site()
        for namespace in (make_namespace(), Namespace.get_default()):
            prefix = make_prefix("10.5.0.0/16", namespace=namespace, location=located("zone", site))
            read = api.get(f"{PREFIXES}{prefix.pk}/").data
            response = api.put(f"{PREFIXES}{prefix.pk}/", read, format="json")
            assert response.status_code == 200, response.data
            prefix.refresh_from_db()
            assert (prefix.namespace, prefix.location.site) == (namespace, site)

    def test_an_address_has_its_vrf_too(self, api):
        vrf = make_namespace()
        response = api.post(IP_ADDRESSES, {"address": "10.6.0.1/24", "vrf": vrf.pk}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["vrf"]["id"] == vrf.pk
        assert IPAddress.objects.get(pk=response.data["id"]).namespace == vrf
        assert api.post(IP_ADDRESSES, {"address": "10.6.0.1/24"}, format="json").data["vrf"] is None


# -- sites ---------------------------------------------------------------------------------------


class TestSites:
    def test_a_prefix_reads_the_site_of_its_location(self, api):
        site = make_site()
        cases = [(site, site), (located("building", site), site), (located("zone", site), site),
                 (site.parent, None), (None, None)]
        for location, expected in cases:
            prefix = make_prefix(f"10.{next_number() % 250}.0.0/16", namespace=make_namespace(), location=location)
            data = api.get(f"{PREFIXES}{prefix.pk}/").data
            if expected is None:
                assert data["site"] is None
            else:
                assert data["site"]["id"] == expected.pk
                assert data["site"]["slug"] == expected.slug
                assert data["site"]["url"].endswith(f"/api/dcim/sites/{expected.pk}/")

    def test_writing_a_site_places_the_prefix_there_unless_it_is_already_inside(self, api):
        site, other = make_site(), make_site()
        response = api.post(PREFIXES, {"prefix": "10.10.0.0/16", "site": site.pk}, format="json")
        assert response.status_code == 201, response.data
        prefix = Prefix.objects.get(pk=response.data["id"])
        assert prefix.location == site
        zone = located("zone", site)
        assert api.patch(f"{PREFIXES}{prefix.pk}/", {"location": zone.pk}, format="json").status_code == 200
        assert api.patch(f"{PREFIXES}{prefix.pk}/", {"site": site.pk}, format="json").status_code == 200
        prefix.refresh_from_db()
        assert prefix.location == zone  # already in the site: the zone stays
        response = api.patch(f"{PREFIXES}{prefix.pk}/", {"site": other.pk}, format="json")
        assert response.status_code == 200, response.data
        prefix.refresh_from_db()
        assert prefix.location == other
        response = api.patch(f"{PREFIXES}{prefix.pk}/", {"site": None}, format="json")
        assert response.status_code == 200, response.data
        prefix.refresh_from_db()
        assert prefix.location is None

    def test_site_and_location_must_agree(self, api):
        site, other = make_site(), make_site()
        response = api.post(PREFIXES, {"prefix": "10.11.0.0/16", "site": site.pk, "location": other.pk},
                            format="json")
        assert response.status_code == 400 and "site" in response.data
        assert not Prefix.objects.filter(prefix="10.11.0.0/16").exists()

    def test_a_site_must_be_a_site(self, api):
        metro = make_site().parent
        response = api.post(PREFIXES, {"prefix": "10.12.0.0/16", "site": metro.pk}, format="json")
        assert response.status_code == 400 and "site" in response.data

    def test_an_address_reads_the_site_of_its_device_read_only(self, api):
        site = make_site()
        interface = make_interface(make_device(location=located("building", site)))
        address = make_ip("10.13.0.1/24", interface=interface)
        data = api.get(f"{IP_ADDRESSES}{address.pk}/").data
        assert data["site"]["id"] == site.pk
        assert api.get(f"{IP_ADDRESSES}{make_ip('10.13.0.2/24').pk}/").data["site"] is None
        response = api.patch(f"{IP_ADDRESSES}{address.pk}/", {"site": make_site().pk}, format="json")
        assert response.status_code == 400 and "site" in response.data
        assert api.patch(f"{IP_ADDRESSES}{address.pk}/", data, format="json").status_code == 200

    def test_a_vlan_has_a_location_and_a_site(self, api):
        site = make_site()
        response = api.post(VLANS, {"vid": 10, "name": "ten", "site": site.pk}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["site"]["id"] == site.pk
        assert response.data["location"]["id"] == site.pk
        vlan = VLAN.objects.get(pk=response.data["id"])
        assert vlan.location == site
        building = located("building", site)
        response = api.patch(f"{VLANS}{vlan.pk}/", {"location": building.pk}, format="json")
        assert response.data["site"]["id"] == site.pk

    @pytest.mark.parametrize("url, make", [
        (PREFIXES, lambda location: make_prefix(f"10.{next_number() % 250}.0.0/16", namespace=make_namespace(),
                                                location=location)),
        (VLANS, lambda location: make_vlan(next_number() % 4000 + 1, l2domain=make_l2domain(), location=location)),
        (IP_ADDRESSES, lambda location: make_ip(f"10.20.{next_number() % 250}.1/24", namespace=make_namespace(),
                                                interface=make_interface(make_device(location=location)))),
    ])
    def test_site_site_id_and_region_id_filters(self, api, url, make):
        country = make_location("country")
        metro = make_location("metro", parent=country)
        site = make_site(parent=metro)
        other_site = make_site()
        at_site, in_zone, elsewhere = make(site), make(located("zone", site)), make(other_site)
        assert ids(api.get(url, {"site_id": site.pk})) == {at_site.pk, in_zone.pk}
        assert ids(api.get(url, {"site": site.slug})) == {at_site.pk, in_zone.pk}
        assert ids(api.get(url, {"site": [site.slug, other_site.slug]})) == {at_site.pk, in_zone.pk, elsewhere.pk}
        assert ids(api.get(url, {"region_id": country.pk})) == {at_site.pk, in_zone.pk}
        assert ids(api.get(url, {"region_id": metro.pk})) == {at_site.pk, in_zone.pk}
        assert ids(api.get(url, {"site": "no-such-site"})) == set()
        assert elsewhere.pk in ids(api.get(url, {"site_id__n": site.pk, "limit": 1000}))
        for name, value in (("site_id", country.pk), ("region_id", site.pk)):  # not a site, not a region
            assert ids(api.get(url, {name: value})) == set()

    def test_listing_stays_flat_with_sites_below_buildings(self, api):
        site = make_site()

        def make_some(count):
            for _ in range(count):
                make_prefix(f"10.30.{next_number() % 250}.0/24", namespace=make_namespace(),
                            location=located("zone", site))
                make_ip(f"10.30.{next_number() % 250}.1/24", namespace=make_namespace(),
                        interface=make_interface(make_device(location=located("zone", site))))
                make_vlan(next_number() % 4000 + 1, l2domain=make_l2domain(), location=located("building", site))

        make_some(2)
        for url in (PREFIXES, IP_ADDRESSES, VLANS):
            api.get(url)
            with CaptureQueriesContext(connection) as few:
                assert api.get(url).status_code == 200
            make_some(3)
            with CaptureQueriesContext(connection) as many:
                response = api.get(url)
            assert len(many) == len(few) == 3, (url, [q["sql"] for q in many.captured_queries])
            assert all(row["site"]["id"] == site.pk for row in response.data["results"] if row["site"])


# -- IP assignment -------------------------------------------------------------------------------


class TestAssignedObject:
    def test_assigned_the_netbox_way_and_read_back(self, api):
        interface = make_interface()
        payload = {"address": "192.0.2.1/24", "assigned_object_type": "dcim.interface",
                   "assigned_object_id": interface.pk}
        response = api.post(IP_ADDRESSES, payload, format="json")
        assert response.status_code == 201, response.data
        address = IPAddress.objects.get(pk=response.data["id"])
        assert address.interface == interface
        data = response.data
        assert (data["assigned_object_type"], data["assigned_object_id"]) == ("dcim.interface", interface.pk)
        assert data["assigned_object"]["id"] == interface.pk
        assert data["assigned_object"]["name"] == interface.name
        assert data["assigned_object"]["device"]["id"] == interface.device_id
        assert data["interface"]["id"] == interface.pk  # ours, the same relation

    def test_unassigned_reads_null(self, api):
        data = api.get(f"{IP_ADDRESSES}{make_ip('192.0.2.2/24').pk}/").data
        assert (data["assigned_object_type"], data["assigned_object_id"], data["assigned_object"]) == (None,) * 3

    def test_reassign_and_unassign(self, api):
        first, second = make_interface(), make_interface()
        address = make_ip("192.0.2.3/24", interface=first)
        url = f"{IP_ADDRESSES}{address.pk}/"
        response = api.patch(url, {"assigned_object_id": second.pk}, format="json")  # the type is implied
        assert response.status_code == 200, response.data
        address.refresh_from_db()
        assert address.interface == second
        response = api.patch(url, {"assigned_object_type": None, "assigned_object_id": None}, format="json")
        assert response.status_code == 200, response.data
        address.refresh_from_db()
        assert address.interface is None

    @pytest.mark.parametrize("kind", ["dcim.device", "virtualization.vminterface", "", 5])
    def test_other_types_are_refused_naming_the_field(self, api, kind):
        payload = {"address": "192.0.2.4/24", "assigned_object_type": kind, "assigned_object_id": make_interface().pk}
        response = api.post(IP_ADDRESSES, payload, format="json")
        assert response.status_code == 400 and "assigned_object_type" in response.data, response.data
        assert not IPAddress.objects.filter(address="192.0.2.4/24").exists()

    @pytest.mark.parametrize("payload, field", [
        ({"assigned_object_type": None, "assigned_object_id": 1}, "assigned_object_type"),
        ({"assigned_object_type": "dcim.interface"}, "assigned_object_id"),
        ({"assigned_object_type": "dcim.interface", "assigned_object_id": 999999}, "assigned_object_id"),
        ({"assigned_object_type": "dcim.interface", "assigned_object_id": "abc"}, "assigned_object_id"),
        ({"assigned_object_type": "dcim.interface", "assigned_object_id": 2**70}, "assigned_object_id"),
    ])
    def test_incomplete_or_unknown_assignments_are_a_400(self, api, payload, field):
        response = api.post(IP_ADDRESSES, {"address": "192.0.2.5/24", **payload}, format="json")
        assert response.status_code == 400 and field in response.data, response.data
        assert not IPAddress.objects.filter(address="192.0.2.5/24").exists()

    def test_assignment_and_interface_must_agree(self, api):
        first, second = make_interface(), make_interface()
        payload = {"address": "192.0.2.6/24", "interface": first.pk, "assigned_object_type": "dcim.interface",
                   "assigned_object_id": second.pk}
        response = api.post(IP_ADDRESSES, payload, format="json")
        assert response.status_code == 400 and "assigned_object_id" in response.data
        payload["assigned_object_id"] = first.pk
        assert api.post(IP_ADDRESSES, payload, format="json").status_code == 201

    def test_a_body_read_is_sent_back_unchanged(self, api):
        interface = make_interface()
        address = make_ip("192.0.2.7/24", interface=interface, namespace=make_namespace())
        read = api.get(f"{IP_ADDRESSES}{address.pk}/").data
        response = api.put(f"{IP_ADDRESSES}{address.pk}/", read, format="json")
        assert response.status_code == 200, response.data
        address.refresh_from_db()
        assert address.interface == interface
        response = api.patch(f"{IP_ADDRESSES}{address.pk}/", {"assigned_object": None}, format="json")
        assert response.status_code == 400 and "assigned_object" in response.data  # read-only

    def test_available_ips_assign_the_netbox_way(self, api):
        parent = make_prefix("198.51.100.0/29")
        first, second = make_interface(), make_interface()
        response = api.post(f"{PREFIXES}{parent.pk}/available-ips/",
                            {"assigned_object_type": "dcim.interface", "assigned_object_id": first.pk,
                             "status": "reserved"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["address"] == "198.51.100.1/29"
        assert response.data["assigned_object"]["id"] == first.pk
        assert choice_value(response.data["status"]) == "reserved"
        response = api.post(f"{PREFIXES}{parent.pk}/available-ips/",
                            [{"assigned_object_type": "dcim.interface", "assigned_object_id": second.pk},
                             {"description": "spare"}], format="json")
        assert response.status_code == 201, response.data
        assert [row["assigned_object_id"] for row in response.data] == [second.pk, None]
        assert IPAddress.objects.get(address="198.51.100.2/29").interface == second

    @pytest.mark.parametrize("item, field", [
        ({"assigned_object_type": "dcim.device", "assigned_object_id": 1}, "assigned_object_type"),
        ({"assigned_object_type": "dcim.interface", "assigned_object_id": 999999}, "assigned_object_id"),
        ({"assigned_object_type": "dcim.interface", "assigned_object_id": True}, "assigned_object_id"),
    ])
    def test_available_ips_refuse_bad_assignments(self, api, item, field):
        parent = make_prefix("198.51.100.8/29")
        response = api.post(f"{PREFIXES}{parent.pk}/available-ips/", [{}, item], format="json")
        assert response.status_code == 400 and field in str(response.data), response.data
        assert not IPAddress.objects.exists()


# -- VLAN groups ---------------------------------------------------------------------------------


class TestVLANGroupAPI(APIViewTests):
    url_name = "ipam-api:vlangroup"
    model = L2Domain
    brief_fields = ("id", "url", "display", "name", "slug")
    list_queries = 3

    def make_objects(self, count):
        tenant = make_tenant()
        return [make_l2domain(tenant=tenant) for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [{"name": f"Fabric {n} A"}, {"name": f"fabric-{n}-b", "slug": f"fab-{n}-b", "tenant": make_tenant().pk},
                {"name": f"fabric-{n}-c", "slug": f"fabric-{n}-c", "description": "campus"}]

    def invalid_data(self):
        return {"name": f"fabric-{next_number()}", "slug": "not a slug!"}, "slug"

    def update_data(self):
        return {"name": "renamed", "slug": "renamed", "description": "a fabric"}

    def filter_cases(self, objects):
        child = make_tenant(parent=objects[0].tenant)
        nested = make_l2domain(tenant=child, description="nested fabric")
        return [
            ({"name": objects[2].name}, [objects[2].pk]),
            ({"slug": objects[1].slug}, [objects[1].pk]),
            ({"tenant": objects[0].tenant.slug}, [o.pk for o in objects] + [nested.pk]),
            ({"tenant_id": child.pk}, [nested.pk]),
            ({"q": "nested fabric"}, [nested.pk]),
        ]


class TestVLANGroups:
    def test_a_vlan_group_is_an_l2_domain_with_a_slug(self, api):
        response = api.post(VLAN_GROUPS, {"name": "Campus Paris"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["slug"] == "campus-paris"
        domain = L2Domain.objects.get(pk=response.data["id"])
        assert api.get(f"/api/ipam/l2-domains/{domain.pk}/").data["slug"] == "campus-paris"  # the same row
        default = L2Domain.get_default()
        assert api.get(f"{VLAN_GROUPS}{default.pk}/").data["slug"] == DEFAULT_L2DOMAIN

    def test_a_slug_clash_is_a_400_on_slug(self, api):
        api.post(VLAN_GROUPS, {"name": "a b"}, format="json")
        response = api.post(VLAN_GROUPS, {"name": "A-B"}, format="json")
        assert response.status_code == 400 and "slug" in response.data, response.data

    def test_a_vlan_reads_and_writes_its_group(self, api):
        group = make_l2domain()
        response = api.post(VLANS, {"vid": 5, "name": "five", "group": group.pk}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["group"]["id"] == group.pk
        assert response.data["group"]["slug"] == group.slug
        assert response.data["l2domain"]["id"] == group.pk
        assert VLAN.objects.get(pk=response.data["id"]).l2domain == group
        response = api.post(VLANS, {"vid": 5, "name": "five", "group": None}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["group"]["name"] == DEFAULT_L2DOMAIN
        response = api.post(VLANS, {"vid": 6, "name": "six", "group": group.pk, "l2domain": make_l2domain().pk},
                            format="json")
        assert response.status_code == 400 and "group" in response.data

    def test_vlan_filters(self, api):
        group, other = make_l2domain(), make_l2domain()
        v10, v20 = make_vlan(10, l2domain=group, role="customer"), make_vlan(20, l2domain=group, status="reserved")
        elsewhere = make_vlan(10, l2domain=other, tenant=make_tenant())
        assert ids(api.get(VLANS, {"group_id": group.pk})) == {v10.pk, v20.pk}
        assert ids(api.get(VLANS, {"group": group.slug})) == {v10.pk, v20.pk}
        assert ids(api.get(VLANS, {"group": [group.slug, other.slug]})) == {v10.pk, v20.pk, elsewhere.pk}
        assert ids(api.get(VLANS, {"vid": 10, "group_id": [group.pk, other.pk]})) == {v10.pk, elsewhere.pk}
        assert ids(api.get(VLANS, {"vid__gte": 15, "group_id": group.pk})) == {v20.pk}
        assert ids(api.get(VLANS, {"vid": [10, 20], "group_id": group.pk})) == {v10.pk, v20.pk}
        assert ids(api.get(VLANS, {"vid": "10,20", "group_id": group.pk})) == {v10.pk, v20.pk}
        assert ids(api.get(VLANS, {"role": "customer", "group_id": group.pk})) == {v10.pk}
        assert ids(api.get(VLANS, {"status": "reserved", "group_id": group.pk})) == {v20.pk}
        assert ids(api.get(VLANS, {"tenant": elsewhere.tenant.slug})) == {elsewhere.pk}

    def test_available_vlans_list_as_netbox_does(self, api):
        group = make_l2domain()
        for vid in (1, 2, 4):
            make_vlan(vid, l2domain=group)
        response = api.get(f"{VLAN_GROUPS}{group.pk}/available-vlans/")
        assert response.status_code == 200, response.data
        assert [row["vid"] for row in response.data[:3]] == [3, 5, 6]
        assert len(response.data) == 4094 - 3
        assert response.data[0]["group"] == {"id": group.pk, "url": f"http://testserver{VLAN_GROUPS}{group.pk}/",
                                              "display": group.name, "name": group.name, "slug": group.slug}

    def test_available_vlans_create_one_or_several(self, api):
        group, site = make_l2domain(), make_site()
        make_vlan(1, l2domain=group)
        url = f"{VLAN_GROUPS}{group.pk}/available-vlans/"
        response = api.post(url, {"name": "first", "site": site.pk, "status": "reserved"}, format="json")
        assert response.status_code == 201, response.data
        assert (response.data["vid"], response.data["name"]) == (2, "first")
        assert response.data["group"]["id"] == group.pk
        assert response.data["site"]["id"] == site.pk
        assert choice_value(response.data["status"]) == "reserved"
        response = api.post(url, [{"name": "second"}, {"name": "third", "tenant": make_tenant().pk}], format="json")
        assert response.status_code == 201, response.data
        assert [row["vid"] for row in response.data] == [3, 4]
        assert VLAN.objects.filter(l2domain=group).count() == 4

    @pytest.mark.parametrize("item, field", [({}, "data"), ({"name": "x", "vid": 7}, "data"),
                                             ({"name": "x", "site": 999999}, "site"),
                                             ({"name": "x", "site": "abc"}, "site")])
    def test_available_vlans_refuse_bad_input(self, api, item, field):
        group = make_l2domain()
        response = api.post(f"{VLAN_GROUPS}{group.pk}/available-vlans/", item, format="json")
        assert response.status_code == 400 and field in response.data, response.data
        assert not VLAN.objects.filter(l2domain=group).exists()

    def test_a_full_group_is_a_409(self, api):
        group = make_l2domain()
        VLAN.objects.bulk_create(VLAN(l2domain=group, vid=vid, name=f"v{vid}") for vid in range(1, 4095))
        url = f"{VLAN_GROUPS}{group.pk}/available-vlans/"
        assert api.get(url).data == []
        response = api.post(url, {"name": "one more"}, format="json")
        assert response.status_code == 409
        assert group.name in response.data["detail"]


# -- NetBox's filters on prefixes and addresses --------------------------------------------------


class TestFilters:
    def test_prefix_filters(self, api):
        vrf = make_namespace(rd="65000:42")
        tenant = make_tenant()
        p16 = make_prefix("10.40.0.0/16", namespace=vrf, status="container", tenant=tenant)
        p24 = make_prefix("10.40.1.0/24", namespace=vrf, role="customer")
        p25 = make_prefix("10.40.2.0/25", namespace=vrf, status="reserved")
        global_ = make_prefix("10.40.3.0/24")
        in_vrf = {"vrf_id": vrf.pk}
        assert ids(api.get(PREFIXES, in_vrf)) == {p16.pk, p24.pk, p25.pk}
        assert ids(api.get(PREFIXES, {"vrf": vrf.name})) == {p16.pk, p24.pk, p25.pk}
        assert ids(api.get(PREFIXES, {"vrf": "65000:42"})) == {p16.pk, p24.pk, p25.pk}
        assert ids(api.get(PREFIXES, {"vrf": "no such vrf"})) == set()
        assert ids(api.get(PREFIXES, {"present_in_vrf_id": vrf.pk})) == {p16.pk, p24.pk, p25.pk}
        assert global_.pk in ids(api.get(PREFIXES, {"vrf_id": "null", "limit": 1000}))
        assert not {p16.pk, p24.pk} & ids(api.get(PREFIXES, {"vrf_id": "null", "limit": 1000}))
        assert ids(api.get(PREFIXES, {"vrf_id": [vrf.pk, "null"], "prefix": "10.40.3.0/24"})) == {global_.pk}
        assert ids(api.get(PREFIXES, {"mask_length": 24, **in_vrf})) == {p24.pk}
        assert ids(api.get(PREFIXES, {"mask_length": [24, 25], **in_vrf})) == {p24.pk, p25.pk}
        assert ids(api.get(PREFIXES, {"mask_length__gte": 24, **in_vrf})) == {p24.pk, p25.pk}
        assert ids(api.get(PREFIXES, {"mask_length__lte": 24, **in_vrf})) == {p16.pk, p24.pk}
        assert ids(api.get(PREFIXES, {"role": "customer", **in_vrf})) == {p24.pk}
        assert ids(api.get(PREFIXES, {"status": ["container", "reserved"], **in_vrf})) == {p16.pk, p25.pk}
        assert ids(api.get(PREFIXES, {"tenant": tenant.slug})) == {p16.pk}

    def test_address_filters(self, api):
        vrf = make_namespace(rd="65000:43")
        device = make_device()
        first, second = make_interface(device, name="et-0/0/1"), make_interface(device, name="et-0/0/2")
        a24 = make_ip("10.41.0.1/24", namespace=vrf, interface=first, role="loopback")
        a32 = make_ip("10.41.0.2/32", namespace=vrf, interface=second, status="reserved")
        loose = make_ip("10.41.0.3/24", namespace=vrf)
        in_vrf = {"vrf_id": vrf.pk}
        assert ids(api.get(IP_ADDRESSES, {"vrf": "65000:43"})) == {a24.pk, a32.pk, loose.pk}
        assert ids(api.get(IP_ADDRESSES, {"mask_length": 32, **in_vrf})) == {a32.pk}
        assert ids(api.get(IP_ADDRESSES, {"mask_length__lte": 24, **in_vrf})) == {a24.pk, loose.pk}
        assert ids(api.get(IP_ADDRESSES, {"device": device.name})) == {a24.pk, a32.pk}
        assert ids(api.get(IP_ADDRESSES, {"device_id": device.pk})) == {a24.pk, a32.pk}
        assert ids(api.get(IP_ADDRESSES, {"interface_id": second.pk})) == {a32.pk}
        assert ids(api.get(IP_ADDRESSES, {"assigned_to_interface": "false", **in_vrf})) == {loose.pk}
        assert ids(api.get(IP_ADDRESSES, {"assigned_to_interface": "true", **in_vrf})) == {a24.pk, a32.pk}
        assert ids(api.get(IP_ADDRESSES, {"role": "loopback", **in_vrf})) == {a24.pk}
        assert ids(api.get(IP_ADDRESSES, {"status": "reserved", **in_vrf})) == {a32.pk}

    @pytest.mark.parametrize("url, params", [
        (PREFIXES, {"mask_length": "abc"}), (PREFIXES, {"mask_length__gte": "x"}), (PREFIXES, {"vrf_id": "abc"}),
        (PREFIXES, {"site_id": "abc"}), (PREFIXES, {"region_id": "9" * 30}), (PREFIXES, {"present_in_vrf_id": "x"}),
        (IP_ADDRESSES, {"device_id": "abc"}), (IP_ADDRESSES, {"assigned_to_interface": "maybe"}),
        (IP_ADDRESSES, {"role": "nope"}), (VLANS, {"group_id": "abc"}), (VLANS, {"vid": "x"}),
        (PREFIXES, {"vrf_name": "x"}), (VLANS, {"vlan_group": "x"}), (IP_ADDRESSES, {"assigned_object": "x"}),
    ])
    def test_bad_values_and_unknown_filters_are_a_400_naming_them(self, api, url, params):
        response = api.get(url, params)
        assert response.status_code == 400, response.data
        assert set(response.data) == set(params), response.data


# -- tenant isolation of the NetBox names ----------------------------------------------------------


class TestIsolation:
    """A member of Alpha meets nothing of Bravo through the NetBox names."""

    @pytest.fixture
    def world(self):
        alpha, bravo = make_tenant(), make_tenant()
        worlds = {}
        for name, tenant in (("alpha", alpha), ("bravo", bravo)):
            site = make_site(tenant=tenant)
            vrf = make_namespace(tenant=tenant, rd=f"65000:{next_number()}")
            group = make_l2domain(tenant=tenant)
            interface = make_interface(make_device(location=site, tenant=tenant))
            worlds[name] = {
                "tenant": tenant, "site": site, "vrf": vrf, "group": group, "interface": interface,
                "prefix": make_prefix("10.50.0.0/16", namespace=vrf, tenant=tenant, location=site),
                "vlan": make_vlan(10, l2domain=group, tenant=tenant, location=site),
                "address": make_ip("10.50.0.1/16", namespace=vrf, tenant=tenant, interface=interface),
            }
        return worlds

    def test_lists_and_details(self, world):
        client = member_client(world["alpha"]["tenant"])
        a, b = world["alpha"], world["bravo"]
        for url, key in ((VRFS, "vrf"), (VLAN_GROUPS, "group")):
            seen = ids(client.get(url, {"limit": 1000}))
            assert a[key].pk in seen and b[key].pk not in seen
            assert client.get(f"{url}{b[key].pk}/").status_code == 404
            assert client.get(f"{url}{a[key].pk}/").status_code == 200
        assert client.get(f"{VLAN_GROUPS}{b['group'].pk}/available-vlans/").status_code == 404
        response = client.post(f"{VLAN_GROUPS}{b['group'].pk}/available-vlans/", {"name": "x"}, format="json")
        assert response.status_code == 404
        assert client.get(f"{VLAN_GROUPS}{a['group'].pk}/available-vlans/").status_code == 200

    def test_filters_naming_hidden_objects_match_nothing(self, world):
        client = member_client(world["alpha"]["tenant"])
        b = world["bravo"]
        for url, params in ((PREFIXES, {"vrf_id": b["vrf"].pk}), (PREFIXES, {"vrf": b["vrf"].name}),
                            (PREFIXES, {"vrf": b["vrf"].rd}), (PREFIXES, {"site_id": b["site"].pk}),
                            (PREFIXES, {"site": b["site"].slug}), (VLANS, {"group_id": b["group"].pk}),
                            (VLANS, {"group": b["group"].slug}),
                            (IP_ADDRESSES, {"device_id": b["interface"].device_id}),
                            (IP_ADDRESSES, {"site_id": b["site"].pk}), (VRFS, {"tenant": b["tenant"].slug})):
            response = client.get(url, params)
            assert response.status_code == 200, (url, params, response.data)
            assert response.data["count"] == 0, (url, params)

    def test_a_hidden_interface_is_not_found(self, world):
        client = member_client(world["alpha"]["tenant"])
        a, b = world["alpha"], world["bravo"]
        assignment = {"assigned_object_type": "dcim.interface", "assigned_object_id": b["interface"].pk}
        response = client.post(IP_ADDRESSES, {"address": "10.60.0.1/24", "tenant": a["tenant"].pk, **assignment},
                               format="json")
        assert response.status_code == 400 and "Not found" in str(response.data["assigned_object_id"])
        response = client.patch(f"{IP_ADDRESSES}{a['address'].pk}/", assignment, format="json")
        assert response.status_code == 400
        a["address"].refresh_from_db()
        assert a["address"].interface == a["interface"]
        parent = make_prefix("10.61.0.0/24", tenant=a["tenant"])
        for item in (assignment, {"interface": b["interface"].pk}):
            response = client.post(f"{PREFIXES}{parent.pk}/available-ips/", {"tenant": a["tenant"].pk, **item},
                                   format="json")
            assert response.status_code == 400, response.data
            assert "Not found" in str(response.data)
        assert not IPAddress.objects.filter(address__startswith="10.61.").exists()

    def test_hidden_related_objects_are_not_written_and_read_as_null(self, world):
        client = member_client(world["alpha"]["tenant"])
        a, b = world["alpha"], world["bravo"]
        for payload in ({"prefix": "10.70.0.0/16", "vrf": b["vrf"].pk},
                        {"prefix": "10.70.0.0/16", "site": b["site"].pk}):
            response = client.post(PREFIXES, {**payload, "tenant": a["tenant"].pk}, format="json")
            assert response.status_code == 400, response.data
        response = client.post(VLANS, {"vid": 11, "name": "x", "group": b["group"].pk, "tenant": a["tenant"].pk},
                               format="json")
        assert response.status_code == 400 and "group" in response.data
        response = client.post(f"{VLAN_GROUPS}{a['group'].pk}/available-vlans/",
                               {"name": "x", "site": b["site"].pk, "tenant": a["tenant"].pk}, format="json")
        assert response.status_code == 400 and "site" in response.data
        # Alpha's prefix in Bravo's VRF at Bravo's site (made by a superuser): the relations read as null.
        mixed = make_prefix("10.71.0.0/16", namespace=b["vrf"], location=b["site"], tenant=a["tenant"])
        data = client.get(f"{PREFIXES}{mixed.pk}/").data
        assert (data["vrf"], data["site"], data["namespace"]) == (None, None, None)
        b["address"].tenant = a["tenant"]
        b["address"].save()
        data = client.get(f"{IP_ADDRESSES}{b['address'].pk}/").data
        assert data["assigned_object"] is None
        assert (data["assigned_object_type"], data["assigned_object_id"], data["site"]) == (None, None, None)
        # On a shared site, a hidden interface still tells nothing of where its device stands.
        shared_site = make_site()
        hidden_port = make_interface(make_device(location=shared_site, tenant=b["tenant"]))
        address = make_ip("10.72.0.1/24", tenant=a["tenant"], interface=hidden_port)
        data = client.get(f"{IP_ADDRESSES}{address.pk}/").data
        assert (data["assigned_object"], data["site"]) == (None, None)
        assert client.get(f"/api/dcim/sites/{shared_site.pk}/").status_code == 200


def test_migration_filled_the_default_group_slug():
    assert L2Domain.get_default().slug == DEFAULT_L2DOMAIN
