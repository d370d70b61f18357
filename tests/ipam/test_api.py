"""API tests of namespaces, prefixes, IP addresses, L2 domains and VLANs."""

import pytest

from ipam.models import DEFAULT_L2DOMAIN, DEFAULT_NAMESPACE, VLAN, IPAddress, L2Domain, Namespace, Prefix
from tests.api_mixins import APIViewTests, next_number

from .factories import (
    make_interface,
    make_ip,
    make_l2domain,
    make_location,
    make_namespace,
    make_prefix,
    make_tenant,
    make_vlan,
)

PREFIXES = "/api/ipam/prefixes/"
IP_ADDRESSES = "/api/ipam/ip-addresses/"
VLANS = "/api/ipam/vlans/"


def ids(response):
    assert response.status_code == 200, response.data
    return {row["id"] for row in response.data["results"]}


class TestNamespaceAPI(APIViewTests):
    url_name = "ipam-api:namespace"
    model = Namespace
    brief_fields = ("id", "url", "display", "name")
    list_queries = 3  # token (with its user), count, page

    def make_objects(self, count):
        tenant = make_tenant()
        return [make_namespace(tenant=tenant) for _ in range(count)]

    def create_data(self):
        tenant = make_tenant()
        n = next_number()
        return [{"name": f"vrf-{n}-a"}, {"name": f"vrf-{n}-b", "tenant": tenant.pk},
                {"name": f"vrf-{n}-c", "tenant": {"id": tenant.pk}, "description": "customer"}]

    def invalid_data(self):
        return {"name": DEFAULT_NAMESPACE}, "name"

    def update_data(self):
        return {"name": "renamed", "description": "a VRF"}

    def filter_cases(self, objects):
        child = make_tenant(parent=objects[0].tenant)
        nested = make_namespace(tenant=child, description="nested one")
        return [
            ({"name": objects[1].name}, [objects[1].pk]),
            ({"tenant_id": objects[0].tenant_id}, [o.pk for o in objects] + [nested.pk]),
            ({"tenant_id": child.pk}, [nested.pk]),
            ({"q": "nested one"}, [nested.pk]),
        ]


