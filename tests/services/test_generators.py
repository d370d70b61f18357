"""The generator framework with a toy generator whose desired state each test scripts."""

import pytest

from dcim.models import Device, Interface
from ipam.allocation import allocate_number
from ipam.models import (
    VLAN,
    IPAddressAllocation,
    IPAddressPool,
    IPAddressPoolResource,
    L2Domain,
    NumberAllocation,
    NumberPool,
    Prefix,
    PrefixAllocation,
    PrefixPool,
    PrefixPoolResource,
)
from services import runs, services
from services.generators import Generator, GeneratorError
from services.models import GeneratorRun, ServiceResource, ServiceType

from ..dcim.factories import default_device_type, device_role
from .factories import make_site, make_tenant, order_service
from .generator_fixtures import eager_tasks_fixture  # noqa: F401 - the fixture "eager_tasks"

pytestmark = pytest.mark.django_db

# What the toy generator produces, by service identifier: a function of the generator.
SCRIPTS = {}


class ToyGenerator(Generator):
    """Runs the script the test registered for its service."""

    def generate(self):
        SCRIPTS[self.identifier](self)


TOY_TYPE = {
    "slug": "toy", "name": "Toy", "generator": "tests.services.test_generators.ToyGenerator",
    "attributes": [
        {"name": "size", "kind": "integer", "modifier": "rw+"},
        {"name": "notes", "kind": "markdown", "modifier": "r"},
    ],
}


@pytest.fixture
def toy_type():
    return services.service_type_save(definition=TOY_TYPE)[0]


@pytest.fixture
def site():
    return make_site()


@pytest.fixture
def switch(site):
    device = Device.objects.create(location=site, name="sw01", role=device_role("core"), index=1,
                                   device_type=default_device_type())
    for n in (1, 2):
        Interface.objects.create(device=device, name=f"Ethernet{n}", role="customer", status="free", enabled=False)
    return device


@pytest.fixture
def pool():
    return NumberPool.objects.create(name="Toy numbers", start=100, end=199, l2domain=L2Domain.get_default())


def toy_service(toy_type, site, identifier="TOY-1", script=None, status="active"):
    service = order_service(service_type=toy_type, service_identifier=identifier, tenant=make_tenant(),
                            location=site, attributes={"size": 1})
    type(service).objects.filter(pk=service.pk).update(status=status)
    service.refresh_from_db()
    SCRIPTS[identifier] = script or (lambda generator: None)
    return service


def reconcile(service) -> GeneratorRun:
    return runs.execute_run(runs.request_run(service=service, action="reconcile").pk)


def owned(service) -> list[tuple[str, str]]:
    return sorted((row.role, str(row.object)) for row in ServiceResource.objects.filter(service=service))


def vlan_script(vids, name="toy"):
    def script(generator):
        for vid in vids():
            generator.upsert(VLAN, {"l2domain": L2Domain.get_default(), "vid": vid}, {"name": name}, role="vlan")
    return script


