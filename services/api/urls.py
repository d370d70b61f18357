from catalog_site.api.routers import CatalogRouter

from . import providers, views

router = CatalogRouter()
router.register("service-types", views.ServiceTypeViewSet)
router.register("services", views.ServiceViewSet)
router.register("parameters", views.ParameterViewSet)
router.register("generator-runs", views.GeneratorRunViewSet)
router.register("approvals", views.ApprovalViewSet)
router.register("providers", providers.ProviderViewSet)
router.register("provider-authorizations", providers.ProviderAuthorizationViewSet)

urlpatterns = router.urls
