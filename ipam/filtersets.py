"""Filters of the ipam API.

Network filters (``?within=``, ``?contains=``, ``?parent=``) parse their value with netaddr in the
form field, so a bad value is a 400 naming the filter, and then use the range-scan helpers of the
querysets: no filter reads every prefix or address.

NetBox's filter names (issue 10) sit beside ours: ``vrf_id`` (``null``: the global table, our
"Global" namespace), ``vrf`` (name or route distinguisher), ``mask_length``, ``site``/``site_id``
(the site and what lies in it), ``region_id`` (a country or metro and everything in it),
``device``/``device_id``, ``group``/``group_id`` (a VLAN's L2 domain). ``tenant`` (slug) and the
text lookups (``__n``, ``__ic``...) come with every ``BaseFilterSet``.
"""

import re

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog_site import access
from catalog_site.filtersets import (
    BaseFilterSet,
    MultipleTextField,
    RelatedTextFilter,
    RepeatableCSVWidget,
    StrictBooleanFilter,
    TreeNodeFilter,
)
from dcim.models import Device, Interface, Location
from dcim.selectors import regions, sites
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


def site_filters(relation: str):
    """``site_id``, ``site`` (slug) and ``region_id`` over the location at ``relation``.

    A site matches what lies in it (its buildings and zones); a region (a country or a metro)
    everything below it. One range condition on the location tree each.
    """
    return (
        TreeNodeFilter(relation=relation, queryset=sites(), label="Site (id), with what lies in it"),
        TreeNodeFilter(relation=relation, queryset=sites(), to_field_name="slug",
                       label="Site (slug), with what lies in it"),
        TreeNodeFilter(relation=relation, queryset=regions(),
                       label="Region (a country's or metro's id), with its subtree"),
    )


class IntegerInFilter(django_filters.BaseInFilter, django_filters.NumberFilter):
    """Integers, several allowed: ``?mask_length=24,25`` or ``?mask_length=24&mask_length=25``."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", RepeatableCSVWidget)
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(*args, **kwargs)


class VRFIdFilter(django_filters.ModelMultipleChoiceFilter):
    """NetBox's ``?vrf_id=N`` (several allowed); ``?vrf_id=null`` is the global table ("Global")."""

    def __init__(self, **kwargs):
        super().__init__(field_name="namespace", queryset=Namespace.objects.all(), null_label="Global (no VRF)",
                         null_value="null", label="VRF (namespace id; null: Global)", **kwargs)

    def filter(self, qs, value):
        value = [Namespace.get_default() if item == self.null_value else item for item in value or ()]
        return super().filter(qs, value)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class VRFFilter(django_filters.Filter):
    """NetBox's ``?vrf=``: a VRF by name or route distinguisher (several allowed)."""

    field_class = MultipleTextField

    def filter(self, qs, value):
        if not value:
            return qs
        namespaces = Namespace.objects.filter(Q(name__in=value) | Q(rd__in=value))
        return qs.filter(namespace__in=access.for_request(self.parent.request).restrict(namespaces))


class VRFFiltersMixin(BaseFilterSet):
    """The NetBox filters that prefixes and addresses share: their VRF and their length."""

    vrf_id = VRFIdFilter()
    vrf = VRFFilter(label="VRF (name or route distinguisher)")
    present_in_vrf_id = django_filters.ModelChoiceFilter(field_name="namespace", queryset=Namespace.objects.all(),
                                                         label="Present in VRF (namespace id)")
    mask_length = IntegerInFilter(field_name="prefix_length", label="Mask length (several allowed)")
    mask_length__gte = django_filters.NumberFilter(field_name="prefix_length", lookup_expr="gte")
    mask_length__lte = django_filters.NumberFilter(field_name="prefix_length", lookup_expr="lte")


class VRFFilterSet(BaseFilterSet):
    """NetBox's VRFs: ``?name=``, ``?rd=``, ``?tenant_id=`` (subtree), ``?tenant=`` (slug), ``?q=``."""

    tenant_id = tenant_filter()
    search_fields = ("name", "rd", "description")

    class Meta:
        model = Namespace
        fields = {"name": ["exact", "icontains"], "rd": ["exact"]}


