"""The allocation service: idempotency, best fit, exhaustion, reuse, hand-made objects, IPv6."""

import netaddr
import pytest
from django.core.exceptions import ValidationError

from ipam import allocation
from ipam.allocation import IdentifierConflict, PoolExhausted
from ipam.freespace import free_addresses, gaps, range_to_blocks
from ipam.models import VLAN, FreeBlock, FreeSpace, IPAddress, NumberPool, Prefix, PrefixAllocation

pytestmark = pytest.mark.django_db


def blocks_of(container_text, kind=FreeSpace.Kind.PREFIX):
    space = FreeSpace.objects.get(container__prefix=container_text, kind=kind)
    return sorted(
        str(netaddr.IPNetwork((int.from_bytes(bytes(n), "big"), length), version=space.container.family))
        for n, length in FreeBlock.objects.filter(space=space).values_list("network", "prefix_length")
    )


def assert_index_matches_inventory(container_text):
    """The free blocks are exactly the container minus its children (no overlap, nothing missing)."""
    container = Prefix.objects.get(prefix=container_text)
    used = netaddr.IPSet(str(p.cidr) for p in container.get_child_prefixes())
    expected = netaddr.IPSet([container.prefix]) - used
    assert netaddr.IPSet(blocks_of(container_text)) == expected
    assert sum(netaddr.IPNetwork(b).size for b in blocks_of(container_text)) == expected.size


class TestHelpers:
    def test_range_to_blocks_is_the_minimal_cidr_cover(self):
        for first, last in [(0, 255), (1, 254), (5, 5), (3, 17), (2**32 - 2, 2**32 - 1)]:
            blocks = range_to_blocks(first, last, 32)
            expected = netaddr.iprange_to_cidrs(netaddr.IPAddress(first), netaddr.IPAddress(last))
            assert [f"{netaddr.IPAddress(n)}/{length}" for n, length in blocks] == [str(c) for c in expected]

    def test_gaps(self):
        assert gaps(0, 10, [(0, 2), (1, 3), (6, 6)]) == [(4, 5), (7, 10)]
        assert gaps(0, 10, []) == [(0, 10)]
        assert gaps(0, 10, [(0, 10)]) == []


