"""limit/offset pagination answering ``{count, next, previous, results}``, as NetBox does."""

from django.conf import settings
from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``?limit=`` and ``?offset=``; the limit is capped by ``MAX_PAGE_SIZE``."""

    @property
    def max_limit(self):
        return settings.MAX_PAGE_SIZE
