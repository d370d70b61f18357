"""The admin's global search: one box in the header of every page, results grouped by type.

What a term finds depends on what it looks like:

- an address (``10.1.2.3``, ``2001:db8::1``, or ``10.1.2.3/24`` with host bits): the address itself in
  every namespace, and every prefix that contains it, the most specific first;
- a network (``10.1.0.0/16``): that prefix and those containing it, the prefixes inside it and the
  addresses inside it (range scans on the packed columns: ``Prefix.objects.containing``/``within``);
- anything else: services by identifier or account reference, devices by name or serial, interfaces
  by name (``core1 Ethernet4`` also matches device then interface), VLANs by id or name, tenants by
  name or slug, IP addresses by DNS name.

Every group is read through ``access.for_request(request).restrict``, counted, and capped: it lists
``PER_GROUP`` objects, and "see all" leads to the changelist searching the same term (``?q=``) or, for
containment, which no changelist filter expresses, to this page showing that one group only.
Bad input (too long, NUL characters) is a form error on the field, never a query.
"""

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlencode

import netaddr
from django import forms
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from dcim.models import Device, Interface
from ipam.addressing import pack
from ipam.models import VLAN, IPAddress, Prefix
from services.models import Service
from tenancy.models import Tenant

from . import access

PER_GROUP = 10
# A group shown alone ("see all" of a containment group): still bounded, as a changelist page is.
GROUP_LIMIT = 500
MAX_LENGTH = 200


class SearchForm(forms.Form):
    """The header's search box. Django's CharField refuses NUL characters; the length is capped."""

    q = forms.CharField(label="Search", max_length=MAX_LENGTH, strip=True)
    group = forms.CharField(required=False, max_length=50, widget=forms.HiddenInput)


@dataclass
class Hit:
    label: str
    url: str | None
    detail: str = ""


@dataclass
class Group:
    """The results of one type (or one containment relation): a count and the first hits."""

    key: str
    title: str
    count: int
    hits: list[Hit] = field(default_factory=list)
    see_all_url: str | None = None


@dataclass
class Query:
    """A search term, classified: an address, a network, or text."""

    text: str
    address: netaddr.IPNetwork | None = None  # a host, as a /32 or /128
    network: netaddr.IPNetwork | None = None


def classify(text: str) -> Query:
    """Read ``text`` as an address, a network or plain text (strict: ``10.1`` is text, not 10.0.0.1)."""
    try:
        parsed = ipaddress.ip_interface(text)
        converted = netaddr.IPNetwork(str(parsed))
    except (ValueError, netaddr.AddrFormatError):
        return Query(text)
    width = parsed.max_prefixlen
    host = netaddr.IPNetwork(f"{converted.ip}/{width}")
    if "/" not in text or (parsed.ip != parsed.network.network_address and parsed.network.prefixlen < width):
        return Query(text, address=host)
    return Query(text, network=converted.cidr)


