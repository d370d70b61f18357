"""Fixtures and helpers of the generator and task tests: the demo inventory, eager Celery, ordering.

Test modules import the fixtures by their function names (``inventory_fixture``); pytest knows them
as ``inventory`` and ``eager_tasks``.

Tasks run eagerly here whatever the environment says (CI sets a Redis broker for the whole suite);
the test with a real worker is separate. Tests that use the ``db`` fixture run inside a transaction
that never commits, so ``on_commit`` callbacks (the task sends) are run by ``committed()``.
"""

import contextlib

import pytest
from django.db import connection
from django.test import TestCase

from catalog_site.celery import app as celery_app
from dcim.models import Interface, Location
from demo.inventory import load_inventory
from ipam.models import VLAN, IPAddress, NumberAllocation, Prefix, PrefixAllocation
from services import services
from services.models import GeneratorRun, Service, ServiceResource
from tenancy.models import Tenant

from .factories import dedicated_internet, offer


@pytest.fixture(name="eager_tasks")
def eager_tasks_fixture():
    """Celery tasks run in the calling process, retrying and failing as on a worker (as with no broker)."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, False
    yield celery_app
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture(name="inventory")
def inventory_fixture(db, eager_tasks):
    """The demo inventory (sites, switches with customer ports, routers, the three pools); Paris 1."""
    load_inventory()
    dedicated_internet()
    return Location.objects.get(slug="par1")


@contextlib.contextmanager
def committed():
    """Run the ``on_commit`` callbacks registered inside the block (the tasks sent) when it ends.

    Outside a test transaction (``transaction=True`` tests) callbacks run on commit anyway.
    """
    if connection.in_atomic_block:
        with TestCase.captureOnCommitCallbacks(execute=True):
            yield
    else:
        yield


def order(identifier="DI-12345", *, site=None, bandwidth=1000, ip_package="medium", tenant=None) -> Service:
    """Order a Dedicated Internet service (draft): by default for Acme at Paris 1, which the demo's
    provider serves; another tenant gets a provider of its own (``factories.offer``)."""
    if tenant is not None or site is not None:
        tenant, site = tenant or Tenant.objects.get(slug="acme"), site or Location.objects.get(slug="par1")
        offer(dedicated_internet(), tenant=tenant, location=site)
    return services.service_create(
        service_type=dedicated_internet(), service_identifier=identifier,
        tenant=tenant or Tenant.objects.get(slug="acme"), location=site or Location.objects.get(slug="par1"),
        attributes={"bandwidth": bandwidth, "ip_package": ip_package},
    )


def transition(service: Service, to: str) -> Service:
    """Request a transition as a user would, the queued run executing on commit; the service re-read."""
    service.refresh_from_db()
    with committed():
        services.service_transition(service=service, to=to, version=service.version)
    service.refresh_from_db()
    return service


def deliver(identifier="DI-12345", **kwargs) -> Service:
    """Order a service and deliver it (the provision run executes eagerly)."""
    return transition(order(identifier, **kwargs), "in-delivery")


def update(service: Service, **attributes) -> Service:
    service.refresh_from_db()
    with committed():
        services.service_update(service=service, version=service.version, attributes=attributes)
    service.refresh_from_db()
    return service


def last_run(service: Service) -> GeneratorRun:
    return GeneratorRun.objects.filter(service=service).order_by("-pk").first()


def port_of(service: Service) -> Interface | None:
    row = ServiceResource.objects.filter(service=service, role="dedicated_interfaces").first()
    return Interface.objects.select_related("device").get(pk=row.object_id) if row else None


def footprint(identifier="DI-12345") -> dict:
    """What exists for a service identifier, to compare before and after a run.

    The whole inventory's snapshot, for any generator, is ``services.testing.footprint`` (the fixture
    ``inventory_footprint``).
    """
    return {
        "vlans": list(VLAN.objects.filter(name=f"vlan__{identifier}").values_list("vid", flat=True)),
        "numbers": list(NumberAllocation.objects.filter(identifier=identifier).values_list("value", flat=True)),
        "prefixes": list(PrefixAllocation.objects.filter(identifier=identifier).values_list("prefix__prefix",
                                                                                              flat=True)),
        "active_ports": list(Interface.objects.filter(description__startswith=f"{identifier} ").values_list(
            "device__name", "name")),
        "router_interfaces": list(Interface.objects.filter(description=f"Dedicated Internet {identifier}")
                                  .values_list("device__name", "name")),
        "gateways": list(IPAddress.objects.filter(description=f"Gateway of {identifier}").values_list("address",
                                                                                                     flat=True)),
    }


def nothing_left(identifier="DI-12345") -> bool:
    return not any(footprint(identifier).values()) and not Prefix.objects.filter(
        description=f"Dedicated Internet {identifier}").exists()


def port_is_free(port: Interface) -> bool:
    port.refresh_from_db()
    return (port.status, port.enabled, port.mode, port.untagged_vlan_id, port.description) == (
        "free", False, "", None, "")
