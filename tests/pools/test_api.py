"""The pool endpoints and NetBox's free-space endpoints."""

import pytest

from ipam.models import VLAN, IPAddress, L2Domain, NumberPool, Prefix, PrefixAllocation, PrefixPool
from tests.api_mixins import APIViewTests, next_number

pytestmark = pytest.mark.django_db


class TestPrefixPoolAPI(APIViewTests):
    url_name = "ipam-api:prefixpool"
    model = PrefixPool
    brief_fields = ("id", "url", "display", "name")
    list_queries = 5  # token, count, page, resources and their prefixes (two prefetches)

    def container(self):
        n = next_number()
        return Prefix.objects.create(prefix=f"10.{n % 250}.{n // 250}.0/24", status="container")

    def make_objects(self, count):
        pools = []
        for _ in range(count):
            pool = PrefixPool.objects.create(name=f"pool {next_number()}", default_prefix_length=28)
            pool.pool_resources.create(prefix=self.container())
            pools.append(pool)
        return pools

    def create_data(self):
        return [{"name": f"new {next_number()}", "resources": [self.container().pk], "default_prefix_length": 29}
                for _ in range(3)]

    def invalid_data(self):
        return {"name": "bad", "resources": [999999]}, "resources"

    def update_data(self):
        return {"default_prefix_length": 27, "description": "changed"}

    def filter_cases(self, objects):
        return [({"name": objects[1].name}, [objects[1].pk])]

    def test_allocate_release_and_utilization(self, api):
        pool = self.make_objects(1)[0]
        url = f"/api/ipam/prefix-pools/{pool.pk}/"
        first = api.post(url + "allocate/", {"identifier": "DI-12345"}, format="json")
        assert first.status_code == 201, first.data
        assert first.data["prefix"].endswith(".0/28") and first.data["identifier"] == "DI-12345"
        again = api.post(url + "allocate/", {"identifier": "DI-12345"}, format="json")
        assert again.status_code == 200 and again.data["id"] == first.data["id"]
        conflict = api.post(url + "allocate/", {"identifier": "DI-12345", "prefix_length": 27}, format="json")
        assert conflict.status_code == 409 and "/28" in conflict.data["detail"] and "/27" in conflict.data["detail"]
        detail = api.get(url).data
        assert detail["utilization"] == {"used": 16, "total": 256, "percent": 6.25, "allocations": 1}
        ledger = api.get(url + "allocations/").data
        assert ledger["count"] == 1 and ledger["results"][0]["identifier"] == "DI-12345"
        assert api.post(url + "release/", {"identifier": "DI-12345"}, format="json").status_code == 204
        assert api.post(url + "release/", {"identifier": "DI-12345"}, format="json").status_code == 404
        assert not Prefix.objects.filter(pk=first.data["id"]).exists()

    def test_allocate_bad_input_is_a_400(self, api):
        pool = self.make_objects(1)[0]
        url = f"/api/ipam/prefix-pools/{pool.pk}/allocate/"
        for body, field in [({}, "identifier"), ({"identifier": "x", "prefix_length": "abc"}, "prefix_length"),
                            ({"identifier": "x", "prefix_length": 16}, "prefix_length"),
                            ({"identifier": "x", "data": {"status": "nope"}}, "data"),
                            ({"identifier": "x", "data": {"tenant": 999999}}, "data"),
                            ({"identifier": "x", "data": "text"}, "data")]:
            response = api.post(url, body, format="json")
            assert response.status_code == 400, (body, response.data)
            assert field in response.data, (body, response.data)
        assert not PrefixAllocation.objects.exists()

    def test_exhaustion_is_a_409_naming_pool_and_request(self, api):
        pool = self.make_objects(1)[0]
        url = f"/api/ipam/prefix-pools/{pool.pk}/allocate/"
        assert api.post(url, {"identifier": "a", "prefix_length": 25}, format="json").status_code == 201
        assert api.post(url, {"identifier": "b", "prefix_length": 25}, format="json").status_code == 201
        response = api.post(url, {"identifier": "c", "prefix_length": 25}, format="json")
        assert response.status_code == 409
        assert pool.name in response.data["detail"] and "/25" in response.data["detail"]


