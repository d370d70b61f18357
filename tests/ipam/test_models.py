"""Tests of address storage (ipam/addressing.py) and of the range-scan queryset helpers."""

import random

import netaddr
import pytest
from django.core.exceptions import ValidationError

from ipam.addressing import WIDTH, network_int, pack, parse_interface_address, parse_network, supernet_keys, unpack
from ipam.models import IPAddress, Prefix

from .factories import make_ip, make_namespace, make_prefix

MAX_V4 = 2**32 - 1
MAX_V6 = 2**128 - 1


class TestPacking:
    @pytest.mark.parametrize("value", [0, 1, 255, 256, MAX_V4, MAX_V4 + 1, 2**127, MAX_V6])
    def test_round_trip_at_fixed_width(self, value):
        packed = pack(value)
        assert len(packed) == WIDTH
        assert unpack(packed) == value
        assert unpack(memoryview(packed)) == value  # what PostgreSQL hands back

    def test_byte_order_is_numeric_order_across_the_whole_range(self):
        rng = random.Random(4094)
        values = [0, 1, 127, 128, 255, 256, MAX_V4, MAX_V4 + 1, 2**64 - 1, 2**64, 2**127 - 1, 2**127, MAX_V6]
        values += [rng.randrange(MAX_V6 + 1) for _ in range(500)]
        values += [rng.randrange(MAX_V4 + 1) for _ in range(500)]
        assert sorted(values, key=pack) == sorted(values)

    def test_too_large_value_is_refused(self):
        with pytest.raises(OverflowError):
            pack(MAX_V6 + 1)


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("10.0.0.0/8", "10.0.0.0/8"),
            (" 192.0.2.0/24 ", "192.0.2.0/24"),
            ("2001:DB8:0:0::/32", "2001:db8::/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::/0", "::/0"),
            ("192.0.2.7/32", "192.0.2.7/32"),
        ],
    )
    def test_valid_networks_are_canonical(self, text, expected):
        assert str(parse_network(text).cidr) == expected

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("10.0.0.1", "has no prefix length"),
            ("2001:db8::1", "has no prefix length"),
            ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
            ("2001:db8::1/32", "did you mean 2001:db8::/32"),
            ("10.0.0.256/24", "not a valid"),
            ("10.0.0.0/33", "not a valid"),
            ("2001:db8::/129", "not a valid"),
            ("garbage/24", "not a valid"),
        ],
    )
    def test_invalid_networks_say_why(self, text, message):
        with pytest.raises(ValueError, match=message):
            parse_network(text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("192.0.2.1/24", "192.0.2.1/24"), ("192.0.2.1", "192.0.2.1/32"), ("2001:DB8::1", "2001:db8::1/128")],
    )
    def test_interface_addresses_default_to_a_host_length(self, text, expected):
        assert str(parse_interface_address(text)) == expected

    @pytest.mark.parametrize("text", ["", "garbage", "10.0.0.256", "10.0.0.1/40"])
    def test_invalid_interface_addresses(self, text):
        with pytest.raises(ValueError, match="not a valid"):
            parse_interface_address(text)


class TestSupernetKeys:
    def test_every_strict_supernet_longest_first(self):
        network = netaddr.IPNetwork("10.1.2.0/24")
        keys = supernet_keys(network)
        assert len(keys) == 24
        assert keys[0] == (pack(int(netaddr.IPAddress("10.1.2.0"))), 23)
        assert keys[8] == (pack(int(netaddr.IPAddress("10.0.0.0"))), 15)  # 10.1/16 is odd: its /15 starts at 10.0
        assert keys[-1] == (pack(0), 0)
        assert keys == [(pack(int(s.network)), s.prefixlen) for s in reversed(network.supernet(0))]

    def test_ipv6(self):
        network = netaddr.IPNetwork("2001:db8:ff00::/40")
        keys = supernet_keys(network)
        assert len(keys) == 40
        assert keys == [(pack(int(s.network)), s.prefixlen) for s in reversed(network.supernet(0))]

    def test_the_whole_space_has_no_supernet(self):
        assert supernet_keys(netaddr.IPNetwork("0.0.0.0/0")) == []

    def test_network_int_clears_host_bits(self):
        value = int(netaddr.IPAddress("10.1.2.3"))
        assert network_int(value, 16, 4) == int(netaddr.IPAddress("10.1.0.0"))
        assert network_int(value, 32, 4) == value
        assert network_int(value, 0, 4) == 0
        v6 = int(netaddr.IPAddress("2001:db8::1"))
        assert network_int(v6, 32, 6) == int(netaddr.IPAddress("2001:db8::"))


