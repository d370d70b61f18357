"""The API's only parser: JSON, held to what the database and the Python stack can take.

Every request body goes through here, so that a hostile body is a JSON 400 naming the field before
any view, serializer or service sees it:

- nested at most ``MAX_DEPTH`` levels (a body nested a thousand deep would exhaust the stack of the
  parser, then of the serializers and of the JSON encoder that stores it);
- numbers finite: ``NaN`` and ``Infinity`` are not JSON, and ``1e999`` would become infinity;
- strings storable: no NUL character (``\\u0000``), which PostgreSQL refuses in text and in JSON
  (SQLite accepts it: a test on SQLite alone never sees the 500), and no lone surrogate
  (``\\ud800``), which no database can encode. Keys are held to the same rule.

A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused by Django when it is read, and
answered as a JSON 413 by ``catalog_site.api.exceptions.exception_handler``.
"""

import json
import math
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.settings import api_settings

MAX_DEPTH = 32
NULL_CHARACTER_MESSAGE = "Null characters are not allowed."  # Django's wording, as forms and filters say it
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


def unstorable_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored in every database (None when it can)."""
    found = UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return NULL_CHARACTER_MESSAGE
    return "Lone surrogates (\\ud800-\\udfff) are not valid Unicode."


def _printable(key) -> str:
    return str(key).replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def error_at(path: tuple, message: str) -> ValidationError:
    """A 400 naming the field where ``path`` leads: the top-level key of an object, or the position
    and key of an item in a list (``{"3": {"name": [...]}}``, as a bulk create reports its items)."""
    if path and isinstance(path[0], int):
        return ValidationError({str(path[0]): error_at(path[1:], message).detail})
    field = _printable(path[0]) if path else api_settings.NON_FIELD_ERRORS_KEY
    if len(path) > 1:
        message = f"{message} (at {'.'.join(_printable(step) for step in path)})"
    return ValidationError({field: [message]})


def check_parsed(data, max_depth: int = MAX_DEPTH) -> None:
    """Raise a ``ValidationError`` naming the first value nested too deep or holding an unstorable string.

    Iterative, so that the check itself cannot exhaust the stack.
    """
    pending = [(data, (), 0)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            reason = unstorable_reason(value)
            if reason:
                raise error_at(path, reason)
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                raise error_at(path, f"Nested deeper than {max_depth} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    reason = unstorable_reason(key)
                    if reason:
                        raise error_at((*path, key), f"{reason} (in a key)")
                pending.append((item, (*path, key), depth + 1))


class JSONParser(parsers.JSONParser):
    """RFC 8259 JSON with a depth limit, finite numbers and storable strings (see the module)."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from exc
        except (ValueError, LookupError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ParseError(f"JSON parse error - {exc}") from exc
        check_parsed(data)
        return data
