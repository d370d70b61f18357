"""Filters of the ipam API.

Network filters (``?within=``, ``?contains=``, ``?parent=``) parse their value with netaddr in the
form field, so a bad value is a 400 naming the filter, and then use the range-scan helpers of the
querysets: no filter reads every prefix or address.
"""

import re

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog_site.filtersets import BaseFilterSet, TreeNodeFilter
from dcim.models import Device, Interface, Location
from tenancy.models import Tenant

from .addressing import pack, parse_interface_address, parse_network
from .models import VLAN, IPAddress, L2Domain, Namespace, Prefix


class NetworkField(forms.CharField):
    """A CIDR network (``10.0.0.0/8``, ``2001:db8::/32``), host bits refused; cleans to ``IPNetwork``."""

    parse = staticmethod(parse_network)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        try:
            return self.parse(value)
        except ValueError as exc:
            # The reason quotes the value: passed as a parameter, never read as a format string.
            raise forms.ValidationError("%(reason)s", code="invalid", params={"reason": str(exc)}) from exc


class AddressField(NetworkField):
    """An address with or without its length (``10.0.0.1``, ``10.0.0.1/24``); cleans to ``IPNetwork``."""

    parse = staticmethod(parse_interface_address)


@extend_schema_field(OpenApiTypes.STR)
class NetworkFilter(django_filters.Filter):
    field_class = NetworkField


@extend_schema_field(OpenApiTypes.STR)
class AddressFilter(django_filters.Filter):
    field_class = AddressField


VID_TEXT = re.compile(r"[0-9]{1,4}")


def status_filter(model):
    """``?status=`` with several values allowed (``?status=active&status=reserved``)."""
    return django_filters.MultipleChoiceFilter(choices=model.Status.choices)


def tenant_filter():
    return TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all(), label="Tenant (with its subtree)")


class NamespaceFilterSet(BaseFilterSet):
    """``?name=``, ``?tenant_id=`` (subtree), ``?q=``."""

    tenant_id = tenant_filter()
    search_fields = ("name", "description")

    class Meta:
        model = Namespace
        fields = {"name": ["exact", "icontains"]}


class L2DomainFilterSet(BaseFilterSet):
    """``?name=``, ``?tenant_id=`` (subtree), ``?q=``."""

    tenant_id = tenant_filter()
    search_fields = ("name", "description")

    class Meta:
        model = L2Domain
        fields = {"name": ["exact", "icontains"]}


class VLANFilterSet(BaseFilterSet):
    """``?vid=`` (and ``__gte``/``__lte``), ``?l2domain_id=``, ``?name=``, ``?status=``, ``?role=``,
    ``?tenant_id=`` (subtree), ``?q=`` (name, description, or the VLAN id itself)."""

    l2domain_id = django_filters.ModelMultipleChoiceFilter(field_name="l2domain", queryset=L2Domain.objects.all())
    status = status_filter(VLAN)
    tenant_id = tenant_filter()
    search_fields = ("name", "description")

    class Meta:
        model = VLAN
        fields = {"vid": ["exact", "gte", "lte"], "name": ["exact", "icontains"], "role": ["exact"]}

    def search(self, queryset, name, value):
        value = value.strip()
        # ASCII digits only: str.isdigit() also holds for "²", which int() refuses.
        if VID_TEXT.fullmatch(value):
            return super().search(queryset, name, value) | queryset.filter(vid=int(value))
        return super().search(queryset, name, value)


class PrefixFilterSet(BaseFilterSet):
    """Prefixes by network and by relation.

    - ``?prefix=10.0.0.0/8``: exactly this prefix (written any way netaddr accepts);
    - ``?within=10.0.0.0/8``: strictly inside it; ``?within_include=`` also the prefix itself;
    - ``?contains=10.1.2.3`` (or a CIDR): the prefixes that contain it, itself included;
    - ``?family=``, ``?prefix_length=`` (``__gte``, ``__lte``), ``?status=``, ``?role=``;
    - ``?namespace_id=``, ``?vlan_id=``, ``?tenant_id=`` and ``?location_id=`` (with their subtrees);
    - ``?q=``: text in the prefix or its description.
    """

    prefix = NetworkFilter(method="filter_prefix", label="Prefix")
    within = NetworkFilter(method="filter_within", label="Within (strictly)")
    within_include = NetworkFilter(method="filter_within_include", label="Within (or equal)")
    contains = AddressFilter(method="filter_contains", label="Contains (an address or a prefix)")
    status = status_filter(Prefix)
    namespace_id = django_filters.ModelMultipleChoiceFilter(field_name="namespace", queryset=Namespace.objects.all())
    vlan_id = django_filters.ModelMultipleChoiceFilter(field_name="vlan", queryset=VLAN.objects.all())
    tenant_id = tenant_filter()
    location_id = TreeNodeFilter(relation="location", queryset=Location.objects.all(),
                                 label="Location (with its subtree)")
    search_fields = ("prefix", "description")

    class Meta:
        model = Prefix
        fields = {"family": ["exact"], "prefix_length": ["exact", "gte", "lte"], "role": ["exact"]}

    def filter_prefix(self, queryset, name, network):
        return queryset.filter(family=network.version, network=pack(int(network.network)),
                               prefix_length=network.prefixlen)

    def filter_within(self, queryset, name, network):
        return queryset.within(network)

    def filter_within_include(self, queryset, name, network):
        return queryset.within(network, include_self=True)

    def filter_contains(self, queryset, name, value):
        return queryset.containing(value.cidr, include_self=True)


class IPAddressFilterSet(BaseFilterSet):
    """Addresses by value and by relation.

    - ``?address=10.0.0.1`` (any length) or ``?address=10.0.0.1/24`` (this length only);
    - ``?parent=10.0.0.0/24``: the addresses inside the network;
    - ``?family=``, ``?status=``, ``?role=``, ``?dns_name=``;
    - ``?namespace_id=``, ``?interface_id=``, ``?device_id=``, ``?tenant_id=`` (subtree);
    - ``?q=``: text in the address, DNS name or description.
    """

    address = AddressFilter(method="filter_address", label="Address")
    parent = NetworkFilter(method="filter_parent", label="Inside the network")
    status = status_filter(IPAddress)
    namespace_id = django_filters.ModelMultipleChoiceFilter(field_name="namespace", queryset=Namespace.objects.all())
    interface_id = django_filters.ModelMultipleChoiceFilter(field_name="interface", queryset=Interface.objects.all())
    device_id = django_filters.ModelMultipleChoiceFilter(field_name="interface__device",
                                                         queryset=Device.objects.all())
    tenant_id = tenant_filter()
    search_fields = ("address", "dns_name", "description")

    class Meta:
        model = IPAddress
        fields = {"family": ["exact"], "role": ["exact"], "dns_name": ["exact", "icontains"]}

    def filter_address(self, queryset, name, address):
        query = Q(family=address.version, host=pack(int(address.ip)))
        if "/" in self.data.get(name, ""):
            query &= Q(prefix_length=address.prefixlen)
        return queryset.filter(query)

    def filter_parent(self, queryset, name, network):
        return queryset.within(network)
