from .ip import DEFAULT_NAMESPACE, IPAddress, Namespace, Prefix, default_namespace_id
from .pools import (
    FreeBlock,
    FreeSpace,
    IPAddressAllocation,
    IPAddressPool,
    IPAddressPoolResource,
    NumberAllocation,
    NumberFreeRange,
    NumberPool,
    PrefixAllocation,
    PrefixPool,
    PrefixPoolResource,
)
from .vlans import DEFAULT_L2DOMAIN, VLAN, L2Domain, default_l2domain_id

__all__ = (
    "FreeBlock",
    "FreeSpace",
    "IPAddressAllocation",
    "IPAddressPool",
    "IPAddressPoolResource",
    "NumberAllocation",
    "NumberFreeRange",
    "NumberPool",
    "PrefixAllocation",
    "PrefixPool",
    "PrefixPoolResource",
    "DEFAULT_L2DOMAIN",
    "DEFAULT_NAMESPACE",
    "VLAN",
    "IPAddress",
    "L2Domain",
    "Namespace",
    "Prefix",
    "default_l2domain_id",
    "default_namespace_id",
)
