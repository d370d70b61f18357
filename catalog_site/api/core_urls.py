"""The core API (``/api/core/``): what every object shares: its statuses and its change log."""

from .changes import ObjectChangeViewSet
from .routers import CatalogRouter
from .statuses import ObjectStatusViewSet

router = CatalogRouter()
router.register("statuses", ObjectStatusViewSet)
router.register("object-changes", ObjectChangeViewSet)

urlpatterns = router.urls