class Search:
    """One search by one user on one admin site: the groups this user may see, in a fixed order."""

    def __init__(self, request, admin_site, text: str, only: str = ""):
        self.request, self.admin_site, self.only = request, admin_site, only
        self.viewer = access.for_request(request)
        self.query = classify(text)

    # -- the groups ------------------------------------------------------------------------------
    def groups(self) -> list[Group]:
        query = self.query
        if query.address is not None:
            candidates = [self.addresses_equal(), self.prefixes_containing(query.address, str(query.address.ip))]
        elif query.network is not None:
            candidates = [self.prefixes_containing(query.network, str(query.network)),
                          self.prefixes_inside(query.network), self.addresses_inside(query.network)]
        else:
            candidates = [self.services(), self.devices(), self.interfaces(), self.vlans(), self.tenants(),
                          self.addresses_by_dns_name()]
        return [group for group in candidates if group is not None and group.count]

    def services(self):
        text = self.query.text
        queryset = Service.objects.filter(Q(service_identifier__icontains=text) | Q(account_reference__icontains=text))
        return self.group("services", "Services", queryset.select_related("service_type", "tenant"), lambda s: Hit(
            s.service_identifier, self.change_url(s), " · ".join(filter(None, [
                s.account_reference, s.service_type.name, s.tenant.name, s.get_status_display()]))))

    def devices(self):
        text = self.query.text
        queryset = Device.objects.filter(Q(name__icontains=text) | Q(serial__iexact=text))
        return self.group("devices", "Devices", queryset.select_related("location", "role"), lambda d: Hit(
            d.name, self.change_url(d),
            " · ".join(filter(None, [self.visible_name(d.location), d.role.name, d.serial]))))

    def interfaces(self):
        text = self.query.text
        match = Q(name__icontains=text)
        device_part, _, name_part = text.rpartition(" ")
        if device_part.strip() and name_part:
            match |= Q(device__name__icontains=device_part.strip(), name__icontains=name_part)
        queryset = Interface.objects.filter(match).select_related("device")
        return self.group("interfaces", "Interfaces", queryset, lambda i: Hit(
            f"{i.device.name} {i.name}", self.change_url(i),
            " · ".join(filter(None, [i.get_role_display(), i.get_status_display(),
                                     f"{i.speed} Mbps" if i.speed else ""]))))

    def vlans(self):
        text = self.query.text
        match = Q(name__icontains=text)
        if text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= 4094:
            match |= Q(vid=int(text))
        queryset = VLAN.objects.filter(match).select_related("l2domain")
        return self.group("vlans", "VLANs", queryset, lambda v: Hit(
            f"{v.vid} {v.name}", self.change_url(v), self.visible_name(v.l2domain)))

    def tenants(self):
        text = self.query.text
        queryset = Tenant.objects.filter(Q(name__icontains=text) | Q(slug__icontains=text))
        return self.group("tenants", "Tenants", queryset, lambda t: Hit(t.name, self.change_url(t), t.slug))

    def addresses_by_dns_name(self):
        queryset = IPAddress.objects.filter(dns_name__icontains=self.query.text)
        return self.group("ip-addresses", "IP addresses", queryset.select_related("namespace"), self.address_hit)

    def addresses_equal(self):
        host = self.query.address
        queryset = IPAddress.objects.filter(family=host.version, host=pack(int(host.ip)))
        return self.group("ip-addresses", "IP addresses", queryset.select_related("namespace"), self.address_hit,
                          see_all_text=str(host.ip))

    def addresses_inside(self, network):
        queryset = IPAddress.objects.within(network).select_related("namespace")
        return self.group("ip-addresses-inside", f"IP addresses inside {network}", queryset, self.address_hit,
                          containment=True)

    def prefixes_containing(self, network, shown: str):
        """The prefixes containing ``network`` or equal to it, the most specific first."""
        queryset = (Prefix.objects.containing(network, include_self=True)
                    .select_related("namespace").order_by("-prefix_length", "namespace__name"))
        return self.group("prefixes-containing", f"Prefixes containing {shown}", queryset, self.prefix_hit,
                          containment=True)

    def prefixes_inside(self, network):
        queryset = Prefix.objects.within(network).select_related("namespace").order_by("namespace__name", "network",
                                                                                        "prefix_length")
        return self.group("prefixes-inside", f"Prefixes inside {network}", queryset, self.prefix_hit, containment=True)

    # -- hits ------------------------------------------------------------------------------------
    def prefix_hit(self, prefix):
        return Hit(prefix.prefix, self.change_url(prefix), " · ".join(filter(None, [
            self.visible_name(prefix.namespace), prefix.get_status_display(), prefix.description])))

    def address_hit(self, address):
        return Hit(address.address, self.change_url(address), " · ".join(filter(None, [
            self.visible_name(address.namespace), address.dns_name, address.get_status_display()])))

    def visible_name(self, obj) -> str:
        """The name of a related object, or nothing if the viewer may not see it."""
        return str(obj) if obj is not None and self.viewer.can_see(obj) else ""

    # -- the machinery ---------------------------------------------------------------------------
    def group(self, key, title, queryset, hit, *, containment=False, see_all_text=None):
        """The group ``key``: visible rows only, counted, capped; None if the viewer may not list the model."""
        if self.only and key != self.only:
            return None
        model_admin = self.admin_site._registry.get(queryset.model)
        if model_admin is None or not model_admin.has_view_permission(self.request):
            return None
        visible = self.viewer.restrict(queryset)
        count = visible.count()
        limit = GROUP_LIMIT if self.only else PER_GROUP
        hits = [hit(obj) for obj in visible[:limit]] if count else []
        if not containment:
            see_all = self.changelist_url(queryset.model, see_all_text or self.query.text)
        elif count > len(hits) and not self.only:
            see_all = self.own_url(key)
        else:
            see_all = None
        return Group(key, title, count, hits, see_all)

    def change_url(self, obj) -> str | None:
        opts = obj._meta
        try:
            return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk],
                           current_app=self.admin_site.name)
        except NoReverseMatch:
            return None

    def changelist_url(self, model, text: str) -> str:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=self.admin_site.name)
        return f"{url}?{urlencode({'q': text})}"

    def own_url(self, key: str) -> str:
        url = reverse("admin:search", current_app=self.admin_site.name)
        return f"{url}?{urlencode({'q': self.query.text, 'group': key})}"
