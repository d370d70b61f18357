"""Views of the dcim API."""

from catalog_site.api.views import CatalogModelViewSet

from .. import filtersets, selectors
from ..models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer
from . import serializers


class LocationViewSet(CatalogModelViewSet):
    """Locations (countries, metros, sites, buildings, zones), in tree order."""

    queryset = Location.objects.select_related("parent", "tenant")
    serializer_class = serializers.LocationSerializer
    filterset_class = filtersets.LocationFilterSet


class SiteViewSet(CatalogModelViewSet):
    """NetBox's sites: the locations of kind site (the same rows as ``/api/dcim/locations/``)."""

    queryset = selectors.sites().select_related("parent", "tenant")
    serializer_class = serializers.SiteSerializer
    filterset_class = filtersets.SiteFilterSet


class RegionViewSet(CatalogModelViewSet):
    """NetBox's regions: the countries and metros (the same rows as ``/api/dcim/locations/``)."""

    queryset = selectors.regions().select_related("parent", "tenant")
    serializer_class = serializers.RegionSerializer
    filterset_class = filtersets.RegionFilterSet


class ManufacturerViewSet(CatalogModelViewSet):
    """Makers of devices."""

    queryset = Manufacturer.objects.all()
    serializer_class = serializers.ManufacturerSerializer
    filterset_class = filtersets.ManufacturerFilterSet


class DeviceTypeViewSet(CatalogModelViewSet):
    """Models of devices (NetBox's device types), with their manufacturer."""

    queryset = DeviceType.objects.select_related("manufacturer")
    serializer_class = serializers.DeviceTypeSerializer
    filterset_class = filtersets.DeviceTypeFilterSet


class DeviceRoleViewSet(CatalogModelViewSet):
    """What devices do (NetBox's device roles)."""

    queryset = DeviceRole.objects.all()
    serializer_class = serializers.DeviceRoleSerializer
    filterset_class = filtersets.DeviceRoleFilterSet


class DeviceViewSet(CatalogModelViewSet):
    """Devices; ``?location_id=`` takes in every location below the one named, ``?site_id=`` every location
    of that site. The site is read from the location and the two above it (a zone in a building in a site)."""

    queryset = Device.objects.select_related("location__parent__parent", "device_type__manufacturer", "role",
                                             "tenant")
    serializer_class = serializers.DeviceSerializer
    filterset_class = filtersets.DeviceFilterSet


class InterfaceViewSet(CatalogModelViewSet):
    """Interfaces; the device is joined (it is part of an interface's display) and tagged VLANs prefetched."""

    queryset = Interface.objects.select_related("device", "untagged_vlan").prefetch_related("tagged_vlans")
    serializer_class = serializers.InterfaceSerializer
    filterset_class = filtersets.InterfaceFilterSet
