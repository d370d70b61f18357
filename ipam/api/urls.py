from catalog_site.api.routers import CatalogRouter

from . import views

router = CatalogRouter()
router.register("namespaces", views.NamespaceViewSet)
router.register("prefixes", views.PrefixViewSet)
router.register("ip-addresses", views.IPAddressViewSet)
router.register("l2-domains", views.L2DomainViewSet)
router.register("vlans", views.VLANViewSet)

urlpatterns = router.urls
