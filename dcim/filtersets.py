"""Filters of the dcim API.

Location filters are tree-aware: ``?location_id=X`` on devices and interfaces matches location X
and every location below it (a metro's devices are those of its sites), in one range query.
"""

import django_filters

from catalog_site.filtersets import BaseFilterSet, TreeNodeFilter
from tenancy.models import Tenant

from .models import Device, Interface, Location, Manufacturer


class LocationFilterSet(BaseFilterSet):
    """``?name=``, ``?slug=``, ``?kind=``, ``?parent_id=`` (direct children), ``?ancestor_id=`` (whole
    subtree below X), ``?tenant_id=`` (X and its sub-tenants)."""

    kind = django_filters.MultipleChoiceFilter(choices=Location.Kind.choices)
    parent_id = django_filters.ModelMultipleChoiceFilter(field_name="parent", queryset=Location.objects.all())
    ancestor_id = TreeNodeFilter(queryset=Location.objects.all(), label="Descendants of")
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "slug", "description")

    class Meta:
        model = Location
        fields = {"name": ["exact", "icontains"], "slug": ["exact"], "level": ["exact"]}


class ManufacturerFilterSet(BaseFilterSet):
    """``?name=``, ``?slug=``, ``?q=``."""

    search_fields = ("name", "slug", "description")

    class Meta:
        model = Manufacturer
        fields = {"name": ["exact", "icontains"], "slug": ["exact"]}


class DeviceFilterSet(BaseFilterSet):
    """``?name=``, ``?role=``, ``?status=``, ``?index=``, ``?manufacturer_id=``, ``?location_id=`` (X and
    every location below it), ``?tenant_id=`` (X and its sub-tenants), ``?q=`` (name, serial, model)."""

    role = django_filters.MultipleChoiceFilter(choices=Device.Role.choices)
    status = django_filters.MultipleChoiceFilter(choices=Device.Status.choices)
    manufacturer_id = django_filters.ModelMultipleChoiceFilter(
        field_name="manufacturer", queryset=Manufacturer.objects.all()
    )
    location_id = TreeNodeFilter(relation="location", queryset=Location.objects.all())
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    search_fields = ("name", "serial", "model")

    class Meta:
        model = Device
        fields = {"name": ["exact", "icontains"], "index": ["exact"], "serial": ["exact"]}


class InterfaceFilterSet(BaseFilterSet):
    """``?device_id=``, ``?name=``, ``?layer=``, ``?role=``, ``?status=``, ``?enabled=``, ``?mode=``,
    ``?speed=`` (and ``__gte``/``__lte``), ``?untagged_vlan_id=``, ``?location_id=`` (the device's
    location: X and below), ``?tenant_id=`` (the device's tenant: X and its sub-tenants), ``?q=``."""

    device_id = django_filters.ModelMultipleChoiceFilter(field_name="device", queryset=Device.objects.all())
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