class TestL2DomainAPI(APIViewTests):
    url_name = "ipam-api:l2domain"
    model = L2Domain
    brief_fields = ("id", "url", "display", "name")
    list_queries = 3

    def make_objects(self, count):
        tenant = make_tenant()
        return [make_l2domain(tenant=tenant) for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [{"name": f"fabric-{n}-a"}, {"name": f"fabric-{n}-b", "tenant": make_tenant().pk},
                {"name": f"fabric-{n}-c", "description": "campus"}]

    def invalid_data(self):
        return {"name": DEFAULT_L2DOMAIN}, "name"

    def update_data(self):
        return {"name": "renamed", "description": "a fabric"}

    def filter_cases(self, objects):
        child = make_tenant(parent=objects[0].tenant)
        nested = make_l2domain(tenant=child, description="nested fabric")
        return [
            ({"name": objects[2].name}, [objects[2].pk]),
            ({"tenant_id": objects[0].tenant_id}, [o.pk for o in objects] + [nested.pk]),
            ({"tenant_id": child.pk}, [nested.pk]),
            ({"q": "nested fabric"}, [nested.pk]),
        ]


class TestVLANAPI(APIViewTests):
    url_name = "ipam-api:vlan"
    model = VLAN
    brief_fields = ("id", "url", "display", "vid", "name")
    list_queries = 3

    def make_objects(self, count):
        domain = make_l2domain()
        tenant = make_tenant()
        # Names without digits, so that ?q=30 can only match the VLAN id.
        return [make_vlan(10 * (i + 1), l2domain=domain, tenant=tenant, name=f"vlan-{chr(ord('a') + i)}")
                for i in range(count)]

    def create_data(self):
        domain = make_l2domain()
        return [{"vid": 100, "name": "customer-a", "l2domain": domain.pk},
                {"vid": 101, "name": "customer-b", "l2domain": domain.pk, "status": "reserved"},
                {"vid": 4094, "name": "last", "role": "transit"}]

    def invalid_data(self):
        return {"vid": 4095, "name": "too high"}, "vid"

    def update_data(self):
        return {"name": "renamed", "status": "deprecated", "role": "customer", "vid": 999}

    def filter_cases(self, objects):
        v10, v20, v30 = objects
        domain = v10.l2domain
        child = make_tenant(parent=v10.tenant)
        other = make_vlan(20, l2domain=make_l2domain(), tenant=child, status="reserved", role="mgmt",
                          name="management")
        return [
            ({"vid": 20}, [v20.pk, other.pk]),
            ({"vid": 20, "l2domain_id": domain.pk}, [v20.pk]),
            ({"vid__gte": 20, "l2domain_id": domain.pk}, [v20.pk, v30.pk]),
            ({"vid__lte": 20, "l2domain_id": domain.pk}, [v10.pk, v20.pk]),
            ({"l2domain_id": domain.pk}, [v10.pk, v20.pk, v30.pk]),
            ({"name": v30.name}, [v30.pk]),
            ({"status": "reserved"}, [other.pk]),
            ({"status": ["reserved", "active"], "vid": 20}, [v20.pk, other.pk]),
            ({"role": "mgmt"}, [other.pk]),
            ({"tenant_id": v10.tenant_id}, [v10.pk, v20.pk, v30.pk, other.pk]),
            ({"tenant_id": child.pk}, [other.pk]),
            ({"q": "management"}, [other.pk]),
            ({"q": "30", "l2domain_id": domain.pk}, [v30.pk]),
        ]


class TestPrefixAPI(APIViewTests):
    url_name = "ipam-api:prefix"
    model = Prefix
    brief_fields = ("id", "url", "display", "prefix", "family")
    list_queries = 3  # every relation joined: nothing per row

    def make_objects(self, count):
        """A /16 container and /24s inside it, in a namespace of their own, with every relation set."""
        namespace = make_namespace()
        tenant = make_tenant()
        location = make_location()
        vlan = make_vlan(100, l2domain=make_l2domain())
        gateway = make_ip("10.0.0.1/24", namespace=namespace)
        objects = [make_prefix("10.0.0.0/16", namespace=namespace, status="container", tenant=tenant)]
        objects += [make_prefix(f"10.0.{i}.0/24", namespace=namespace, tenant=tenant, location=location, vlan=vlan)
                    for i in range(count - 1)]
        if count > 1:
            objects[1].gateway = gateway
            objects[1].save()
        return objects

    def create_data(self):
        namespace = make_namespace()
        return [{"prefix": "192.0.2.0/24", "namespace": namespace.pk, "role": "customer"},
                {"prefix": "2001:db8::/48", "namespace": namespace.pk, "status": "container"},
                {"prefix": "198.51.100.0/25", "tenant": make_tenant().pk, "location": make_location().pk}]

    def invalid_data(self):
        return {"prefix": "10.0.0.1/8"}, "prefix"

    def update_data(self):
        return {"description": "core block", "status": "reserved", "role": "customer", "prefix": "10.0.0.0/15"}

    def filter_cases(self, objects):
        container, first, second = objects
        namespace = container.namespace
        v6 = make_prefix("2001:db8::/32", namespace=namespace, status="container", description="documentation")
        v6_child = make_prefix("2001:db8:1::/48", namespace=namespace, role="customer")
        elsewhere = make_prefix("10.0.1.0/24", namespace=make_namespace())
        child_tenant = make_tenant(parent=container.tenant)
        country = make_location(kind="country")
        site = make_location(parent=country)
        located = make_prefix("172.16.0.0/12", namespace=namespace, tenant=child_tenant, location=site,
                              status="reserved")
        ns = {"namespace_id": namespace.pk}
        in_namespace = [container.pk, first.pk, second.pk, v6.pk, v6_child.pk, located.pk]
        return [
            ({"prefix": "10.0.1.0/24"}, [second.pk, elsewhere.pk]),
            ({"prefix": "10.0.1.0/24", **ns}, [second.pk]),
            ({"prefix": "2001:DB8:0::/32"}, [v6.pk]),
            ({"within": "10.0.0.0/16", **ns}, [first.pk, second.pk]),
            ({"within": "10.0.0.0/8", **ns}, [container.pk, first.pk, second.pk]),
            ({"within_include": "10.0.0.0/16", **ns}, [container.pk, first.pk, second.pk]),
            ({"within": "2001:db8::/32"}, [v6_child.pk]),
            ({"within": "::/0", **ns}, [v6.pk, v6_child.pk]),
            ({"contains": "10.0.1.7", **ns}, [container.pk, second.pk]),
            ({"contains": "10.0.1.0/24", **ns}, [container.pk, second.pk]),
            ({"contains": "10.0.0.0/16", **ns}, [container.pk]),
            ({"contains": "2001:db8:1::1"}, [v6.pk, v6_child.pk]),
            ({"contains": "2001:db8:2::/64"}, [v6.pk]),
            ({"family": 6}, [v6.pk, v6_child.pk]),
            ({"family": 4, **ns}, [container.pk, first.pk, second.pk, located.pk]),
            ({"prefix_length": 24, **ns}, [first.pk, second.pk]),
            ({"prefix_length__lte": 16, **ns}, [container.pk, located.pk]),
            ({"prefix_length__gte": 24, **ns}, [first.pk, second.pk, v6.pk, v6_child.pk]),
            ({"status": "container", **ns}, [container.pk, v6.pk]),
            ({"status": ["container", "reserved"], **ns}, [container.pk, v6.pk, located.pk]),
            ({"role": "customer", **ns}, [v6_child.pk]),
            (ns, in_namespace),
            ({"vlan_id": first.vlan_id}, [first.pk, second.pk]),
            ({"tenant_id": container.tenant_id}, [container.pk, first.pk, second.pk, located.pk]),
            ({"tenant_id": child_tenant.pk}, [located.pk]),
            ({"location_id": country.pk}, [located.pk]),
            ({"location_id": first.location_id}, [first.pk, second.pk]),
            ({"q": "documentation"}, [v6.pk]),
            ({"q": "172.16.", **ns}, [located.pk]),
        ]

    def test_detail_has_utilization_and_list_does_not(self, api):
        container, first, _ = self.make_objects(3)
        detail = api.get(self.detail_url(container)).data
        assert detail["utilization"] == {"used": 512, "total": 65536, "percent": 0.78}
        listed = api.get(self.list_url(), {"namespace_id": container.namespace_id}).data["results"]
        assert listed and all("utilization" not in row for row in listed)

    def test_nested_relations_are_brief(self, api):
        _, first = self.make_objects(2)
        data = api.get(self.detail_url(first)).data
        assert data["namespace"]["id"] == first.namespace_id
        assert set(data["namespace"]) == {"id", "url", "display", "name"}
        assert set(data["vlan"]) == {"id", "url", "display", "vid", "name"}
        assert set(data["gateway"]) == {"id", "url", "display", "address", "family"}
        assert data["gateway"]["address"] == "10.0.0.1/24"
        assert data["location"]["id"] == first.location_id
        assert data["tenant"]["id"] == first.tenant_id


class TestIPAddressAPI(APIViewTests):
    url_name = "ipam-api:ipaddress"
    model = IPAddress
    brief_fields = ("id", "url", "display", "address", "family")
    list_queries = 3  # namespace, interface with its device and tenant joined

    def make_objects(self, count):
        namespace = make_namespace()
        tenant = make_tenant()
        interface = make_interface()
        addresses = ["10.0.0.1/24", "10.0.0.2/24", "2001:db8::1/64"]
        return [make_ip(addresses[i % 3] if i < 3 else f"10.0.1.{i}/24", namespace=namespace, tenant=tenant,
                        interface=interface) for i in range(count)]

    def create_data(self):
        namespace = make_namespace()
        return [{"address": "192.0.2.1/24", "namespace": namespace.pk},
                {"address": "2001:db8::5/64", "namespace": namespace.pk, "dns_name": "host.example.com"},
                {"address": "198.51.100.1/32", "interface": make_interface().pk, "role": "loopback"}]

    def invalid_data(self):
        return {"address": "300.1.1.1/24"}, "address"

    def update_data(self):
        return {"status": "reserved", "role": "vip", "dns_name": "vip.example.com", "address": "10.0.0.9/24"}

    def filter_cases(self, objects):
        a1, a2, v6 = objects
        namespace = a1.namespace
        other_interface = make_interface()
        child = make_tenant(parent=a1.tenant)
        loose = make_ip("10.0.0.3/32", namespace=namespace, interface=other_interface, tenant=child, status="dhcp",
                        role="gateway", dns_name="gw.example.com", description="the gateway")
        elsewhere = make_ip("10.0.0.1/24", namespace=make_namespace())
        ns = {"namespace_id": namespace.pk}
        return [
            ({"address": "10.0.0.1"}, [a1.pk, elsewhere.pk]),
            ({"address": "10.0.0.1", **ns}, [a1.pk]),
            ({"address": "10.0.0.1/24", **ns}, [a1.pk]),
            ({"address": "10.0.0.1/32", **ns}, []),
            ({"address": "2001:DB8::1", **ns}, [v6.pk]),
            ({"parent": "10.0.0.0/24", **ns}, [a1.pk, a2.pk, loose.pk]),
            ({"parent": "10.0.0.2/31", **ns}, [a2.pk, loose.pk]),
            ({"parent": "2001:db8::/64", **ns}, [v6.pk]),
            ({"parent": "2001:db8:1::/64", **ns}, []),
            ({"family": 6, **ns}, [v6.pk]),
            ({"status": "dhcp"}, [loose.pk]),
            ({"status": ["dhcp", "active"], **ns}, [a1.pk, a2.pk, v6.pk, loose.pk]),
            ({"role": "gateway"}, [loose.pk]),
            (ns, [a1.pk, a2.pk, v6.pk, loose.pk]),
            ({"interface_id": a1.interface_id}, [a1.pk, a2.pk, v6.pk]),
            ({"interface_id": other_interface.pk}, [loose.pk]),
            ({"device_id": other_interface.device_id}, [loose.pk]),
            ({"tenant_id": a1.tenant_id}, [a1.pk, a2.pk, v6.pk, loose.pk]),
            ({"tenant_id": child.pk}, [loose.pk]),
            ({"dns_name": "gw.example.com"}, [loose.pk]),
            ({"q": "the gateway"}, [loose.pk]),
            ({"q": "2001:db8::1", **ns}, [v6.pk]),
        ]

    def test_interface_is_read_as_brief(self, api):
        address = self.make_objects(1)[0]
        data = api.get(self.detail_url(address)).data
        assert data["interface"]["id"] == address.interface_id
        assert data["interface"]["device"]["id"] == address.interface.device_id
        assert data["family"] == 4
        assert data["namespace"]["name"] == address.namespace.name


# -- rules -------------------------------------------------------------------------------------


@pytest.mark.django_db
class TestPrefixRules:
    @pytest.mark.parametrize(
        ("value", "hint"),
        [
            ("10.0.0.300/24", "not a valid"),
            ("not/a-prefix", "not a valid"),
            ("10.0.0.0/33", "not a valid"),
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("2001:db8::1/32", "did you mean 2001:db8::/32"),
            ("10.0.0.1", "no prefix length"),
            ("", ""),
        ],
    )
    def test_invalid_prefix_is_a_400_naming_the_field(self, api, value, hint):
        before = Prefix.objects.count()
        response = api.post(PREFIXES, {"prefix": value}, format="json")
        assert response.status_code == 400, response.data
        assert "prefix" in response.data, response.data
        assert hint in str(response.data["prefix"])
        assert Prefix.objects.count() == before

    def test_defaults_to_the_global_namespace_and_derives_fields(self, api):
        response = api.post(PREFIXES, {"prefix": "2001:DB8:0:0::/32"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["prefix"] == "2001:db8::/32"
        assert response.data["family"] == 6
        assert response.data["prefix_length"] == 32
        assert response.data["namespace"]["name"] == DEFAULT_NAMESPACE
        stored = Prefix.objects.get(pk=response.data["id"])
        assert (stored.prefix, stored.family, stored.prefix_length) == ("2001:db8::/32", 6, 32)
        assert stored.namespace.name == DEFAULT_NAMESPACE

    def test_byte_columns_never_leave_the_server(self, api):
        prefix = make_prefix("10.9.0.0/16")
        for data in (api.get(f"{PREFIXES}{prefix.pk}/").data, api.get(PREFIXES).data["results"][0]):
            assert not {"network", "broadcast", "host"} & set(data)
        address = make_ip("10.9.0.1/16")
        assert "host" not in api.get(f"{IP_ADDRESSES}{address.pk}/").data

    def test_derived_fields_are_read_only(self, api):
        response = api.post(PREFIXES, {"prefix": "10.1.0.0/16", "family": 6, "prefix_length": 8}, format="json")
        assert response.status_code == 400, response.data
        assert set(response.data) == {"family", "prefix_length"}
        assert not Prefix.objects.filter(prefix="10.1.0.0/16").exists()
        response = api.post(PREFIXES, {"prefix": "10.1.0.0/16"}, format="json")
        assert (response.data["family"], response.data["prefix_length"]) == (4, 16)

    @pytest.mark.parametrize(("existing", "duplicate"), [("10.2.0.0/16", "10.2.0.0/16"),
                                                         ("2001:db8::/32", "2001:DB8:0::/32")])
    def test_duplicate_prefix_in_a_namespace_is_a_400_on_prefix(self, api, existing, duplicate):
        make_prefix(existing)
        response = api.post(PREFIXES, {"prefix": duplicate}, format="json")
        assert response.status_code == 400, response.data
        assert "already exists" in str(response.data["prefix"])
        assert Prefix.objects.filter(prefix=existing).count() == 1

    def test_duplicate_by_update_is_a_400(self, api):
        make_prefix("10.3.0.0/16")
        other = make_prefix("10.4.0.0/16")
        response = api.patch(f"{PREFIXES}{other.pk}/", {"prefix": "10.3.0.0/16"}, format="json")
        assert response.status_code == 400, response.data
        assert "prefix" in response.data
        other.refresh_from_db()
        assert other.prefix == "10.4.0.0/16"

    def test_saving_a_prefix_unchanged_is_not_a_duplicate(self, api):
        prefix = make_prefix("10.5.0.0/16")
        response = api.put(f"{PREFIXES}{prefix.pk}/", {"prefix": "10.5.0.0/16", "description": "kept"}, format="json")
        assert response.status_code == 200, response.data

    def test_duplicate_inside_one_bulk_request_writes_nothing(self, api):
        # Each item is valid on its own; the database constraint catches the pair, and the base view
        # answers it as bad input (400), never a 500.
        before = Prefix.objects.count()
        response = api.post(PREFIXES, [{"prefix": "10.12.0.0/24"}, {"prefix": "10.12.0.0/24"}], format="json")
        assert response.status_code == 400, response.data
        assert "clash" in response.data["non_field_errors"][0]
        assert Prefix.objects.count() == before

    def test_same_prefix_in_two_namespaces_is_allowed(self, api):
        make_prefix("10.6.0.0/16")
        namespace = make_namespace()
        response = api.post(PREFIXES, {"prefix": "10.6.0.0/16", "namespace": namespace.pk}, format="json")
        assert response.status_code == 201, response.data
        assert Prefix.objects.filter(prefix="10.6.0.0/16").count() == 2

    def test_gateway_must_be_inside_the_prefix(self, api):
        outside = make_ip("10.7.1.1/24")
        response = api.post(PREFIXES, {"prefix": "10.7.0.0/24", "gateway": outside.pk}, format="json")
        assert response.status_code == 400, response.data
        assert "not inside" in str(response.data["gateway"])
        assert not Prefix.objects.filter(prefix="10.7.0.0/24").exists()
        inside = make_ip("10.7.0.1/24")
        response = api.post(PREFIXES, {"prefix": "10.7.0.0/24", "gateway": inside.pk}, format="json")
        assert response.status_code == 201, response.data
        assert Prefix.objects.get(prefix="10.7.0.0/24").gateway == inside

    def test_gateway_in_another_namespace_is_refused(self, api):
        gateway = make_ip("10.8.0.1/24", namespace=make_namespace())
        response = api.post(PREFIXES, {"prefix": "10.8.0.0/24", "gateway": gateway.pk}, format="json")
        assert response.status_code == 400, response.data
        assert "gateway" in response.data

    def test_unknown_namespace_is_a_400(self, api):
        response = api.post(PREFIXES, {"prefix": "10.10.0.0/16", "namespace": 999999}, format="json")
        assert response.status_code == 400
        assert "namespace" in response.data

    @pytest.mark.parametrize("name", ["prefix", "within", "within_include", "contains"])
    def test_invalid_filter_value_is_a_400_naming_the_filter(self, api, name):
        response = api.get(PREFIXES, {name: "not-a-network"})
        assert response.status_code == 400, response.data
        assert name in response.data

    def test_prefix_filter_with_host_bits_suggests_the_network(self, api):
        response = api.get(PREFIXES, {"within": "10.0.0.1/8"})
        assert response.status_code == 400
        assert "10.0.0.0/8" in str(response.data["within"])

    def test_deleting_a_namespace_in_use_is_a_409(self, api):
        namespace = make_namespace()
        make_prefix("10.11.0.0/16", namespace=namespace)
        response = api.delete(f"/api/ipam/namespaces/{namespace.pk}/")
        assert response.status_code == 409
        assert Namespace.objects.filter(pk=namespace.pk).exists()


@pytest.mark.django_db
class TestIPAddressRules:
    def test_bare_address_is_a_host(self, api):
        response = api.post(IP_ADDRESSES, {"address": "2001:DB8::7"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["address"] == "2001:db8::7/128"
        assert response.data["family"] == 6
        assert response.data["namespace"]["name"] == DEFAULT_NAMESPACE

    @pytest.mark.parametrize("value", ["10.0.0.256/24", "garbage", "10.0.0.1/40", ""])
    def test_invalid_address_is_a_400(self, api, value):
        response = api.post(IP_ADDRESSES, {"address": value}, format="json")
        assert response.status_code == 400, response.data
        assert "address" in response.data
        assert not IPAddress.objects.exists()

    @pytest.mark.parametrize(("existing", "duplicate"), [("10.0.0.1/24", "10.0.0.1/24"),
                                                         ("10.0.0.1/24", "10.0.0.1/32"),
                                                         ("2001:db8::1/64", "2001:DB8:0::1/128")])
    def test_duplicate_address_in_a_namespace_is_a_400(self, api, existing, duplicate):
        make_ip(existing)
        response = api.post(IP_ADDRESSES, {"address": duplicate}, format="json")
        assert response.status_code == 400, response.data
        assert "already exists" in str(response.data["address"])
        assert IPAddress.objects.count() == 1

    def test_same_address_in_another_namespace_is_allowed(self, api):
        make_ip("10.0.0.1/24")
        namespace = make_namespace()
        response = api.post(IP_ADDRESSES, {"address": "10.0.0.1/24", "namespace": namespace.pk}, format="json")
        assert response.status_code == 201, response.data
        assert IPAddress.objects.filter(address="10.0.0.1/24").count() == 2

    def test_ipv4_and_ipv6_with_the_same_low_bits_do_not_clash(self, api):
        make_ip("10.0.0.1/24")
        response = api.post(IP_ADDRESSES, {"address": "::a00:1/128"}, format="json")
        assert response.status_code == 201, response.data

    def test_changing_only_the_length_of_an_address_is_allowed(self, api):
        address = make_ip("10.0.0.1/24")
        response = api.patch(f"{IP_ADDRESSES}{address.pk}/", {"address": "10.0.0.1/25"}, format="json")
        assert response.status_code == 200, response.data
        address.refresh_from_db()
        assert address.address == "10.0.0.1/25"

    @pytest.mark.parametrize("name", ["address", "parent"])
    def test_invalid_filter_value_is_a_400_naming_the_filter(self, api, name):
        response = api.get(IP_ADDRESSES, {name: "nope"})
        assert response.status_code == 400, response.data
        assert name in response.data


@pytest.mark.django_db
class TestVLANRules:
    @pytest.mark.parametrize("vid", [0, 4095, -1, "abc"])
    def test_vid_out_of_range_is_a_400(self, api, vid):
        response = api.post(VLANS, {"vid": vid, "name": "bad"}, format="json")
        assert response.status_code == 400, response.data
        assert "vid" in response.data
        assert not VLAN.objects.filter(name="bad").exists()

    def test_defaults_to_the_default_l2domain(self, api):
        response = api.post(VLANS, {"vid": 1, "name": "one"}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["l2domain"]["name"] == DEFAULT_L2DOMAIN
        assert VLAN.objects.get(pk=response.data["id"]).l2domain.name == DEFAULT_L2DOMAIN

    def test_duplicate_vid_in_a_domain_is_a_400_on_vid(self, api):
        make_vlan(200)
        response = api.post(VLANS, {"vid": 200, "name": "again"}, format="json")
        assert response.status_code == 400, response.data
        assert "already used" in str(response.data["vid"])
        assert VLAN.objects.filter(vid=200).count() == 1

    def test_vid_reused_in_another_domain_is_allowed(self, api):
        make_vlan(200)
        domain = make_l2domain()
        response = api.post(VLANS, {"vid": 200, "name": "again", "l2domain": domain.pk}, format="json")
        assert response.status_code == 201, response.data
        assert VLAN.objects.filter(vid=200).count() == 2

    def test_moving_a_vlan_onto_a_used_vid_is_a_400(self, api):
        make_vlan(300)
        vlan = make_vlan(301)
        response = api.patch(f"{VLANS}{vlan.pk}/", {"vid": 300}, format="json")
        assert response.status_code == 400, response.data
        assert "vid" in response.data
        vlan.refresh_from_db()
        assert vlan.vid == 301


# -- what lies inside a prefix -----------------------------------------------------------------------


@pytest.mark.django_db
class TestPrefixChildren:
    def test_child_prefixes_include_nested_ones_and_stay_in_the_namespace(self, api):
        parent = make_prefix("10.20.0.0/16", status="container")
        child = make_prefix("10.20.1.0/24")
        nested = make_prefix("10.20.1.0/25")
        make_prefix("10.21.0.0/24")  # outside
        make_prefix("10.20.2.0/24", namespace=make_namespace())  # inside, in another namespace
        make_prefix("::a14:0/112")  # the same low bits in IPv6
        response = api.get(f"{PREFIXES}{parent.pk}/child-prefixes/")
        assert response.status_code == 200, response.data
        assert response.data["count"] == 2
        assert [row["id"] for row in response.data["results"]] == [child.pk, nested.pk]
        assert response.data["results"][0]["namespace"]["name"] == DEFAULT_NAMESPACE

    def test_child_prefixes_are_paginated(self, api):
        parent = make_prefix("10.30.0.0/16", status="container")
        children = [make_prefix(f"10.30.{i}.0/24") for i in range(5)]
        response = api.get(f"{PREFIXES}{parent.pk}/child-prefixes/", {"limit": 2, "offset": 2})
        assert response.data["count"] == 5
        assert [row["id"] for row in response.data["results"]] == [children[2].pk, children[3].pk]
        assert response.data["next"] is not None
        brief = api.get(f"{PREFIXES}{parent.pk}/child-prefixes/", {"brief": 1}).data["results"][0]
        assert set(brief) == {"id", "url", "display", "prefix", "family"}

    def test_child_ip_addresses(self, api):
        parent = make_prefix("2001:db8:40::/48")
        inside = [make_ip("2001:db8:40::2/64"), make_ip("2001:db8:40:ffff::1/64")]
        make_ip("2001:db8:41::1/64")
        make_ip("2001:db8:40::3/64", namespace=make_namespace())
        response = api.get(f"{PREFIXES}{parent.pk}/child-ip-addresses/")
        assert response.status_code == 200, response.data
        assert response.data["count"] == 2
        assert [row["id"] for row in response.data["results"]] == [address.pk for address in inside]

    def test_child_routes_are_read_only_and_404_for_unknown_prefixes(self, api):
        parent = make_prefix("10.40.0.0/16")
        assert api.post(f"{PREFIXES}{parent.pk}/child-prefixes/", {}, format="json").status_code == 405
        assert api.post(f"{PREFIXES}{parent.pk}/child-ip-addresses/", {}, format="json").status_code == 405
        assert api.get(f"{PREFIXES}999999/child-prefixes/").status_code == 404
        assert api.get(f"{PREFIXES}999999/child-ip-addresses/").status_code == 404

    def test_child_routes_refuse_anonymous(self, anonymous_api):
        parent = make_prefix("10.41.0.0/16")
        assert anonymous_api.get(f"{PREFIXES}{parent.pk}/child-prefixes/").status_code == 401


@pytest.mark.django_db
class TestUtilization:
    def utilization(self, api, prefix):
        response = api.get(f"{PREFIXES}{prefix.pk}/")
        assert response.status_code == 200, response.data
        return response.data["utilization"]

    def test_container_counts_top_level_children_once(self, api):
        container = make_prefix("10.50.0.0/16", status="container")
        make_prefix("10.50.0.0/24")
        make_prefix("10.50.0.0/25")  # nested in the /24: not counted again
        make_prefix("10.50.0.128/26")  # nested too
        make_prefix("10.50.4.0/22")
        make_prefix("10.50.4.0/24")
        make_ip("10.50.9.1/24")  # addresses do not count for a container
        assert self.utilization(api, container) == {"used": 256 + 1024, "total": 65536, "percent": 1.95}

    def test_active_prefix_counts_addresses(self, api):
        prefix = make_prefix("10.51.0.0/24")
        for host in (1, 2, 3):
            make_ip(f"10.51.0.{host}/24")
        make_ip("10.51.1.1/24")
        assert self.utilization(api, prefix) == {"used": 3, "total": 254, "percent": 1.18}

    def test_empty_and_ipv6(self, api):
        assert self.utilization(api, make_prefix("10.52.0.0/24")) == {"used": 0, "total": 254, "percent": 0.0}
        prefix = make_prefix("2001:db8:52::/126")
        make_ip("2001:db8:52::1/126")
        assert self.utilization(api, prefix) == {"used": 1, "total": 4, "percent": 25.0}
        container = make_prefix("2001:db8::/32", status="container")
        make_prefix("2001:db8:52::/48")
        make_prefix("2001:db8:52::/64")
        assert self.utilization(api, container) == {"used": 2**80, "total": 2**96, "percent": 0.0}
