"""Named locks held until the end of the current transaction.

On PostgreSQL a named lock is a transaction-scoped advisory lock: it serialises writers that take
the same name (one tree, one pool) and lets everyone else run in parallel. On SQLite the whole
database has a single writer: with ``transaction_mode=IMMEDIATE`` a transaction takes the write
lock at BEGIN, which already serialises every writer, so nothing more is needed there.

``session_lock`` is the exception: a lock tried (not waited for) and held across transactions, for
work that spans several of them (a generator run); it dies with the connection that holds it.
"""

import contextlib
import hashlib
from collections.abc import Iterator

from django.db import DatabaseError, connections


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


@contextlib.contextmanager
def session_lock(name: str, using: str = "default") -> Iterator[bool]:
    """Try to take the lock called ``name`` for the block, across transactions; yield whether it was taken.

    Never waits: False means that another connection holds it. The lock is released when the block
    ends, or when its connection dies (a killed worker frees it at once). On SQLite it is always
    taken: there, the single writer serialises the work anyway.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield True
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                # The connection broke in the block: the lock went with its session, or goes when it closes.
                if not connection.in_atomic_block:
                    connection.close()
