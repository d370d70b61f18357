"""The core API (``/api/core/``): what every object shares, starting with its statuses."""

from .routers import CatalogRouter
from .statuses import ObjectStatusViewSet

router = CatalogRouter()
router.register("statuses", ObjectStatusViewSet)

urlpatterns = router.urls
