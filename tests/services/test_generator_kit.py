"""The generator kit (``services.testing``, its fixtures, ``manage.py generator_check``).

Its checks pass for Dedicated Internet and fail, with a message that says what is wrong, for the
deliberately broken generators below: one that leaks, ones that are not idempotent; and the
failure check catches a run whose writes escape its savepoint.
"""

import contextlib
import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog_site.models import ObjectChange
from dcim.models import Interface, Location
from ipam.models import VLAN, L2Domain
from services import runs, services, testing
from services.generators import GeneratorError
from services.generators.dedicated_internet import DedicatedInternetGenerator
from services.models import GeneratorRun, Service, ServiceType
from tenancy.models import Tenant

from .factories import dedicated_internet, offer
from .generator_fixtures import (
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory"
    order,
    port_of,
)

# -- deliberately broken generators ---------------------------------------------------------------

class LeakyGenerator(DedicatedInternetGenerator):
    """Creates a VLAN without recording it as owned: decommissioning cannot give it back."""

    def generate(self) -> None:
        super().generate()
        VLAN.objects.get_or_create(l2domain=L2Domain.get_default(), vid=4000,
                                   defaults={"name": f"leak__{self.identifier}"})


class DriftingGenerator(DedicatedInternetGenerator):
    """Writes a new description on every run (a counter), through the helpers: every run reports a change."""

    runs = itertools.count()

    def generate(self) -> None:
        super().generate()
        vlan = self.owned("vlan")[0] if self.owned("vlan") else VLAN.objects.get(name=f"vlan__{self.identifier}")
        self.update(vlan, {"description": f"Run {next(self.runs)}"})


class SilentlyDriftingGenerator(DedicatedInternetGenerator):
    """Writes a new port description on every run behind the helpers' back: no change reported, yet one made."""

    runs = itertools.count()

    def generate(self) -> None:
        super().generate()
        port = self.owned("dedicated_interfaces") or [None]
        if port[0] is not None:
            Interface.objects.filter(pk=port[0].pk).update(description=f"{self.identifier} run {next(self.runs)}")


class ImpossibleGenerator(DedicatedInternetGenerator):
    """Can never deliver: every run fails with its reason."""

    def generate(self) -> None:
        raise GeneratorError("No way: this generator never delivers.")


def broken_type(generator: type, slug: str) -> ServiceType:
    """A copy of Dedicated Internet run by ``generator``, offered to Acme at Paris 1."""
    service_type = dedicated_internet()
    service_type.pk, service_type.slug, service_type.name = None, slug, slug.replace("-", " ").title()
    service_type.generator = f"{__name__}.{generator.__qualname__}"
    service_type.save()
    offer(service_type, tenant=Tenant.objects.get(slug="acme"), location=service_type_site())
    return service_type


def service_type_site():
    return Location.objects.get(slug="par1")


def order_of(service_type: ServiceType, identifier: str = "XX-1") -> Service:
    return services.service_create(service_type=service_type, service_identifier=identifier,
                                   tenant=Tenant.objects.get(slug="acme"), location=service_type_site(),
                                   attributes={"bandwidth": 1000, "ip_package": "small"})


# -- the checks pass for Dedicated Internet -------------------------------------------------------

def test_dedicated_internet_passes_every_check(inventory, generator_run, assert_idempotent,
                                               assert_gives_back_everything, assert_failure_leaves_nothing):
    before = testing.footprint()
    failing = order("DI-FAIL")
    run = assert_failure_leaves_nothing(failing, before)
    failing.refresh_from_db()
    assert (run.action, run.status, failing.status) == ("provision", "failed", "failed")
    assert testing.FORCED_FAILURE in run.error

    service = order("DI-KIT")
    run = generator_run(service)
    assert (run.action, run.status, service.status) == ("provision", "succeeded", "active")
    assert run.changes and testing.footprint() != before
    assert assert_idempotent(service).changes == []
    plan = generator_run(service, "plan")
    assert (plan.status, plan.changes) == ("succeeded", [])
    run = assert_gives_back_everything(service, before)
    assert (run.action, run.status, service.status) == ("decommission", "succeeded", "decommissioned")


