from catalog_site.api.routers import CatalogRouter

from . import views

router = CatalogRouter()
router.register("tenants", views.TenantViewSet)
router.register("memberships", views.MembershipViewSet)

urlpatterns = router.urls