class VLANGroupFilterSet(BaseFilterSet):
    """NetBox's VLAN groups: ``?name=``, ``?slug=``, ``?tenant_id=`` (subtree), ``?tenant=`` (slug), ``?q=``."""

    tenant_id = tenant_filter()
    search_fields = ("name", "slug", "description")

    class Meta:
        model = L2Domain
        fields = {"name": ["exact", "icontains"], "slug": ["exact"]}


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
    """``?vid=`` (several allowed; and ``__gte``/``__lte``), ``?l2domain_id=`` (NetBox's ``?group_id=``; ``?group=`` by
    slug), ``?name=``, ``?status=``, ``?role=``, ``?tenant_id=`` (subtree), ``?tenant=`` (slug),
    ``?location_id=``, ``?site_id=``/``?site=``/``?region_id=``, ``?q=`` (name, description, or the VLAN id)."""

    vid = IntegerInFilter(field_name="vid", label="VLAN id (several allowed)")
    l2domain_id = django_filters.ModelMultipleChoiceFilter(field_name="l2domain", queryset=L2Domain.objects.all())
    group_id = django_filters.ModelMultipleChoiceFilter(field_name="l2domain", queryset=L2Domain.objects.all(),
                                                        label="VLAN group (L2 domain id)")
    group = RelatedTextFilter(field_name="l2domain__slug", to_field_name="slug", queryset=L2Domain.objects.all(),
                              label="VLAN group (L2 domain slug)")
    status = status_filter(VLAN)
    tenant_id = tenant_filter()
    location_id = TreeNodeFilter(relation="location", queryset=Location.objects.all(),
                                 label="Location (with its subtree)")
    site_id, site, region_id = site_filters("location")
    search_fields = ("name", "description")

    class Meta:
        model = VLAN
        fields = {"vid": ["gte", "lte"], "name": ["exact", "icontains"], "role": ["exact"]}

    def search(self, queryset, name, value):
        value = value.strip()
        # ASCII digits only: str.isdigit() also holds for "²", which int() refuses.
        if VID_TEXT.fullmatch(value):
            return super().search(queryset, name, value) | queryset.filter(vid=int(value))
        return super().search(queryset, name, value)


class PrefixFilterSet(VRFFiltersMixin, BaseFilterSet):
    """Prefixes by network and by relation.

    - ``?prefix=10.0.0.0/8``: exactly this prefix (written any way netaddr accepts);
    - ``?within=10.0.0.0/8``: strictly inside it; ``?within_include=`` also the prefix itself;
    - ``?contains=10.1.2.3`` (or a CIDR): the prefixes that contain it, itself included;
    - ``?family=``, ``?prefix_length=`` or ``?mask_length=`` (``__gte``, ``__lte``), ``?status=``, ``?role=``;
    - ``?namespace_id=`` or ``?vrf_id=`` (``null``: Global), ``?vrf=`` (name or RD), ``?vlan_id=``;
    - ``?tenant_id=``, ``?tenant=`` (slug), ``?location_id=``, ``?site_id=``, ``?site=`` (slug) and
      ``?region_id=``, each with its subtree;
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
    site_id, site, region_id = site_filters("location")
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


class IPAddressFilterSet(VRFFiltersMixin, BaseFilterSet):
    """Addresses by value and by relation.

    - ``?address=10.0.0.1`` (any length) or ``?address=10.0.0.1/24`` (this length only);
    - ``?parent=10.0.0.0/24``: the addresses inside the network;
    - ``?family=``, ``?mask_length=`` (``__gte``, ``__lte``), ``?status=``, ``?role=``, ``?dns_name=``;
    - ``?namespace_id=`` or ``?vrf_id=`` (``null``: Global), ``?vrf=`` (name or RD);
    - ``?interface_id=``, ``?assigned_to_interface=``, ``?device_id=``, ``?device=`` (name);
    - ``?tenant_id=``, ``?tenant=`` (slug), and the device's ``?site_id=``, ``?site=`` (slug), ``?region_id=``;
    - ``?q=``: text in the address, DNS name or description.
    """

    address = AddressFilter(method="filter_address", label="Address")
    parent = NetworkFilter(method="filter_parent", label="Inside the network")
    status = status_filter(IPAddress)
    role = django_filters.MultipleChoiceFilter(choices=IPAddress.Role.choices)
    namespace_id = django_filters.ModelMultipleChoiceFilter(field_name="namespace", queryset=Namespace.objects.all())
    interface_id = django_filters.ModelMultipleChoiceFilter(field_name="interface", queryset=Interface.objects.all())
    device_id = django_filters.ModelMultipleChoiceFilter(field_name="interface__device",
                                                         queryset=Device.objects.all())
    device = RelatedTextFilter(field_name="interface__device__name", to_field_name="name",
                               queryset=Device.objects.all(), label="Device (name)")
    assigned_to_interface = StrictBooleanFilter(field_name="interface", lookup_expr="isnull", exclude=True,
                                                label="Assigned to an interface")
    tenant_id = tenant_filter()
    site_id, site, region_id = site_filters("interface__device__location")
    search_fields = ("address", "dns_name", "description")

    class Meta:
        model = IPAddress
        fields = {"family": ["exact"], "dns_name": ["exact", "icontains"]}

    def filter_address(self, queryset, name, address):
        query = Q(family=address.version, host=pack(int(address.ip)))
        if "/" in self.data.get(name, ""):
            query &= Q(prefix_length=address.prefixlen)
        return queryset.filter(query)

    def filter_parent(self, queryset, name, network):
        return queryset.within(network)
