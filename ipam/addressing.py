"""How addresses are stored so that the database can range-scan them.

Every address is kept as 16 bytes, big-endian (IPv4 in the low four bytes), beside its family.
Byte strings of one width compare like the numbers they encode, in PostgreSQL (``bytea``) and in
SQLite (``BLOB``) alike, so "all prefixes inside 10.0.0.0/8" is an index range scan on
``(namespace, family, network)`` in both databases. Queries always include the family, so an IPv4
address and the IPv6 address with the same low bits never meet.
"""

import netaddr

WIDTH = 16


def pack(value: int) -> bytes:
    """An address as a fixed-width, order-preserving byte string."""
    return value.to_bytes(WIDTH, "big")


def unpack(value) -> int:
    """The inverse of :func:`pack` (PostgreSQL hands back a memoryview)."""
    return int.from_bytes(bytes(value), "big")


def parse_network(text: str) -> netaddr.IPNetwork:
    """Parse a CIDR (``10.0.0.0/24``, ``2001:db8::/32``); raise ``ValueError`` with the reason.

    A bare address is not a prefix: the length must be given. Host bits set are refused, naming
    the network the user probably meant.
    """
    text = str(text).strip()
    try:
        network = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(f"'{text}' is not a valid IPv4 or IPv6 network.") from exc
    if "/" not in text:
        example = "64" if network.version == 6 else "24"
        raise ValueError(f"'{text}' has no prefix length; write it as a network, e.g. '{text}/{example}'.")
    if network.ip != network.network:
        raise ValueError(f"'{text}' has host bits set; did you mean {network.cidr}?")
    return network


def parse_interface_address(text: str) -> netaddr.IPNetwork:
    """Parse an address with its length (``192.0.2.1/24``); a bare address is a host (/32, /128)."""
    text = str(text).strip()
    try:
        address = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise ValueError(f"'{text}' is not a valid IPv4 or IPv6 address.") from exc
    return address


def bits(family: int) -> int:
    return 32 if family == 4 else 128


def network_int(value: int, length: int, family: int) -> int:
    """``value`` with every bit past ``length`` cleared."""
    width = bits(family)
    return value & (((1 << length) - 1) << (width - length))


def supernet_keys(network: netaddr.IPNetwork) -> list[tuple[bytes, int]]:
    """``(packed network, length)`` of every strict supernet of ``network``, longest first.

    Finding a prefix's parent this way is a handful of index lookups, instead of scanning every
    prefix that starts before it.
    """
    value = int(network.network)
    return [
        (pack(network_int(value, length, network.version)), length)
        for length in range(network.prefixlen - 1, -1, -1)
    ]
