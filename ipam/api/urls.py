from django.urls import path

from catalog_site.api.routers import CatalogRouter

from . import pools, views

router = CatalogRouter()
router.register("namespaces", views.NamespaceViewSet)
router.register("vrfs", views.VRFViewSet, basename="vrf")
router.register("prefixes", views.PrefixViewSet)
router.register("ip-addresses", views.IPAddressViewSet)
router.register("l2-domains", views.L2DomainViewSet)
router.register("vlan-groups", views.VLANGroupViewSet, basename="vlangroup")
router.register("vlans", views.VLANViewSet)
router.register("number-pools", pools.NumberPoolViewSet)
router.register("prefix-pools", pools.PrefixPoolViewSet)
router.register("ip-pools", pools.IPAddressPoolViewSet)

urlpatterns = [
    path(
        "prefixes/<int:pk>/available-prefixes/",
        pools.AvailablePrefixesView.as_view(),
        name="prefix-available-prefixes",
    ),
    path("prefixes/<int:pk>/available-ips/", pools.AvailableIPsView.as_view(), name="prefix-available-ips"),
    path("l2-domains/<int:pk>/available-vlans/", pools.AvailableVLANsView.as_view(), name="l2domain-available-vlans"),
    path("vlan-groups/<int:pk>/available-vlans/", pools.VLANGroupAvailableVLANsView.as_view(),
         name="vlangroup-available-vlans"),
    *router.urls,
]
