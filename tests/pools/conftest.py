import pytest

from ipam.models import (
    IPAddressPool,
    IPAddressPoolResource,
    L2Domain,
    NumberPool,
    Prefix,
    PrefixPool,
    PrefixPoolResource,
)


@pytest.fixture
def make_prefix_pool(db):
    def make(*containers, name="Customer prefixes pool", length=28):
        pool = PrefixPool.objects.create(name=name, default_prefix_length=length)
        for position, text in enumerate(containers):
            container, _ = Prefix.objects.get_or_create(prefix=text, defaults={"status": "container"})
            PrefixPoolResource.objects.create(pool=pool, prefix=container, position=position)
        return pool

    return make


@pytest.fixture
def make_ip_pool(db):
    def make(*prefixes, name="Management IP pool"):
        pool = IPAddressPool.objects.create(name=name)
        for position, text in enumerate(prefixes):
            prefix, _ = Prefix.objects.get_or_create(prefix=text)
            IPAddressPoolResource.objects.create(pool=pool, prefix=prefix, position=position)
        return pool

    return make


@pytest.fixture
def vlan_pool(db):
    return NumberPool.objects.create(name="Customer vlan pool", start=1000, end=2000, l2domain=L2Domain.get_default())
