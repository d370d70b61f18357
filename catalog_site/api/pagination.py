"""limit/offset pagination answering ``{count, next, previous, results}``, as NetBox does."""

import re

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

# At most 18 digits: any such number fits the 64-bit integers of SQLite's and PostgreSQL's OFFSET.
NON_NEGATIVE_INTEGER = re.compile(r"[0-9]{1,18}")


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``?limit=`` and ``?offset=``; the limit is capped by ``MAX_PAGE_SIZE`` and ``limit=0`` asks for
    that cap, as in NetBox. A value that is not a non-negative integer is a 400 naming the parameter
    (DRF would fall back to the default silently)."""

    @property
    def max_limit(self):
        return settings.MAX_PAGE_SIZE

    def get_limit(self, request):
        limit = self.integer_param(request, self.limit_query_param)
        if limit is None:
            return self.default_limit
        return min(limit, self.max_limit) if limit else self.max_limit

    def get_offset(self, request):
        return self.integer_param(request, self.offset_query_param) or 0

    @staticmethod
    def integer_param(request, name: str) -> int | None:
        value = request.query_params.get(name)
        if value is None or value == "":
            return None
        if not NON_NEGATIVE_INTEGER.fullmatch(value):
            raise ValidationError({name: [f"Expected a non-negative integer (at most 18 digits), not {value[:40]!r}."]})
        return int(value)
