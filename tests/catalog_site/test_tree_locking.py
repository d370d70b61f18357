"""Tree writes are serialised: concurrent inserts and moves leave the tenant trees consistent."""

import random
import threading
import time

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


@pytest.mark.postgres
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


MOVE_THREADS = 8
OPERATIONS_PER_THREAD = 10
ANCHOR_ROOTS = 3  # several trees: moves go within a tree, across trees and out to a new root
ANCHOR_CHILDREN = 2


def tree_columns() -> dict[int, tuple]:
    """Every node's (tree, lft, rght, level, parent); trees numbered by rank, as a rebuild numbers them.

    A rebuild gives the trees the numbers 1..n in the order of their roots' names; the tree ids left by
    moves may have gaps (a root moved under another node frees its id), which is harmless. Ranking
    keeps what matters: which nodes share a tree, and the order of the trees.
    """
    rows = list(Tenant.objects.values_list("id", "tree_id", "lft", "rght", "level", "parent_id"))
    rank = {tree_id: n for n, tree_id in enumerate(sorted({row[1] for row in rows}), start=1)}
    return {pk: (rank[tree_id], lft, rght, level, parent_id) for pk, tree_id, lft, rght, level, parent_id in rows}


def nested_sets_match_parents(columns: dict[int, tuple]) -> list[str]:
    """What the nested sets say (level, ancestors) against what the parent links say; returns the differences."""
    problems = []
    for pk, (tree, lft, rght, level, parent_id) in columns.items():
        ancestors, node = set(), parent_id
        while node is not None:
            ancestors.add(node)
            node = columns[node][4]
        by_bounds = {other for other, (t, lo, hi, _, _) in columns.items() if t == tree and lo < lft and rght < hi}
        if by_bounds != ancestors:
            problems.append(f"{pk}: ancestors by lft/rght {sorted(by_bounds)}, by parent {sorted(ancestors)}")
        if level != len(ancestors):
            problems.append(f"{pk}: level {level}, depth {len(ancestors)}")
    return problems


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_inserts_and_moves_match_a_rebuild():
    """8 threads create tenants and move subtrees between parents of several trees, and to the root.

    Afterwards the MPTT columns must be exactly what ``rebuild()`` derives from the parent links
    (siblings ordered by name, as ``order_insertion_by`` says), and every moved tenant must sit under
    the parent its last move gave it.
    """
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises every writer anyway")
    anchors = []  # never moved, so no move can put a tenant under its own descendant
    for r in range(ANCHOR_ROOTS):
        root = Tenant.objects.create(name=f"A{r}", slug=f"a{r}")
        anchors.append(root)
        anchors += [Tenant.objects.create(name=f"A{r}.{c}", slug=f"a{r}-{c}", parent=root)
                    for c in range(ANCHOR_CHILDREN)]
    movers = {}  # worker -> the tenants it moves, each with a child so that a move carries a subtree
    for worker in range(MOVE_THREADS):
        movers[worker] = []
        for k in range(2):
            mover = Tenant.objects.create(name=f"M{worker}.{k}", slug=f"m{worker}-{k}",
                                          parent=anchors[(worker + k) % len(anchors)])
            Tenant.objects.create(name=f"M{worker}.{k}.c", slug=f"m{worker}-{k}-c", parent=mover)
            movers[worker].append(mover.pk)
    initial = Tenant.objects.count()
    final_parent = {}  # mover pk -> parent pk (None: a root) given by its last move
    created = []
    errors = []
    barrier = threading.Barrier(MOVE_THREADS)

    def work(worker: int):
        rng = random.Random(worker)
        try:
            # Loaded once and reused: by the time they serve as parents their tree fields are stale.
            parents = list(Tenant.objects.filter(pk__in=[a.pk for a in anchors]))
            barrier.wait()
            for n in range(OPERATIONS_PER_THREAD):
                if n % 2 == 0:
                    choices = parents + [Tenant.objects.get(pk=pk) for pk in movers[worker]] + [None]
                    parent = rng.choice(choices)
                    tenant = Tenant.objects.create(name=f"N{worker}.{n:02d}", slug=f"n{worker}-{n}", parent=parent)
                    created.append(tenant.pk)
                else:
                    mover = Tenant.objects.get(pk=rng.choice(movers[worker]))
                    target = rng.choice([p for p in parents if p.pk != mover.parent_id] + [None])
                    if target is None and mover.parent_id is None:
                        target = parents[0]
                    mover.parent = target
                    mover.save()
                    final_parent[mover.pk] = target.pk if target else None
        except Exception as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(MOVE_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert Tenant.objects.count() == initial + len(created) == initial + MOVE_THREADS * OPERATIONS_PER_THREAD // 2
    stored_parents = dict(Tenant.objects.filter(pk__in=final_parent).values_list("pk", "parent_id"))
    assert stored_parents == final_parent

    before = tree_columns()
    assert tree_is_consistent()
    assert nested_sets_match_parents(before) == []
    Tenant._tree_manager.rebuild()
    after = tree_columns()
    changed = {pk: (before[pk], after[pk]) for pk in before if before[pk] != after[pk]}
    assert not changed, f"{len(changed)} of {len(before)} nodes differ from a rebuild, e.g. {list(changed.items())[:5]}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_that_locks_a_node_waits_for_the_tree_first():
    """The deadlock the API fuzzer met (a 503 on DELETE of a region): a request locks a node's row for its
    finalizers and then waits for the tree, while the tree's holder updates that row. Every writer now takes
    the tree before any row, so the second writer simply waits for the first."""
    if connection.vendor != "postgresql":
        pytest.skip("row and advisory locks need PostgreSQL; SQLite serialises every writer anyway")
    from django.db import transaction

    from catalog_site import finalizers

    root = Tenant.objects.create(name="Root", slug="root")
    node = Tenant.objects.create(name="Leaf", slug="leaf", parent=root)
    holder_has_tree, locker_starts = threading.Event(), threading.Event()
    errors = []

    def holder():  # holds the tree, then writes the node's row (as an MPTT shift does)
        try:
            with transaction.atomic():
                root.lock_tree()
                holder_has_tree.set()
                locker_starts.wait(10)
                time.sleep(0.5)  # let the other writer reach its lock (it must wait for the tree, not hold the row)
                Tenant.objects.filter(pk=node.pk).update(description="written while holding the tree")
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def locker():  # as the API's DELETE: lock the row for its finalizers, then delete (which takes the tree)
        try:
            holder_has_tree.wait(10)
            locker_starts.set()
            with transaction.atomic():
                stored = Tenant.objects.get(pk=node.pk)
                finalizers.lock(stored)
                stored.delete()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=locker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert not Tenant.objects.filter(pk=node.pk).exists()
    assert tree_is_consistent()
