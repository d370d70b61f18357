from catalog_site.api.routers import CatalogRouter

router = CatalogRouter()

urlpatterns = router.urls