@pytest.mark.django_db
class TestPrefixModel:
    def test_derived_fields(self):
        prefix = make_prefix("2001:DB8::/32")
        prefix.refresh_from_db()
        assert (prefix.prefix, prefix.family, prefix.prefix_length) == ("2001:db8::/32", 6, 32)
        assert unpack(prefix.network) == int(netaddr.IPAddress("2001:db8::"))
        assert unpack(prefix.broadcast) == int(netaddr.IPAddress("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"))
        assert prefix.size == 2**96

    def test_full_clean_names_the_field(self):
        with pytest.raises(ValidationError) as error:
            Prefix(prefix="10.0.0.1/8").full_clean()
        assert "prefix" in error.value.message_dict

    def test_ordering_is_by_address_not_text(self):
        namespace = make_namespace()
        texts = ["255.0.0.0/8", "10.0.0.0/16", "9.0.0.0/8", "128.0.0.0/1", "10.0.0.0/8", "0.0.0.0/8",
                 "100.0.0.0/8", "10.0.0.0/24"]
        for text in texts:
            make_prefix(text, namespace=namespace)
        make_prefix("2001:db8::/32", namespace=namespace)
        make_prefix("::/8", namespace=namespace)
        make_prefix("ff00::/8", namespace=namespace)
        ordered = list(Prefix.objects.filter(namespace=namespace).values_list("prefix", flat=True))
        assert ordered == ["0.0.0.0/8", "9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "100.0.0.0/8",
                           "128.0.0.0/1", "255.0.0.0/8", "::/8", "2001:db8::/32", "ff00::/8"]

    def test_within_strict_and_inclusive(self):
        namespace = make_namespace()
        parent = make_prefix("10.0.0.0/16", namespace=namespace)
        child = make_prefix("10.0.1.0/24", namespace=namespace)
        edge = make_prefix("10.0.255.252/30", namespace=namespace)
        make_prefix("10.1.0.0/24", namespace=namespace)
        make_prefix("::a00:0/120", namespace=namespace)  # the same low bits, IPv6
        make_prefix("10.0.2.0/24", namespace=make_namespace())
        network = netaddr.IPNetwork("10.0.0.0/16")
        assert set(Prefix.objects.within(network, namespace=namespace)) == {child, edge}
        assert set(Prefix.objects.within(network, namespace=namespace, include_self=True)) == {parent, child, edge}
        assert Prefix.objects.within(network).count() == 3  # every namespace

    def test_containing(self):
        namespace = make_namespace()
        top = make_prefix("10.0.0.0/8", namespace=namespace)
        mid = make_prefix("10.1.0.0/16", namespace=namespace)
        exact = make_prefix("10.1.2.0/24", namespace=namespace)
        make_prefix("10.2.0.0/16", namespace=namespace)
        make_prefix("::/0", namespace=namespace)
        network = netaddr.IPNetwork("10.1.2.0/24")
        assert set(Prefix.objects.containing(network, namespace=namespace)) == {top, mid}
        assert set(Prefix.objects.containing(network, namespace=namespace, include_self=True)) == {top, mid, exact}
        host = netaddr.IPNetwork("10.1.2.3/32")
        assert set(Prefix.objects.containing(host, namespace=namespace)) == {top, mid, exact}

    def test_parent_and_children(self):
        namespace = make_namespace()
        top = make_prefix("2001:db8::/32", namespace=namespace)
        mid = make_prefix("2001:db8:1::/48", namespace=namespace)
        leaf = make_prefix("2001:db8:1:1::/64", namespace=namespace)
        address = make_ip("2001:db8:1:1::1/64", namespace=namespace)
        make_ip("2001:db8:2::1/64", namespace=namespace)
        assert leaf.get_parent() == mid
        assert mid.get_parent() == top
        assert top.get_parent() is None
        assert list(top.get_child_prefixes()) == [mid, leaf]
        assert list(mid.get_child_ip_addresses()) == [address]

    def test_utilization_of_a_small_ipv4_prefix(self):
        prefix = make_prefix("192.0.2.0/31")
        make_ip("192.0.2.0/31")
        assert prefix.get_utilization() == {"used": 1, "total": 2, "percent": 50.0}


@pytest.mark.django_db
class TestIPAddressModel:
    def test_within(self):
        namespace = make_namespace()
        first = make_ip("10.0.0.0/24", namespace=namespace)
        last = make_ip("10.0.0.255/24", namespace=namespace)
        make_ip("10.0.1.0/24", namespace=namespace)
        make_ip("::a00:1/128", namespace=namespace)
        network = netaddr.IPNetwork("10.0.0.0/24")
        assert list(IPAddress.objects.within(network, namespace=namespace)) == [first, last]

    def test_duplicate_host_with_another_length_is_refused(self):
        make_ip("10.0.0.1/24")
        with pytest.raises(ValidationError) as error:
            IPAddress(address="10.0.0.1/32").full_clean()
        assert "address" in error.value.message_dict

    def test_host_address(self):
        assert IPAddress(address="2001:db8::1/64").host_address == "2001:db8::1"
