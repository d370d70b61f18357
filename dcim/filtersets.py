"""Filters of the dcim API.

Location filters are tree-aware: ``?location_id=X`` on devices and interfaces matches location X
and every location below it (a metro's devices are those of its sites), in one range query. NetBox's
``site``/``site_id`` and ``region``/``region_id`` are the same filters over the sites and regions
(``site_and_region_filters``), by slug or id.
"""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from catalog_site.filtersets import BaseFilterSet, RelatedTextFilter, TreeNodeFilter
from tenancy.models import Tenant

from . import selectors
from .choices import InterfaceType, SiteStatus
from .models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer


@extend_schema_field(OpenApiTypes.STR)
class TreeSlugFilter(TreeNodeFilter):
    """``TreeNodeFilter`` by slug (``?site=par1``, ``?region=fr``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "slug")
        super().__init__(*args, **kwargs)


def site_and_region_filters(relation: str) -> type[django_filters.FilterSet]:
    """NetBox's ``site``, ``site_id``, ``region`` and ``region_id`` on a model that reaches a location
    through ``relation`` (``"location"``, ``"device__location"``): a base class for its filterset.

    Each matches the objects whose location lies in the named site or region (itself or below it),
    several values meaning any of them; a slug or id the caller cannot see matches nothing.
    """

    class SiteAndRegionFilters(django_filters.FilterSet):
        site_id = TreeNodeFilter(relation=relation, queryset=selectors.sites(), label="Site (ID)")
        site = TreeSlugFilter(relation=relation, queryset=selectors.sites(), label="Site (slug)")
        region_id = TreeNodeFilter(relation=relation, queryset=selectors.regions(), label="Region (ID)")
        region = TreeSlugFilter(relation=relation, queryset=selectors.regions(), label="Region (slug)")

    return SiteAndRegionFilters


class LocationFilterSet(BaseFilterSet):
    """``?name=``, ``?slug=``, ``?kind=``, ``?status=``, ``?parent_id=`` (direct children), ``?ancestor_id=``
    (whole subtree below X), ``?tenant_id=`` (X and its sub-tenants)."""

    kind = django_filters.MultipleChoiceFilter(choices=Location.Kind.choices)
    status = django_filters.MultipleChoiceFilter(choices=SiteStatus.choices)
    parent_id = django_filters.ModelMultipleChoiceFilter(field_name="parent", queryset=Location.objects.all())
    ancestor_id = TreeNodeFilter(queryset=Location.objects.all(), label="Descendants of")
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "slug", "description")

    class Meta:
        model = Location
        fields = {"name": ["exact", "icontains"], "slug": ["exact"], "level": ["exact"]}


class SiteFilterSet(BaseFilterSet):
    """NetBox's site filters: ``?name=``, ``?slug=``, ``?status=``, ``?region_id=`` / ``?region=`` (slug: the
    sites anywhere below that region), ``?tenant_id=`` (X and its sub-tenants), ``?q=``."""

    status = django_filters.MultipleChoiceFilter(choices=SiteStatus.choices)
    region_id = TreeNodeFilter(queryset=selectors.regions(), label="Region (ID)")
    region = TreeSlugFilter(queryset=selectors.regions(), label="Region (slug)")
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "slug", "description")

    class Meta:
        model = Location
        fields = {"name": ["exact", "icontains"], "slug": ["exact"]}


class RegionFilterSet(BaseFilterSet):
    """NetBox's region filters: ``?name=``, ``?slug=``, ``?parent_id=`` / ``?parent=`` (slug: direct children),
    ``?ancestor_id=`` / ``?ancestor=`` (anywhere below), ``?kind=`` (country or metro), ``?tenant_id=``, ``?q=``."""

    kind = django_filters.MultipleChoiceFilter(choices=Location.REGION_KIND_CHOICES)
    parent_id = django_filters.ModelMultipleChoiceFilter(field_name="parent", queryset=selectors.regions())
    parent = RelatedTextFilter(field_name="parent__slug", to_field_name="slug", queryset=selectors.regions())
    ancestor_id = TreeNodeFilter(queryset=selectors.regions(), label="Region (ID) above")
    ancestor = TreeSlugFilter(queryset=selectors.regions(), label="Region (slug) above")
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "slug", "description")

    class Meta:
        model = Location
        fields = {"name": ["exact", "icontains"], "slug": ["exact"]}


class ManufacturerFilterSet(BaseFilterSet):
    """``?name=``, ``?slug=``, ``?q=``."""

    search_fields = ("name", "slug", "description")

    class Meta:
        model = Manufacturer
        fields = {"name": ["exact", "icontains"], "slug": ["exact"]}


class DeviceTypeFilterSet(BaseFilterSet):
    """``?model=``, ``?slug=``, ``?part_number=``, ``?manufacturer_id=``, ``?manufacturer=`` (slug), ``?q=``."""

    manufacturer_id = django_filters.ModelMultipleChoiceFilter(field_name="manufacturer",
                                                               queryset=Manufacturer.objects.all())
    manufacturer = RelatedTextFilter(field_name="manufacturer__slug", to_field_name="slug",
                                     queryset=Manufacturer.objects.all())
    search_fields = ("model", "slug", "part_number", "description", "manufacturer__name")

    class Meta:
        model = DeviceType
        fields = {"model": ["exact", "icontains"], "slug": ["exact"], "part_number": ["exact"],
                  "is_full_depth": ["exact"]}


class DeviceRoleFilterSet(BaseFilterSet):
    """``?name=``, ``?slug=``, ``?color=``, ``?q=``."""

    search_fields = ("name", "slug", "description")

    class Meta:
        model = DeviceRole
        fields = {"name": ["exact", "icontains"], "slug": ["exact"], "color": ["exact"]}


class DeviceFilterSet(site_and_region_filters("location"), BaseFilterSet):
    """``?name=``, ``?role=`` (slug) / ``?role_id=``, ``?device_type=`` (slug) / ``?device_type_id=``,
    ``?manufacturer=`` (slug) / ``?manufacturer_id=`` (the device type's), ``?status=``, ``?index=``,
    ``?site=`` / ``?site_id=``, ``?region=`` / ``?region_id=``, ``?location_id=`` (X and every location below
    it), ``?tenant_id=`` (X and its sub-tenants), ``?q=`` (name, serial, device type)."""

    role_id = django_filters.ModelMultipleChoiceFilter(field_name="role", queryset=DeviceRole.objects.all())
    role = RelatedTextFilter(field_name="role__slug", to_field_name="slug",
                                                    queryset=DeviceRole.objects.all())
    device_type_id = django_filters.ModelMultipleChoiceFilter(field_name="device_type",
                                                              queryset=DeviceType.objects.all())
    device_type = RelatedTextFilter(field_name="device_type__slug", to_field_name="slug",
                                                           queryset=DeviceType.objects.all())
    manufacturer_id = django_filters.ModelMultipleChoiceFilter(field_name="device_type__manufacturer",
                                                               queryset=Manufacturer.objects.all())
    manufacturer = RelatedTextFilter(field_name="device_type__manufacturer__slug", to_field_name="slug",
                                     queryset=Manufacturer.objects.all())
    status = django_filters.MultipleChoiceFilter(choices=Device.Status.choices)
    location_id = TreeNodeFilter(relation="location", queryset=Location.objects.all())
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "serial", "device_type__model", "description")

    class Meta:
        model = Device
        fields = {"name": ["exact", "icontains"], "index": ["exact"], "serial": ["exact"]}


class InterfaceFilterSet(site_and_region_filters("device__location"), BaseFilterSet):
    """``?device_id=``, ``?device=`` (name), ``?name=``, ``?type=``, ``?layer=``, ``?role=``, ``?status=``,
    ``?enabled=``, ``?mode=``, ``?speed=`` (and ``__gte``/``__lte``), ``?untagged_vlan_id=``, ``?site=`` /
    ``?site_id=``, ``?region=`` / ``?region_id=``, ``?location_id=`` (the device's location: X and below),
    ``?tenant_id=`` (the device's tenant: X and its sub-tenants), ``?q=``."""

    device_id = django_filters.ModelMultipleChoiceFilter(field_name="device", queryset=Device.objects.all())
    device = RelatedTextFilter(field_name="device__name", to_field_name="name",
                                                      queryset=Device.objects.all())
    type = django_filters.MultipleChoiceFilter(choices=InterfaceType.CHOICES)
    layer = django_filters.MultipleChoiceFilter(choices=Interface.Layer.choices)
    role = django_filters.MultipleChoiceFilter(choices=Interface.Role.choices)
    status = django_filters.MultipleChoiceFilter(choices=Interface.Status.choices)
    mode = django_filters.MultipleChoiceFilter(choices=Interface.Mode.choices)
    # The VLAN model is reached through the foreign key: dcim does not import ipam.
    untagged_vlan_id = django_filters.ModelMultipleChoiceFilter(
        field_name="untagged_vlan",
        queryset=Interface._meta.get_field("untagged_vlan").related_model.objects.all(),
    )
    location_id = TreeNodeFilter(relation="device__location", queryset=Location.objects.all())
    tenant_id = TreeNodeFilter(relation="device__tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "description", "device__name")

    class Meta:
        model = Interface
        fields = {"name": ["exact", "icontains"], "enabled": ["exact"], "speed": ["exact", "gte", "lte"]}
