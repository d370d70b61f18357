from catalog_site.api.routers import CatalogRouter

from . import views

router = CatalogRouter()
router.register("locations", views.LocationViewSet)
router.register("manufacturers", views.ManufacturerViewSet)
router.register("devices", views.DeviceViewSet)
router.register("interfaces", views.InterfaceViewSet)

urlpatterns = router.urls