class TestTracking:
    def test_upsert_creates_then_changes_nothing(self, toy_type, site):
        service = toy_service(toy_type, site, script=vlan_script(lambda: [10]))
        first = reconcile(service)
        assert [(c["action"], c["model"], c["fields"]) for c in first.changes] == [
            ("created", "ipam.vlan", {"name": [None, "toy"], "l2domain": [None, L2Domain.get_default().pk],
                                      "vid": [None, 10]})]
        assert owned(service) == [("vlan", "toy (10)")]
        before = VLAN.objects.get(vid=10).last_updated
        assert reconcile(service).changes == []
        assert VLAN.objects.get(vid=10).last_updated == before  # not written at all

    def test_only_differing_fields_are_written(self, toy_type, site):
        service = toy_service(toy_type, site, script=vlan_script(lambda: [10]))
        reconcile(service)
        VLAN.objects.filter(vid=10).update(name="renamed", description="kept")
        run = reconcile(service)
        assert [(c["action"], c["fields"]) for c in run.changes] == [("updated", {"name": ["renamed", "toy"]})]
        assert VLAN.objects.filter(vid=10, name="toy", description="kept").exists()

    def test_objects_no_longer_produced_are_deleted(self, toy_type, site):
        wanted = [10, 11]
        service = toy_service(toy_type, site, script=vlan_script(lambda: wanted))
        reconcile(service)
        wanted.remove(10)
        run = reconcile(service)
        assert [(c["action"], c["display"]) for c in run.changes] == [("deleted", "toy (10)")]
        assert list(VLAN.objects.values_list("vid", flat=True)) == [11]
        assert owned(service) == [("vlan", "toy (11)")]
        wanted.clear()  # producing nothing at all deletes everything
        assert [c["action"] for c in reconcile(service).changes] == ["deleted"]
        assert not VLAN.objects.exists() and owned(service) == []

    def test_an_owned_object_deleted_by_hand_is_forgotten(self, toy_type, site):
        wanted = [10]
        service = toy_service(toy_type, site, script=vlan_script(lambda: wanted))
        reconcile(service)
        VLAN.objects.all().delete()
        wanted.clear()
        run = reconcile(service)
        assert run.changes == [] and any("is already gone" in line for line in run.log)
        assert owned(service) == []

    def test_claim_gives_back_and_refuses_what_another_service_holds(self, toy_type, site, switch):
        port = switch.interfaces.get(name="Ethernet1")
        claimed = {"on": True}

        def script(generator):
            if claimed["on"]:
                generator.claim(port, role="port", changes={"status": "active", "enabled": True,
                                                              "description": generator.identifier},
                                give_back={"status": "free", "enabled": False, "description": ""})

        first = toy_service(toy_type, site, "TOY-1", script)
        assert [c["fields"] for c in reconcile(first).changes] == [
            {"status": ["free", "active"], "enabled": [False, True], "description": ["", "TOY-1"]}]
        second = toy_service(toy_type, site, "TOY-2", script)
        run = reconcile(second)
        assert (run.status, run.error) == ("failed", "sw01 Ethernet1 is already held by service TOY-1 (port).")

        claimed["on"] = False
        run = reconcile(first)
        assert [(c["action"], c["fields"]) for c in run.changes] == [
            ("released", {"status": ["active", "free"], "enabled": [True, False], "description": ["TOY-1", ""]})]
        port.refresh_from_db()
        assert (port.status, port.enabled, port.description) == ("free", False, "")
        assert Interface.objects.filter(pk=port.pk).exists()  # given back, not deleted

    def test_number_released_when_no_longer_allocated(self, toy_type, site, pool):
        allocate = {"on": True}

        def script(generator):
            if allocate["on"]:
                generator.log(f"got {generator.allocate_number('Toy numbers', role='number')}")

        service = toy_service(toy_type, site, script=script)
        run = reconcile(service)
        assert "got 100" in run.log and run.changes[0]["action"] == "created"
        assert reconcile(service).changes == []  # the same number again
        allocate["on"] = False
        run = reconcile(service)
        assert [(c["action"], c["model"]) for c in run.changes] == [("released", "ipam.numberallocation")]
        assert not NumberAllocation.objects.exists()
        assert allocate_number(pool=pool, identifier="other").resource == 100  # free again

    def test_prefix_and_address_allocations(self, toy_type, site):
        container = Prefix.objects.create(prefix="198.51.100.0/24", status="container")
        prefixes = PrefixPool.objects.create(name="Toy prefixes", default_prefix_length=30)
        PrefixPoolResource.objects.create(pool=prefixes, prefix=container)
        addresses = IPAddressPool.objects.create(name="Toy addresses")
        IPAddressPoolResource.objects.create(pool=addresses, prefix=container)
        wanted = {"on": True, "description": "first"}

        def script(generator):
            if wanted["on"]:
                prefix = generator.allocate_prefix("Toy prefixes", role="prefix", prefix_length=29,
                                                   fields={"description": wanted["description"]})
                address = generator.allocate_ip("Toy addresses", role="address", fields={"dns_name": "toy.example"})
                generator.log(f"{prefix} {address}")

        service = toy_service(toy_type, site, script=script)
        run = reconcile(service)
        assert "198.51.100.0/29 198.51.100.1/24" in run.log
        assert [(c["action"], c["model"], c["fields"]) for c in run.changes] == [
            ("created", "ipam.prefix", {"description": [None, "first"]}),
            ("created", "ipam.ipaddress", {"dns_name": [None, "toy.example"]})]
        wanted["description"] = "second"
        run = reconcile(service)  # the same prefix, brought to the new fields
        assert [(c["action"], c["fields"]) for c in run.changes] == [("updated", {"description": ["first", "second"]})]
        wanted["on"] = False
        run = reconcile(service)
        assert sorted(c["action"] for c in run.changes) == ["deleted", "deleted"]
        assert not PrefixAllocation.objects.exists() and not IPAddressAllocation.objects.exists()
        assert not Prefix.objects.filter(prefix="198.51.100.0/29").exists()

    def test_generated_attributes_are_set_and_cleared(self, toy_type, site):
        notes = {"text": "# Notes"}
        service = toy_service(toy_type, site, script=lambda g: g.set_attributes(notes=notes["text"]))
        run = reconcile(service)
        service.refresh_from_db()
        assert service.attributes["notes"] == "# Notes" and service.version == 2
        assert run.changes == [{"action": "updated", "model": "services.service", "id": service.pk,
                                "display": "TOY-1", "fields": {"notes": [None, "# Notes"]}}]
        assert reconcile(service).changes == []
        notes["text"] = None
        reconcile(service)
        service.refresh_from_db()
        assert "notes" not in service.attributes and service.attributes["size"] == 1

    def test_decommission_releases_ledger_entries_of_the_identifier(self, toy_type, site, pool, eager_tasks):
        service = toy_service(toy_type, site, status="active")
        allocate_number(pool=pool, identifier="TOY-1")  # made through the pool API, not by the generator
        service = services.service_transition(service=service, to="in-decommissioning", version=service.version)
        run = runs.execute_run(GeneratorRun.objects.get(service=service).pk)
        assert [(c["action"], c["model"]) for c in run.changes] == [("released", "ipam.numberallocation")]
        assert not NumberAllocation.objects.filter(identifier="TOY-1").exists()