def test_a_delivery_that_needs_an_approval_is_approved_by_the_kit(inventory, generator_run,
                                                                  assert_gives_back_everything,
                                                                  assert_failure_leaves_nothing):
    before = testing.footprint()
    service = order("DI-10G", bandwidth=10000)
    run = generator_run(service)
    assert (run.status, service.status) == ("succeeded", "active")
    assert service.approvals.get().decided_by.username == testing.KIT_USERNAME
    assert_gives_back_everything(service, before)

    failing = order("DI-10G-F", bandwidth=10000)
    run = assert_failure_leaves_nothing(failing, before)
    approval = failing.approvals.get()
    assert (approval.plan_run.status, approval.status) == ("succeeded", "approved")  # the plan was not forced
    assert (run.status, run.action) == ("failed", "provision") and testing.FORCED_FAILURE in run.error


def test_generator_run_delivers_an_update_of_an_active_service(inventory, generator_run, assert_idempotent,
                                                              assert_gives_back_everything):
    before = testing.footprint()
    service = order("DI-UPD")
    generator_run(service)
    services.service_update(service=service, version=service.version, attributes={"bandwidth": 100})
    service.refresh_from_db()
    queued = GeneratorRun.objects.get(service=service, status="queued")  # its message waits for a commit
    run = generator_run(service)
    assert (run.pk, run.status, service.status) == (queued.pk, "succeeded", "active")

    services.service_update(service=service, version=service.version, attributes={"bandwidth": 10000})
    service.refresh_from_db()
    assert service.status == "pending-approval"
    run = generator_run(service)  # approved by the kit, then delivered
    assert (run.status, service.status) == ("succeeded", "active")
    assert port_of(service).speed == 10000
    assert_idempotent(service)
    assert_gives_back_everything(service, before)


def test_the_footprint_sees_interface_states_ledgers_and_free_space(inventory, generator_run):
    before = testing.footprint()
    generator_run(order("DI-FP"))
    lines = "\n".join(testing.footprint_diff(before, testing.footprint()))
    assert "dcim.interface" in lines and "status 'free' -> 'active'" in lines
    for label in ("ipam.vlan", "ipam.numberallocation", "ipam.numberfreerange", "ipam.prefixallocation",
                  "ipam.freeblock", "ipam.ipaddress", "services.serviceresource"):
        assert label in lines, label


# -- and fail, saying why, for broken ones --------------------------------------------------------

def test_a_leak_is_found_by_the_decommission_check(inventory, generator_run, assert_idempotent,
                                                   assert_gives_back_everything):
    service_type = broken_type(LeakyGenerator, "leaky-internet")
    before = testing.footprint()
    service = order_of(service_type)
    assert generator_run(service).status == "succeeded"
    assert_idempotent(service)  # it leaks the same VLAN every time: idempotent, but not giving back
    with pytest.raises(AssertionError) as failure:
        assert_gives_back_everything(service, before)
    message = str(failure.value)
    assert message.startswith(f"Decommissioning {service} did not give back everything")
    assert "ipam.vlan #" in message and "(leak__XX-1 (4000)) was not there before" in message
    assert message.count("\n") == 1  # the rest was given back: only the leaked VLAN differs


def test_a_change_on_every_run_is_found_by_the_idempotency_check(inventory, generator_run, assert_idempotent):
    service = order_of(broken_type(DriftingGenerator, "drifting-internet"))
    assert generator_run(service).status == "succeeded"
    with pytest.raises(AssertionError) as failure:
        assert_idempotent(service)
    message = str(failure.value)
    assert message.startswith(f"Not idempotent: a second run of {service} made 2 change(s)")
    assert "updated ipam.vlan #" in message and "'description': ['Run 0', 'Run 1']" in message


def test_a_write_behind_the_helpers_back_is_found_by_the_idempotency_check(inventory, generator_run,
                                                                           assert_idempotent):
    service = order_of(broken_type(SilentlyDriftingGenerator, "silent-internet"))
    assert generator_run(service).status == "succeeded"
    with pytest.raises(AssertionError) as failure:
        assert_idempotent(service)
    message = str(failure.value)
    assert message.startswith(f"Not idempotent: a second run of {service} reported no change but wrote")
    assert "dcim.interface #" in message
    assert "(sw01 Ethernet4) differs: description 'XX-1 (1000 Mbps)' -> 'XX-1 run 0'" in message


@contextlib.contextmanager
def runs_without_savepoints():
    """The precondition of atomic runs taken away: ``services.runs`` opens no transaction or savepoint."""
    class NoTransactions:
        def __getattr__(self, name):
            return getattr(runs_transaction, name)

        @staticmethod
        def atomic(*args, **kwargs):
            return contextlib.nullcontext()

    runs_transaction = runs.transaction
    runs.transaction = NoTransactions()
    try:
        yield
    finally:
        runs.transaction = runs_transaction


