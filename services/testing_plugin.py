"""The generator kit as pytest fixtures (``services.testing``): registered in ``tests/conftest.py``.

A test asks for the check it needs by name; each fixture returns the function of the same name::

    def test_checks(inventory, generator_run, assert_idempotent, assert_gives_back_everything):
        before = footprint()
        service = order(...)
        assert generator_run(service).status == "succeeded"
        assert_idempotent(service)
        assert_gives_back_everything(service, before)

The functions use the database: the test needs it too (``db``, or a fixture that depends on it).
``services.testing`` is imported when a fixture is used, after pytest-django has set Django up.
"""

import pytest


@pytest.fixture(name="generator_run")
def generator_run_fixture():
    """``generator_run(service, action="provision")``: the finished run, executed in this process."""
    from services.testing import generator_run

    return generator_run


@pytest.fixture(name="assert_idempotent")
def assert_idempotent_fixture():
    """``assert_idempotent(service)``: a reconcile of the active service changes nothing."""
    from services.testing import assert_idempotent

    return assert_idempotent


@pytest.fixture(name="assert_gives_back_everything")
def assert_gives_back_everything_fixture():
    """``assert_gives_back_everything(service, before)``: decommissioning restores the footprint ``before``."""
    from services.testing import assert_gives_back_everything

    return assert_gives_back_everything


@pytest.fixture(name="assert_failure_leaves_nothing")
def assert_failure_leaves_nothing_fixture():
    """``assert_failure_leaves_nothing(service, before)``: a run failing after its first change leaves nothing."""
    from services.testing import assert_failure_leaves_nothing

    return assert_failure_leaves_nothing


@pytest.fixture(name="inventory_footprint")
def inventory_footprint_fixture():
    """``inventory_footprint()``: the snapshot the checks compare (``services.testing.footprint``)."""
    from services.testing import footprint

    return footprint