class TestFailures:
    def test_a_failure_rolls_everything_back(self, toy_type, site, pool):
        def script(generator):
            generator.allocate_number("Toy numbers", role="number")
            generator.upsert(VLAN, {"l2domain": L2Domain.get_default(), "vid": 10}, {"name": "toy"}, role="vlan")
            generator.log("about to fail")
            raise GeneratorError("The toy cannot go on.")

        service = toy_service(toy_type, site, status="in-delivery", script=script)
        run = runs.execute_run(runs._new_run(service, "provision").pk)
        service.refresh_from_db()
        assert (run.status, run.error, run.changes) == ("failed", "The toy cannot go on.", [])
        assert run.log[1:] == ["about to fail", "Failed, nothing was changed: The toy cannot go on.",
                               "Service in-delivery -> failed."]
        assert not VLAN.objects.exists() and not NumberAllocation.objects.exists() and owned(service) == []
        assert service.status == "failed"
        assert service.events.first().message == f"Run #{run.pk} (provision) failed: The toy cannot go on."

    def test_invalid_object_fails_with_the_field_and_reason(self, toy_type, site):
        service = toy_service(toy_type, site, script=lambda g: g.upsert(
            VLAN, {"l2domain": L2Domain.get_default(), "vid": 5000}, {"name": "too high"}, role="vlan"))
        run = reconcile(service)
        assert (run.status, run.error) == ("failed", "vid: A VLAN id is between 1 and 4094.")
        service.refresh_from_db()
        assert service.status == "active"  # a reconcile failure cannot take an active service to failed

    def test_a_bug_fails_the_run_with_the_exception(self, toy_type, site):
        service = toy_service(toy_type, site, script=lambda g: 1 / 0)
        run = reconcile(service)
        assert (run.status, run.error) == ("failed", "ZeroDivisionError: division by zero")

    def test_unknown_pool_and_unknown_attribute(self, toy_type, site):
        service = toy_service(toy_type, site, script=lambda g: g.allocate_number("Nope", role="n"))
        assert reconcile(service).error == "There is no number pool named 'Nope'."
        SCRIPTS["TOY-1"] = lambda g: g.set_attributes(size=3)
        assert reconcile(service).error == "Not generator-owned (r) attributes of Toy: size."

    def test_pool_exhaustion_is_a_failed_run(self, toy_type, site):
        NumberPool.objects.create(name="Tiny", start=1, end=1)
        allocate_number(pool=NumberPool.objects.get(name="Tiny"), identifier="someone")
        service = toy_service(toy_type, site, script=lambda g: g.allocate_number("Tiny", role="n"))
        assert reconcile(service).error == "Pool Tiny (1-1) has no free number left."


