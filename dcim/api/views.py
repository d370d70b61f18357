"""Views of the dcim API."""

from catalog_site.api.views import CatalogModelViewSet

from .. import filtersets
from ..models import Device, Interface, Location, Manufacturer
from . import serializers


class LocationViewSet(CatalogModelViewSet):
    """Locations (countries, metros, sites, buildings, zones), in tree order."""

    queryset = Location.objects.select_related("parent", "tenant")
    serializer_class = serializers.LocationSerializer
    filterset_class = filtersets.LocationFilterSet


class ManufacturerViewSet(CatalogModelViewSet):
    """Makers of devices."""

    queryset = Manufacturer.objects.all()
    serializer_class = serializers.ManufacturerSerializer
    filterset_class = filtersets.ManufacturerFilterSet


class DeviceViewSet(CatalogModelViewSet):
    """Devices; ``?location_id=`` takes in every location below the one named."""

    queryset = Device.objects.select_related("location", "manufacturer", "tenant")
    serializer_class = serializers.DeviceSerializer
    filterset_class = filtersets.DeviceFilterSet


class InterfaceViewSet(CatalogModelViewSet):
    """Interfaces; the device is joined (it is part of an interface's display) and tagged VLANs prefetched."""

    queryset = Interface.objects.select_related("device", "untagged_vlan").prefetch_related("tagged_vlans")
    serializer_class = serializers.InterfaceSerializer
    filterset_class = filtersets.InterfaceFilterSet
