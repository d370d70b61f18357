"""Turn every error a client can cause into a JSON 4xx that names the field and the reason."""

import logging

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from catalog_site import access, finalizers
from catalog_site.middleware import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, body_too_large_detail

logger = logging.getLogger(__name__)


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


class PayloadTooLarge(exceptions.APIException):
    """The body is larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, or a list longer than ``MAX_BULK_OBJECTS``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def body_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(body_too_large_detail())


class DatabaseUnavailable(exceptions.APIException):
    """The database is away (down, restarting, a connection killed): nothing was written, retry shortly."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; please retry shortly."
    default_code = "database_unavailable"


def read_after_commit(read, committed):
    """``read()``, or ``committed`` if the database fails now: a write that has committed never answers an error.

    ``read`` reads the written object again after the commit (with Celery eager, a run queued by the
    write has ended by then); ``committed`` is the same read done inside the transaction. A client
    that got an error would retry a write that was made, and get a 409 for it.
    """
    try:
        return read()
    except DATABASE_UNAVAILABLE:
        logger.warning("The read after a commit failed; answering what was read inside the transaction",
                       exc_info=True)
        return committed


def dependent_objects(exc, request) -> list[str]:
    """The names of (at most 20 of) the objects that block a deletion, among those the caller may see.

    Another tenant's objects are never named. An object deleted meanwhile by another request (its
    fields not loaded yet) is skipped rather than turned into a 500.
    """
    rights = access.for_request(request)
    blockers = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", [])
    names = set()
    for obj in list(blockers)[:20]:
        try:
            if rights.can_see(obj):
                names.add(str(obj))
        except ObjectDoesNotExist:
            continue
    return sorted(names)


def exception_handler(exc, context):
    """DRF's handler, plus Django validation errors (400), an object gone meanwhile (404),
    integrity/protection errors and changes of an object being deleted (409) and database outages (503
    with ``Retry-After``)."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        response = drf_exception_handler(DatabaseUnavailable(), context)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, RequestDataTooBig):
        exc = body_too_large()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        # The object went while the request worked on it (two DELETEs at once: the second finds its row
        # gone when it locks it): as if it had been missing from the start.
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, finalizers.ObjectDeleting):
        exc = Conflict({"detail": exc.message})
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        return Response(
            {"detail": "Cannot delete: other objects depend on this one.",
             "dependent_objects": dependent_objects(exc, context.get("request"))},
            status=status.HTTP_409_CONFLICT,
        )
    elif isinstance(exc, IntegrityError):
        return Response(
            {"detail": f"The change conflicts with existing data: {exc}".strip()},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