def test_a_failure_that_leaves_something_is_found(inventory, assert_failure_leaves_nothing):
    before = testing.footprint()
    service = order("DI-ESCAPE")
    with runs_without_savepoints(), pytest.raises(AssertionError) as failure:
        assert_failure_leaves_nothing(service, before)
    message = str(failure.value)
    assert message.startswith("The failed provision run #")
    assert "left something behind" in message and "ipam.numberallocation #" in message


def test_failing_generator_is_undone_after_the_block(inventory, generator_run):
    with testing.failing_generator(dedicated_internet()):
        pass
    assert "_change" not in DedicatedInternetGenerator.__dict__ and "generate" in DedicatedInternetGenerator.__dict__
    assert generator_run(order("DI-AFTER")).status == "succeeded"


# -- manage.py generator_check --------------------------------------------------------------------

def database_state() -> tuple:
    return (testing.footprint(), Service.objects.count(), GeneratorRun.objects.count(), ObjectChange.objects.count(),
            ServiceType.objects.count())


def check(*args) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("generator_check", *args, stdout=out, skip_checks=False)  # as manage.py runs it
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_generator_check_passes_for_dedicated_internet_and_changes_nothing(inventory):
    before = database_state()
    out, error = check("dedicated-internet")
    assert error is None, out
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines[:5]] == [
        "order", "deliver", "second run changes nothing", "decommission gives everything back",
        "a failed run leaves nothing"]
    assert all(": ok" in line for line in lines[:5]), out
    assert "for Acme Corp at " in lines[0] and "'ip_package': 'small'" in lines[0]  # the first choices
    assert lines[-1] == "All checks of Dedicated Internet passed."
    assert database_state() == before


def test_generator_check_fails_for_a_leaky_type_and_changes_nothing(inventory):
    broken_type(LeakyGenerator, "leaky-internet")
    before = database_state()
    out, error = check("leaky-internet", "--site", "par1", "--tenant", "acme", "--attribute", "bandwidth=100")
    assert error is not None and error.returncode == 1
    assert str(error) == "1 check(s) of Leaky Internet failed: decommission gives everything back."
    assert "decommission gives everything back: FAILED: Decommissioning" in out
    assert "was not there before" in out and "leak__CHECK-" in out
    assert "'bandwidth': 100" in out
    assert database_state() == before


def test_generator_check_reports_a_delivery_that_fails(inventory):
    broken_type(ImpossibleGenerator, "impossible-internet")
    before = database_state()
    out, error = check("impossible-internet", "--tenant", "acme", "--site", "par1")
    assert error is not None and error.returncode == 1
    lines = out.splitlines()
    assert lines[1].startswith("deliver: FAILED: run #") and lines[1].endswith(
        "failed, service failed: No way: this generator never delivers.")
    assert lines[2] == "second run changes nothing: FAILED: not checked: the delivery failed"
    assert lines[4].startswith("a failed run leaves nothing: FAILED: The provision run #")
    assert "failed for another reason than the forced one: No way" in lines[4]
    assert database_state() == before


def test_generator_check_says_what_is_missing(inventory):
    Location.objects.create(name="Nowhere 1", slug="nowhere1", kind="site")
    before = database_state()
    out, error = check("dedicated-internet", "--site", "nowhere1")
    assert error is not None and error.returncode == 1
    assert out.startswith("order: FAILED: No provider of Dedicated Internet is available at Nowhere 1 and "
                          "authorized: add a provider")
    assert database_state() == before
    with pytest.raises(CommandError, match="There is no site 'nowhere2'"):
        call_command("generator_check", "dedicated-internet", "--site", "nowhere2", stdout=StringIO())


def test_generator_check_refuses_an_unknown_type(inventory):
    with pytest.raises(CommandError, match="There is no service type 'nope'"):
        call_command("generator_check", "nope", stdout=StringIO())


def test_generator_check_makes_up_the_items_of_a_required_list(inventory):
    if not ServiceType.objects.filter(slug="l2vpn").exists():
        pytest.skip("The demo has no L2VPN type.")
    before = database_state()
    out, error = check("l2vpn", "--tenant", "acme")
    assert error is None, out
    assert "'terminations': [{'site': " in out.splitlines()[0]  # two sites the provider serves, their first VLAN
    assert out.splitlines()[-1] == "All checks of L2VPN passed."
    assert database_state() == before
