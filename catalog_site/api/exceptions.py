"""Turn every error a client can cause into a JSON 4xx that names the field and the reason."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def validation_error_detail(error: DjangoValidationError):
    """A Django ``ValidationError`` as DRF error detail, field-keyed where Django keyed it."""
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}


class Conflict(exceptions.APIException):
    """The request is valid but clashes with the current state (a stale version, an exhausted pool)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, plus Django validation errors (400) and integrity/protection errors (409)."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        blockers = sorted({str(obj) for obj in list(getattr(exc, "protected_objects", None) or
                                                    getattr(exc, "restricted_objects", []))[:20]})
        return Response(
            {"detail": "Cannot delete: other objects depend on this one.", "dependent_objects": blockers},
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, IntegrityError):
        return Response(
            {"detail": f"The change conflicts with existing data: {exc}".strip()},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
