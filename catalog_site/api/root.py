"""The API root: a map of the apps' endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

API_APPS = ("tenancy", "dcim", "ipam", "services", "users", "core")


class APIRootView(APIView):
    """Lists each app's API root.

    A caller without valid credentials gets a 403 here, as from NetBox's root (elsewhere a 401): pynetbox
    reads the ``API-Version`` header of this answer (``nb.version``) and accepts only a success or a 403.
    """

    def get_authenticate_header(self, request):
        return None  # DRF then answers a missing or invalid credential with 403 rather than 401

    @extend_schema(responses={200: {"type": "object", "description": "Each app's name and the URL of its root.",
                                    "additionalProperties": {"type": "string", "format": "uri"}}})
    def get(self, request, format=None):
        return Response({app: reverse(f"{app}-api:api-root", request=request) for app in API_APPS})
