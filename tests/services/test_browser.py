"""The service admin in a real headless Chromium: order, suggestions, lifecycle buttons, mermaid as SVG.

Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped only when
they are absent. The page loads the vendored mermaid script from the live server's static files,
so the test also proves that no CDN is needed.
"""

import pytest

from dcim.models import Location
from demo.inventory import load_inventory
from services import services
from services.models import Service
from tests.browser import log_in, needs_chromium, pick_autocomplete, save_screenshot, wait_for

from .factories import DOC_WITH_DIAGRAM, dedicated_internet, make_tenant, offer
from .generator_fixtures import eager_tasks_fixture  # noqa: F401 - "eager_tasks": Deliver runs the generator

# The README's screenshot is drawn by this test (see tests/browser.py for where it goes).
SCREENSHOT_NAME = "service-documentation.png"

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_order_suggestions_lifecycle_and_documentation(browser, live_server, admin_user, eager_tasks, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import Select

    load_inventory()  # a site with switches and routers, so that the generator can deliver
    tenant, site = make_tenant(), Location.objects.get(slug="par1")
    offer(dedicated_internet(), tenant=tenant, location=site)
    log_in(browser, live_server.url)

    # The catalog: a card per service type, each with an Order button.
    browser.get(f"{live_server.url}/admin/services/service/catalog/")
    card = browser.find_element(By.CSS_SELECTOR, '[data-service-type="dedicated-internet"]')
    assert "A dedicated physical port with complete internet connectivity." in card.text
    card.find_element(By.LINK_TEXT, "Order").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "id_attr_bandwidth"))

    # The order form, built from the type.
    browser.find_element(By.ID, "id_service_identifier").send_keys("DI-BROWSER-1")
    pick_autocomplete(browser, "id_tenant", tenant.name)
    Select(browser.find_element(By.ID, "id_location")).select_by_visible_text(site.name)
    bandwidth = Select(browser.find_element(By.ID, "id_attr_bandwidth"))
    assert [o.text for o in bandwidth.options][1:] == [
        "Hundred Megabits — 100 Mbps of committed bandwidth.",
        "One Gigabit — 1 Gbps of committed bandwidth.",
        "Ten Gigabits — 10 Gbps of committed bandwidth.",
    ]
    bandwidth.select_by_value("1000")
    Select(browser.find_element(By.ID, "id_attr_ip_package")).select_by_value("medium")
    port_type = browser.find_element(By.ID, "id_attr_port_type")
    suggestions = browser.find_element(By.ID, port_type.get_attribute("list"))
    assert [o.get_attribute("value") for o in suggestions.find_elements(By.TAG_NAME, "option")] == [
        "1000BASE-T", "1000BASE-LX", "10GBASE-LR", "10GBASE-SR"]
    port_type.send_keys("10GBASE-LR")
    browser.find_element(By.NAME, "_continue").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-transition]"))

    service = Service.objects.get(service_identifier="DI-BROWSER-1")
    assert (service.status, service.tenant, service.location) == ("draft", tenant, site)
    assert service.attributes == {"bandwidth": 1000, "ip_package": "medium", "port_type": "10GBASE-LR"}

    # Lifecycle buttons: only the legal transitions. Deliver runs the generator, which makes the service active.
    for label, status in (("Deliver", "active"),):
        buttons = {b.text: b for b in browser.find_elements(By.CSS_SELECTOR, "[data-transition]")}
        buttons[label].click()
        wait_for(browser, staleness_of(buttons[label]))
        wait_for(browser, lambda d, s=status: d.find_element(By.CSS_SELECTOR, ".service-status").get_attribute(
            "data-status") == s)
    assert [b.text for b in browser.find_elements(By.CSS_SELECTOR, "[data-transition]")] == [
        "Redeliver", "Decommission"]

    # A fixed documentation text (the generator's own is tested in test_generators_dedicated_internet.py).
    service.refresh_from_db()
    documentation = DOC_WITH_DIAGRAM.format(identifier=service.service_identifier)
    services.service_set_generated_attributes(service=service, attributes={"documentation": documentation})
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    browser.get(f"{live_server.url}/admin/services/service/{service.pk}/change/")
    browser.find_element(By.CSS_SELECTOR, '[data-service-tab="documentation"]').click()
    svg = wait_for(browser, lambda d: d.find_elements(
        By.CSS_SELECTOR, '[data-service-panel="documentation"] pre.mermaid svg'))[0]
    assert svg.is_displayed()
    assert "rb01 edge" in svg.text and "Internet" in svg.text
    assert not browser.find_element(By.CSS_SELECTOR, '[data-service-panel="service-details"]').is_displayed()
    save_screenshot(browser, SCREENSHOT_NAME)

    # A hostile documentation value: the handler is gone, the diagram is still drawn.
    services.service_set_generated_attributes(service=service, attributes={
        "documentation": documentation + '\n<img src="x" onerror="document.title=\'pwned\'">\n'
                                         '<script>document.title="pwned"</script>\n'})
    browser.get(f"{live_server.url}/admin/services/service/{service.pk}/change/#documentation")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-service-panel="documentation"] svg'))
    assert browser.title != "pwned"
