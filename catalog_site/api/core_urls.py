"""The core API (``/api/core/``): what every object shares: its statuses and its change log."""

from .changes import ObjectChangeViewSet
from .routers import CatalogRouter
from .statuses import ObjectStatusViewSet
from .webhooks import WebhookDeliveryViewSet, WebhookViewSet

router = CatalogRouter()
router.register("statuses", ObjectStatusViewSet)
router.register("object-changes", ObjectChangeViewSet)
router.register("webhooks", WebhookViewSet)
router.register("webhook-deliveries", WebhookDeliveryViewSet)

urlpatterns = router.urls
