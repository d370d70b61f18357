"""Middleware of the API: the ``API-Version`` header, and database outages answered as JSON 503s.

Errors inside a DRF view are answered by ``catalog_site.api.exceptions``; these cover the rest of
``/api/`` (a view outside DRF, a database error raised while a response is rendered), and
``server_error`` is the last resort for errors raised by other middleware.
"""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"
# The errors of a database that is away (down, restarting, unreachable, a connection killed) rather
# than of a request: the same request may well succeed a few seconds later.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def database_unavailable_response() -> JsonResponse:
    """503 with ``Retry-After``: the client should try again, nothing was written."""
    response = JsonResponse({"detail": "The database is unavailable; please retry shortly."}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class APIVersionMiddleware:
    """Sends ``API-Version`` (the catalog's major.minor) with every API response, as NetBox does."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request):
            response["API-Version"] = settings.API_VERSION
        return response


class APIDatabaseErrorMiddleware:
    """A database error that escapes an API view is a JSON 503 with ``Retry-After``, never an HTML 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_api(request) and isinstance(exception, DATABASE_UNAVAILABLE):
            return database_unavailable_response()
        return None


def body_too_large_detail() -> str:
    return (f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
            "(DATA_UPLOAD_MAX_MEMORY_SIZE).")


def bad_request(request, exception, *args, **kwargs):
    """``handler400`` (a ``SuspiciousOperation`` outside DRF's handling): JSON under ``/api/``, a body past
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` being a 413; Django's page elsewhere."""
    if not is_api(request):
        return defaults.bad_request(request, exception, *args, **kwargs)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": body_too_large_detail()}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception, *args, **kwargs):
    """``handler403``: JSON under ``/api/``, Django's page elsewhere."""
    if not is_api(request):
        return defaults.permission_denied(request, exception, *args, **kwargs)
    return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)


def page_not_found(request, exception, *args, **kwargs):
    """``handler404`` (a URL no route matches): JSON under ``/api/``, Django's page elsewhere."""
    if not is_api(request):
        return defaults.page_not_found(request, exception, *args, **kwargs)
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request, *args, **kwargs):
    """``handler500``: JSON under ``/api/`` (503 when the database is away), Django's page elsewhere."""
    if not is_api(request):
        return defaults.server_error(request, *args, **kwargs)
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable_response()
    return JsonResponse({"detail": "Server error."}, status=500)