class TestNumberPoolAPI(APIViewTests):
    url_name = "ipam-api:numberpool"
    model = NumberPool
    brief_fields = ("id", "url", "display", "name")
    list_queries = 3

    def make_objects(self, count):
        return [NumberPool.objects.create(name=f"numbers {next_number()}", start=1, end=100) for _ in range(count)]

    def create_data(self):
        domain = L2Domain.get_default()
        return [{"name": f"vlans {next_number()}", "start": 1000, "end": 2000, "l2domain": domain.pk}
                for _ in range(3)]

    def invalid_data(self):
        return {"name": "backwards", "start": 10, "end": 5}, "end"

    def update_data(self):
        return {"end": 50}

    def test_allocate_numbers(self, api):
        pool = NumberPool.objects.create(name="vlans", start=1000, end=1001, l2domain=L2Domain.get_default())
        VLAN.objects.create(vid=1000, name="by hand")
        url = f"/api/ipam/number-pools/{pool.pk}/allocate/"
        response = api.post(url, {"identifier": "DI-1"}, format="json")
        assert response.status_code == 201 and response.data == {"value": 1001, "identifier": "DI-1"}
        assert api.post(url, {"identifier": "DI-1"}, format="json").status_code == 200
        exhausted = api.post(url, {"identifier": "DI-2"}, format="json")
        assert exhausted.status_code == 409 and "vlans" in exhausted.data["detail"]
        assert api.get(f"/api/ipam/number-pools/{pool.pk}/").data["utilization"]["used"] == 2

    def test_vlan_pool_outside_1_4094_is_a_400(self, api):
        response = api.post("/api/ipam/number-pools/", {"name": "x", "start": 4000, "end": 5000,
                                                        "l2domain": L2Domain.get_default().pk}, format="json")
        assert response.status_code == 400 and "end" in response.data


class TestIPPoolAPI:
    def test_crud_and_allocate(self, api):
        prefix = Prefix.objects.create(prefix="172.16.1.0/24")
        created = api.post("/api/ipam/ip-pools/", {"name": "Management IP pool", "resources": [prefix.pk]},
                           format="json")
        assert created.status_code == 201, created.data
        assert created.data["resources"][0]["prefix"] == "172.16.1.0/24"
        url = f"/api/ipam/ip-pools/{created.data['id']}/allocate/"
        response = api.post(url, {"identifier": "sw01", "data": {"dns_name": "sw01.mgmt"}}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["address"] == "172.16.1.1/24"
        assert IPAddress.objects.get(pk=response.data["id"]).dns_name == "sw01.mgmt"
        detail = api.get(f"/api/ipam/ip-pools/{created.data['id']}/").data
        assert detail["utilization"]["used"] == 1 and detail["utilization"]["total"] == 254


class TestFreeSpaceEndpoints:
    def test_available_prefixes(self, api):
        parent = Prefix.objects.create(prefix="192.0.2.0/24", status="container")
        Prefix.objects.create(prefix="192.0.2.0/26")
        url = f"/api/ipam/prefixes/{parent.pk}/available-prefixes/"
        assert [row["prefix"] for row in api.get(url).data] == ["192.0.2.64/26", "192.0.2.128/25"]
        one = api.post(url, {"prefix_length": 28, "description": "new"}, format="json")
        assert one.status_code == 201, one.data
        assert one.data["prefix"] == "192.0.2.64/28" and one.data["description"] == "new"
        many = api.post(url, [{"prefix_length": 26}, {"prefix_length": 27}], format="json")
        assert many.status_code == 201
        assert [row["prefix"] for row in many.data] == ["192.0.2.128/26", "192.0.2.96/27"]

    def test_available_prefixes_all_or_nothing_and_409(self, api):
        parent = Prefix.objects.create(prefix="192.0.2.0/30", status="container")
        url = f"/api/ipam/prefixes/{parent.pk}/available-prefixes/"
        response = api.post(url, [{"prefix_length": 31}, {"prefix_length": 31}, {"prefix_length": 31}],
                            format="json")
        assert response.status_code == 409
        assert Prefix.objects.count() == 1
        assert api.post(url, {"prefix_length": 24}, format="json").status_code == 400
        assert api.post(url, {}, format="json").status_code == 400
        assert api.post(url, "garbage", format="json").status_code == 400

    def test_available_ips(self, api):
        parent = Prefix.objects.create(prefix="192.0.2.0/29")
        IPAddress.objects.create(address="192.0.2.1/29")
        url = f"/api/ipam/prefixes/{parent.pk}/available-ips/"
        assert [row["address"] for row in api.get(url).data] == [f"192.0.2.{n}/29" for n in range(2, 7)]
        response = api.post(url, [{"dns_name": "a.example"}, {}], format="json")
        assert response.status_code == 201
        assert [row["address"] for row in response.data] == ["192.0.2.2/29", "192.0.2.3/29"]
        api.post(url, [{}, {}, {}], format="json")
        assert api.post(url, {}, format="json").status_code == 409

    def test_available_vlans(self, api):
        domain = L2Domain.get_default()
        VLAN.objects.create(vid=1, name="default")
        url = f"/api/ipam/l2-domains/{domain.pk}/available-vlans/"
        free = api.get(url).data
        assert len(free) == 4093 and free[0]["vid"] == 2
        response = api.post(url, [{"name": "a"}, {"name": "b"}], format="json")
        assert response.status_code == 201
        assert [row["vid"] for row in response.data] == [2, 3]
        missing_name = api.post(url, {}, format="json")
        assert missing_name.status_code == 400

    def test_free_space_needs_permissions(self, anonymous_api):
        parent = Prefix.objects.create(prefix="192.0.2.0/29")
        assert anonymous_api.get(f"/api/ipam/prefixes/{parent.pk}/available-ips/").status_code == 401