class TestRequests:
    def test_a_type_without_generator_queues_nothing(self, site, django_capture_on_commit_callbacks):
        manual = services.service_type_save(definition={"slug": "manual", "name": "Manual"})[0]
        service = order_service(service_type=manual, service_identifier="M-1", tenant=make_tenant(),
                                location=site)
        with django_capture_on_commit_callbacks() as callbacks:
            services.service_transition(service=service, to="in-delivery", version=1)
        assert callbacks == [] and not GeneratorRun.objects.exists()
        with pytest.raises(runs.RunRefused, match="Manual has no generator"):
            runs.request_run(service=service, action="provision")

    @pytest.mark.parametrize("action, status", [("reconcile", "draft"), ("provision", "active"),
                                                ("decommission", "active")])
    def test_an_action_needs_its_status(self, toy_type, site, action, status):
        service = toy_service(toy_type, site, status=status)
        with pytest.raises(runs.RunRefused, match=f"A {action} run applies to a service that is"):
            runs.request_run(service=service, action=action)

    def test_a_run_whose_service_moved_on_does_nothing(self, toy_type, site):
        service = toy_service(toy_type, site, script=vlan_script(lambda: [10]))
        run = runs.request_run(service=service, action="reconcile")
        type(service).objects.filter(pk=service.pk).update(status="in-decommissioning")
        run = runs.execute_run(run.pk)
        assert (run.status, run.changes) == ("succeeded", [])
        assert "Nothing to do" in run.log[-1] and not VLAN.objects.exists()

    def test_bad_generator_path(self, site):
        broken = services.service_type_save(definition={**TOY_TYPE, "slug": "broken", "name": "Broken",
                                                        "generator": "tests.services.nowhere.Generator"})[0]
        service = toy_service(broken, site)
        run = reconcile(service)
        assert run.status == "failed" and run.error.startswith(
            "The generator tests.services.nowhere.Generator of Broken cannot be imported")

    def test_not_a_generator_class(self, site):
        odd = services.service_type_save(definition={**TOY_TYPE, "slug": "odd", "name": "Odd",
                                                     "generator": "tests.services.test_generators.SCRIPTS"})[0]
        assert reconcile(toy_service(odd, site)).error == "tests.services.test_generators.SCRIPTS is not a " \
                                                           "generator class."


def test_toy_type_is_a_service_type(toy_type):
    assert ServiceType.objects.get(slug="toy").generator == "tests.services.test_generators.ToyGenerator"