class TestPrefixPool:
    def test_same_identifier_same_prefix(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        first = allocation.allocate_prefix(pool=pool, identifier="DI-1")
        again = allocation.allocate_prefix(pool=pool, identifier="DI-1")
        assert first.created and not again.created
        assert first.resource.pk == again.resource.pk
        assert first.resource.prefix == "203.0.113.0/28"
        assert PrefixAllocation.objects.filter(pool=pool).count() == 1

    def test_same_identifier_other_length_is_a_conflict_naming_both(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        allocation.allocate_prefix(pool=pool, identifier="DI-1", prefix_length=28)
        with pytest.raises(IdentifierConflict, match=r"/28.*/27"):
            allocation.allocate_prefix(pool=pool, identifier="DI-1", prefix_length=27)

    def test_distinct_and_non_overlapping(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        got = [allocation.allocate_prefix(pool=pool, identifier=f"S{i}", prefix_length=n).resource.cidr
               for i, n in enumerate([28, 29, 27, 28, 30, 26])]
        assert sum(c.size for c in got) == netaddr.IPSet(got).size  # no overlap
        assert_index_matches_inventory("203.0.113.0/24")

    def test_best_fit_prefers_the_smallest_hole(self, make_prefix_pool):
        pool = make_prefix_pool("10.0.0.0/24")
        # leave a /28 hole at .16 (made by hand around it) and a large free space after .64
        Prefix.objects.create(prefix="10.0.0.0/28")
        Prefix.objects.create(prefix="10.0.0.32/27")
        got = allocation.allocate_prefix(pool=pool, identifier="x", prefix_length=28).resource
        assert got.prefix == "10.0.0.16/28"
        got = allocation.allocate_prefix(pool=pool, identifier="y", prefix_length=26).resource
        assert got.prefix == "10.0.0.64/26"

    def test_hand_made_prefixes_are_skipped(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        Prefix.objects.create(prefix="203.0.113.0/28")
        Prefix.objects.create(prefix="203.0.113.16/28")
        got = allocation.allocate_prefix(pool=pool, identifier="a").resource
        assert got.prefix == "203.0.113.32/28"

    def test_hand_made_prefixes_bypassing_signals_are_still_skipped(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        imported = Prefix(prefix="203.0.113.0/25")
        imported.set_derived_fields()
        Prefix.objects.bulk_create([imported])  # no signals: the index still believes it free
        got = allocation.allocate_prefix(pool=pool, identifier="a").resource
        assert got.prefix == "203.0.113.128/28"
        assert_index_matches_inventory("203.0.113.0/24")

    def test_exhaustion_names_the_pool_and_the_length(self, make_prefix_pool):
        pool = make_prefix_pool("192.0.2.0/27")
        allocation.allocate_prefix(pool=pool, identifier="a")
        allocation.allocate_prefix(pool=pool, identifier="b")
        with pytest.raises(PoolExhausted, match=r"Customer prefixes pool.*/28"):
            allocation.allocate_prefix(pool=pool, identifier="c")
        assert Prefix.objects.count() == 3

    def test_resources_are_tried_in_order(self, make_prefix_pool):
        pool = make_prefix_pool("192.0.2.0/27", "198.51.100.0/24")
        assert allocation.allocate_prefix(pool=pool, identifier="a").resource.prefix == "192.0.2.0/28"
        assert allocation.allocate_prefix(pool=pool, identifier="b").resource.prefix == "192.0.2.16/28"
        assert allocation.allocate_prefix(pool=pool, identifier="c").resource.prefix == "198.51.100.0/28"

    def test_deleted_prefix_frees_identifier_and_space(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        first = allocation.allocate_prefix(pool=pool, identifier="a").resource
        allocation.allocate_prefix(pool=pool, identifier="b")
        first.delete()
        assert not PrefixAllocation.objects.filter(identifier="a").exists()
        again = allocation.allocate_prefix(pool=pool, identifier="c").resource
        assert again.prefix == "203.0.113.0/28"
        assert_index_matches_inventory("203.0.113.0/24")

    def test_release_gives_everything_back_and_merges(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        for i in range(5):
            allocation.allocate_prefix(pool=pool, identifier=f"s{i}")
        for i in range(5):
            assert allocation.release(pool=pool, identifier=f"s{i}")
        assert not allocation.release(pool=pool, identifier="s0")
        assert blocks_of("203.0.113.0/24") == ["203.0.113.0/24"]

    def test_nested_hand_made_prefix_deleted_inside_another_frees_nothing(self, make_prefix_pool):
        make_prefix_pool("10.0.0.0/16")
        outer = Prefix.objects.create(prefix="10.0.1.0/24")
        inner = Prefix.objects.create(prefix="10.0.1.0/26")
        inner.delete()
        assert_index_matches_inventory("10.0.0.0/16")
        outer.delete()
        assert_index_matches_inventory("10.0.0.0/16")
        assert blocks_of("10.0.0.0/16") == ["10.0.0.0/16"]

    def test_edited_prefix_moves_its_space(self, make_prefix_pool):
        make_prefix_pool("10.0.0.0/16")
        prefix = Prefix.objects.create(prefix="10.0.1.0/24")
        prefix.prefix = "10.0.7.0/24"
        prefix.save()
        assert_index_matches_inventory("10.0.0.0/16")

    def test_data_sets_fields_and_bad_data_is_refused_without_side_effects(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        got = allocation.allocate_prefix(pool=pool, identifier="a", data={"description": "for DI-1"}).resource
        assert got.description == "for DI-1"
        before = blocks_of("203.0.113.0/24")
        with pytest.raises(ValidationError) as err:
            allocation.allocate_prefix(pool=pool, identifier="b", data={"status": "bogus"})
        assert "data" in err.value.message_dict
        with pytest.raises(ValidationError):
            allocation.allocate_prefix(pool=pool, identifier="b", data={"prefix": "1.2.3.0/24"})
        assert blocks_of("203.0.113.0/24") == before
        assert not PrefixAllocation.objects.filter(identifier="b").exists()

    def test_invalid_requests(self, make_prefix_pool):
        pool = make_prefix_pool("203.0.113.0/24")
        for kwargs, field in [({"identifier": ""}, "identifier"),
                              ({"identifier": "x", "prefix_length": 24}, "prefix_length"),
                              ({"identifier": "x", "prefix_length": 33}, "prefix_length"),
                              ({"identifier": "x", "prefix_length": "28"}, "prefix_length")]:
            with pytest.raises(ValidationError) as err:
                allocation.allocate_prefix(pool=pool, **kwargs)
            assert field in err.value.message_dict

    def test_ipv6(self, make_prefix_pool):
        pool = make_prefix_pool("2001:db8::/32", length=48)
        Prefix.objects.create(prefix="2001:db8::/48")
        got = [allocation.allocate_prefix(pool=pool, identifier=f"v6-{i}").resource.prefix for i in range(3)]
        assert got == ["2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:3::/48"]
        assert allocation.allocate_prefix(pool=pool, identifier="small", prefix_length=64).resource.prefix == \
            "2001:db8:4::/64"
        assert_index_matches_inventory("2001:db8::/32")


class TestIPAddressPool:
    def test_lowest_free_skipping_network_broadcast_and_hand_made(self, make_ip_pool):
        pool = make_ip_pool("172.16.1.0/29")
        IPAddress.objects.create(address="172.16.1.2/29")
        got = [allocation.allocate_ip_address(pool=pool, identifier=f"h{i}").resource.address for i in range(5)]
        assert got == ["172.16.1.1/29", "172.16.1.3/29", "172.16.1.4/29", "172.16.1.5/29", "172.16.1.6/29"]
        with pytest.raises(PoolExhausted, match="Management IP pool"):
            allocation.allocate_ip_address(pool=pool, identifier="h9")

    def test_idempotent_and_reuse_after_delete(self, make_ip_pool):
        pool = make_ip_pool("172.16.1.0/24")
        first = allocation.allocate_ip_address(pool=pool, identifier="a")
        assert allocation.allocate_ip_address(pool=pool, identifier="a").resource.pk == first.resource.pk
        allocation.allocate_ip_address(pool=pool, identifier="b")
        first.resource.delete()
        assert allocation.allocate_ip_address(pool=pool, identifier="c").resource.address == "172.16.1.1/24"
        space = FreeSpace.objects.get(kind="ip")
        assert free_addresses(space) == 254 - 2

    def test_point_to_point_use_every_address_and_ipv6_skips_subnet_router_anycast(self, make_ip_pool):
        pool = make_ip_pool("192.0.2.0/31", "2001:db8::/127", "2001:db8:1::/126")
        got = [allocation.allocate_ip_address(pool=pool, identifier=f"a{i}").resource.address for i in range(7)]
        assert got == ["192.0.2.0/31", "192.0.2.1/31", "2001:db8::/127", "2001:db8::1/127", "2001:db8:1::1/126",
                       "2001:db8:1::2/126", "2001:db8:1::3/126"]

    def test_bulk_imported_address_is_skipped(self, make_ip_pool):
        pool = make_ip_pool("172.16.1.0/24")
        ip = IPAddress(address="172.16.1.1/24")
        ip.set_derived_fields()
        ip.namespace_id = Prefix.objects.get().namespace_id
        IPAddress.objects.bulk_create([ip])
        assert allocation.allocate_ip_address(pool=pool, identifier="a").resource.address == "172.16.1.2/24"


class TestNumberPool:
    def test_lowest_free_and_idempotent(self, vlan_pool):
        assert allocation.allocate_number(pool=vlan_pool, identifier="a") == allocation.Allocation(1000, True)
        assert allocation.allocate_number(pool=vlan_pool, identifier="a") == allocation.Allocation(1000, False)
        assert allocation.allocate_number(pool=vlan_pool, identifier="b").resource == 1001

    def test_vlans_in_the_domain_are_skipped_and_given_back(self, vlan_pool):
        VLAN.objects.create(vid=1000, name="by hand")
        vlan = VLAN.objects.create(vid=1001, name="by hand too")
        assert allocation.allocate_number(pool=vlan_pool, identifier="a").resource == 1002
        vlan.delete()
        assert allocation.allocate_number(pool=vlan_pool, identifier="b").resource == 1001

    def test_vlan_of_an_allocated_number_deleted_keeps_the_number_allocated(self, vlan_pool):
        value = allocation.allocate_number(pool=vlan_pool, identifier="DI-1").resource
        vlan = VLAN.objects.create(vid=value, name="vlan__DI-1")
        vlan.delete()
        assert allocation.allocate_number(pool=vlan_pool, identifier="DI-2").resource == value + 1

    def test_exhaustion_and_release(self, db):
        pool = NumberPool.objects.create(name="tiny", start=5, end=6)
        allocation.allocate_number(pool=pool, identifier="a")
        allocation.allocate_number(pool=pool, identifier="b")
        with pytest.raises(PoolExhausted, match=r"tiny \(5-6\)"):
            allocation.allocate_number(pool=pool, identifier="c")
        assert allocation.release(pool=pool, identifier="a")
        assert allocation.allocate_number(pool=pool, identifier="c").resource == 5

    def test_range_change_rebuilds(self, vlan_pool):
        allocation.allocate_number(pool=vlan_pool, identifier="a")
        vlan_pool.start, vlan_pool.end = 900, 1000
        vlan_pool.save()
        got = {allocation.allocate_number(pool=vlan_pool, identifier=f"n{i}").resource for i in range(100)}
        assert got == set(range(900, 1000))
