from catalog_site.api.routers import CatalogRouter

from . import views

router = CatalogRouter()
router.register("locations", views.LocationViewSet)
router.register("sites", views.SiteViewSet, basename="site")
router.register("regions", views.RegionViewSet, basename="region")
router.register("manufacturers", views.ManufacturerViewSet)
router.register("device-types", views.DeviceTypeViewSet)
router.register("device-roles", views.DeviceRoleViewSet)
router.register("devices", views.DeviceViewSet)
router.register("interfaces", views.InterfaceViewSet)

urlpatterns = router.urls
