"""The admin index dashboard and the header's search box in a real headless Chromium, on demo data.

The demo inventory and the customers' draft services, two of them delivered by the generator (eager
Celery), one waiting for approval and one failed run: the dashboard shows each section; the README's
screenshot is drawn here (see tests/browser.py for where it goes). Then the search box of the header
finds a delivered service's gateway address and the prefixes that contain it.
"""

import pytest

from demo.inventory import load_customer_services, load_inventory
from ipam.models import IPAddress
from services import services
from services.models import GeneratorRun, Service
from tests.browser import log_in, needs_chromium, save_screenshot, wait_for
from tests.services.generator_fixtures import eager_tasks_fixture  # noqa: F401 - "eager_tasks": delivery runs

SCREENSHOT_NAME = "dashboard.png"

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def deliver(identifier: str) -> Service:
    service = Service.objects.get(service_identifier=identifier)
    services.service_transition(service=service, to="in-delivery", version=service.version)
    service.refresh_from_db()
    assert service.status == "active", GeneratorRun.objects.filter(service=service).first().error
    return service


def test_dashboard_and_global_search(browser, live_server, admin_user, eager_tasks):
    from selenium.webdriver.common.by import By

    load_inventory()
    load_customer_services()
    delivered = deliver("DI-ACME-001")
    deliver("DI-GLOBEX-002")
    big = Service.objects.get(service_identifier="DI-GLOBEX-001")  # 10 Gbps: it waits for an approval
    services.service_transition(service=big, to="in-delivery", version=big.version)
    assert Service.objects.get(pk=big.pk).status == "pending-approval"
    GeneratorRun.objects.create(service=Service.objects.get(service_identifier="DI-ACME-002"), action="provision",
                                status="failed", error="No free customer port of 100 Mbps or more on the core "
                                                        "switches of Paris 1.")
    gateway = IPAddress.objects.get(description=f"Gateway of {delivered.service_identifier}")
    log_in(browser, live_server.url)

    browser.get(f"{live_server.url}/admin/")
    sections = {section.get_attribute("id"): section for section in browser.find_elements(
        By.CSS_SELECTOR, ".catalog-dashboard section")}
    assert list(sections) == ["dashboard-services", "dashboard-runs", "dashboard-pools", "dashboard-ports"]
    assert "Dedicated Internet" in sections["dashboard-services"].text
    runs = sections["dashboard-runs"]
    # Two deliveries and the plan of the order waiting for approval; the failure made by hand.
    assert "3 succeeded" in runs.text and "1 failed" in runs.text
    assert runs.find_element(By.PARTIAL_LINK_TEXT, "DI-ACME-002").get_attribute("href").endswith(
        f"/admin/services/generatorrun/{GeneratorRun.objects.get(status='failed').pk}/change/")
    pools = [row.find_element(By.CSS_SELECTOR, "th").text for row in sections["dashboard-pools"].find_elements(
        By.CSS_SELECTOR, "tbody tr")]
    assert sorted(pools) == ["Customer prefixes pool", "Customer vlan pool", "L2VPN id pool", "Management IP pool"]
    bars = sections["dashboard-pools"].find_elements(By.CSS_SELECTOR, ".usage-bar")
    assert len(bars) == 4 and all(bar.is_displayed() for bar in bars)
    assert "Paris 1" in sections["dashboard-ports"].text and "Brussels 1" in sections["dashboard-ports"].text
    # The sidebar-less index still lists the catalog entry first.
    first_app = browser.find_elements(By.CSS_SELECTOR, "#content-main .module caption a")[0]
    assert first_app.text.lower() == "service catalog"
    save_screenshot(browser, SCREENSHOT_NAME)

    # The header's search box, on any page: the gateway's address and the prefixes that contain it.
    address = gateway.host_address
    box = browser.find_element(By.CSS_SELECTOR, "#header #global-search-q")
    box.send_keys(address)
    browser.find_element(By.CSS_SELECTOR, "#global-search button[type=submit]").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".search-group"))
    groups = {group.get_attribute("data-group"): group for group in browser.find_elements(
        By.CSS_SELECTOR, ".search-group")}
    assert list(groups) == ["ip-addresses", "prefixes-containing"]
    assert gateway.address in groups["ip-addresses"].text
    containing = [cell.text for cell in groups["prefixes-containing"].find_elements(By.CSS_SELECTOR, "th a")]
    customer_prefix = delivered.resources.get(role="prefix").object.prefix
    assert containing == [customer_prefix, "203.0.113.0/24"]
    assert browser.find_element(By.CSS_SELECTOR, "#header #global-search-q").get_attribute("value") == address
