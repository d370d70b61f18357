"""Tree writes are serialised: concurrent inserts into one tenant tree leave it consistent."""

import threading

import pytest
from django.db import close_old_connections, connection

from tenancy.models import Tenant

THREADS = 6
INSERTS_PER_THREAD = 5


def tree_is_consistent() -> bool:
    """Every node's (lft, rght) nests inside its parent's and no two nodes share a bound."""
    nodes = list(Tenant.objects.values("id", "parent_id", "tree_id", "lft", "rght"))
    by_id = {node["id"]: node for node in nodes}
    bounds = [(n["tree_id"], b) for n in nodes for b in (n["lft"], n["rght"])]
    if len(bounds) != len(set(bounds)):
        return False
    for node in nodes:
        parent = by_id.get(node["parent_id"])
        if parent and not (parent["lft"] < node["lft"] < node["rght"] < parent["rght"]):
            return False
    return True


@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_keep_the_tree_consistent():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises every writer anyway")
    root = Tenant.objects.create(name="Root", slug="root")
    parents = [Tenant.objects.create(name=f"P{i}", slug=f"p{i}", parent=root) for i in range(2)]
    errors = []
    barrier = threading.Barrier(THREADS)

    def insert(worker: int):
        try:
            barrier.wait()
            for n in range(INSERTS_PER_THREAD):
                parent = Tenant.objects.get(pk=parents[(worker + n) % 2].pk)
                Tenant.objects.create(name=f"T{worker}-{n}", slug=f"t{worker}-{n}", parent=parent)
        except Exception as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Tenant.objects.count() == 3 + THREADS * INSERTS_PER_THREAD
    assert tree_is_consistent()
    root.refresh_from_db()
    assert root.get_descendant_count() == 2 + THREADS * INSERTS_PER_THREAD
