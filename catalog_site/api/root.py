"""The API root: a map of the apps' endpoints."""

from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

API_APPS = ("tenancy", "dcim", "ipam", "services")


class APIRootView(APIView):
    """Lists each app's API root."""

    def get(self, request, format=None):
        return Response({app: reverse(f"{app}-api:api-root", request=request) for app in API_APPS})
