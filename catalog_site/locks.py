"""Named locks held until the end of the current transaction.

On PostgreSQL a named lock is a transaction-scoped advisory lock: it serialises writers that take
the same name (one tree, one pool) and lets everyone else run in parallel. On SQLite the whole
database has a single writer: with ``transaction_mode=IMMEDIATE`` a transaction takes the write
lock at BEGIN, which already serialises every writer, so nothing more is needed there.
"""

import hashlib

from django.db import connections


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks take a bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_lock(name: str, using: str = "default") -> None:
    """Take the lock called ``name`` until the current transaction ends.

    Must be called inside ``transaction.atomic()``: a lock outside a transaction would be released
    at once and protect nothing.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError(f"advisory_lock({name!r}) needs an open transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(name)])
