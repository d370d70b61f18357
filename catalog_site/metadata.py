"""The syntax and size rules of object metadata: annotation keys and values, status namespaces and sources.

As Kubernetes annotations, an annotation key is ``<prefix>/<name>``: the prefix a lowercase DNS
subdomain its owner controls (``example.com``), so that integrations never step on each other's keys;
the name at most 63 characters of letters, digits, ``-``, ``_`` and ``.``, beginning and ending with a
letter or digit. A status is filed under a namespace with the syntax of such a prefix
(``monitoring.example.com``) and a source, a short lowercase identifier (``prometheus``).

Values are any JSON, within size limits (counted on the compact JSON encoding, in UTF-8 bytes), and
without what no database can store (NUL characters, lone surrogates).

The functions here return the problems as messages (an empty list when there are none); the models
raise them as ``ValidationError`` on the field, so that the API and the admin answer the same words.
"""

import json
import re

from django.core.exceptions import ValidationError

DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS_SUBDOMAIN_RE = re.compile(rf"{DNS_LABEL}(?:\.{DNS_LABEL})*")
DNS_SUBDOMAIN_MAX_LENGTH = 253
NAME_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
SOURCE_RE = re.compile(r"[a-z0-9](?:[-a-z0-9_.]{0,61}[a-z0-9])?")
SOURCE_MAX_LENGTH = 63
ANNOTATION_KEY_MAX_LENGTH = DNS_SUBDOMAIN_MAX_LENGTH + 1 + 63

ANNOTATIONS_MAX_BYTES = 64 * 1024
ANNOTATION_VALUE_MAX_BYTES = 16 * 1024
STATUS_DATA_MAX_BYTES = 64 * 1024
MAX_MESSAGES = 10  # a body with a thousand bad keys is refused with the first few named

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
KEY_SYNTAX = ("an annotation key is <prefix>/<name> (example.com/owner): the prefix a lowercase DNS name, the name "
              "at most 63 letters, digits, '-', '_' or '.', beginning and ending with a letter or digit")


def shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters (a hostile key may be megabytes long)."""
    return repr(text if len(text) <= limit else f"{text[:limit]}…")


def encoded_size(value) -> int:
    """The size of ``value`` as compact JSON, in UTF-8 bytes."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def dns_name_error(value: str, what: str = "the prefix") -> str | None:
    """Why ``value`` is not a lowercase DNS subdomain (None if it is one)."""
    if not value:
        return f"{what} is empty"
    if len(value) > DNS_SUBDOMAIN_MAX_LENGTH:
        return f"{what} is longer than {DNS_SUBDOMAIN_MAX_LENGTH} characters"
    if not DNS_SUBDOMAIN_RE.fullmatch(value):
        return (f"{what} {shown(value)} is not a lowercase DNS name (labels of a-z, 0-9 and '-', at most 63 "
                "characters each, beginning and ending with a letter or digit, separated by dots)")
    return None


def annotation_key_error(key: str) -> str | None:
    """Why ``key`` is not an annotation key (None if it is one)."""
    prefix, slash, name = key.partition("/")
    if not slash:
        return f"{shown(key)} has no prefix: {KEY_SYNTAX}"
    problem = dns_name_error(prefix)
    if problem:
        return f"{shown(key)}: {problem}"
    if not NAME_RE.fullmatch(name):
        return (f"{shown(key)}: the name {shown(name)} is not 1 to 63 letters, digits, '-', '_' or '.', beginning "
                "and ending with a letter or digit")
    return None


def unstorable_path(value) -> str | None:
    """Where in ``value`` a string (or key) holds a NUL character or a lone surrogate, if anywhere.

    Iterative: the size limits are checked first, but a value may still be deep.
    """
    pending = [(value, "")]
    while pending:
        item, path = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return path or "the value"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and UNSTORABLE.search(key):
                    return f"a key of {path or 'the value'}"
                pending.append((child, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, list):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return None


def annotation_errors(annotations) -> list[str]:
    """What is wrong with ``annotations`` (a JSON object of namespaced keys), each message naming its key."""
    if not isinstance(annotations, dict):
        return ["Expected a JSON object of annotations ({\"example.com/owner\": \"noc\"})."]
    try:
        total = encoded_size(annotations)
    except (TypeError, ValueError):  # a value JSON cannot encode: the field itself refuses it
        return []
    if total > ANNOTATIONS_MAX_BYTES:
        return [f"The annotations take {total} bytes as JSON; at most {ANNOTATIONS_MAX_BYTES} are allowed."]
    errors = []
    for key, value in annotations.items():
        if len(errors) >= MAX_MESSAGES:
            errors.append("(and more)")
            break
        if not isinstance(key, str):
            errors.append(f"{shown(str(key))}: {KEY_SYNTAX}")
            continue
        problem = annotation_key_error(key)
        if problem:
            errors.append(problem)
            continue
        size = encoded_size(value)
        if size > ANNOTATION_VALUE_MAX_BYTES:
            errors.append(f"{shown(key)}: the value takes {size} bytes as JSON; at most "
                          f"{ANNOTATION_VALUE_MAX_BYTES} are allowed per key.")
            continue
        where = unstorable_path(value)
        if where:
            errors.append(f"{shown(key)}: NUL characters and lone surrogates cannot be stored (in {shown(where)}).")
    return errors


def json_object_errors(value, *, max_bytes: int, what: str) -> list[str]:
    """What is wrong with ``value`` as a JSON object of at most ``max_bytes`` (a status's data)."""
    if not isinstance(value, dict):
        return [f"Expected a JSON object as {what}."]
    try:
        size = encoded_size(value)
    except (TypeError, ValueError):
        return []
    if size > max_bytes:
        return [f"The {what} takes {size} bytes as JSON; at most {max_bytes} are allowed."]
    where = unstorable_path(value)
    if where:
        return [f"NUL characters and lone surrogates cannot be stored (in {shown(where)})."]
    return []


def validate_namespace(value: str) -> None:
    """A status namespace: a lowercase DNS name (``monitoring.example.com``)."""
    problem = dns_name_error(value, "the namespace")
    if problem:
        raise ValidationError(problem[0].upper() + problem[1:] + ".", code="invalid")


def validate_source(value: str) -> None:
    """A status source: 1 to 63 of a-z, 0-9, '-', '_' and '.', beginning and ending with a letter or digit."""
    if not SOURCE_RE.fullmatch(value):
        raise ValidationError(
            f"{shown(value)} is not a source name: 1 to {SOURCE_MAX_LENGTH} lowercase letters, digits, '-', '_' "
            "or '.', beginning and ending with a letter or digit (prometheus, catalog-generator).", code="invalid")
