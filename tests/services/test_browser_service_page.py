"""The service page for people, in a real headless Chromium: order and deliver, read the resources, decommission.

What a NetBox user expects: every resource named by what it is and linked to its page, Deliver saying
where the service ended up, and Decommission asking first, naming what will be given back.
"""

import pytest

from dcim.models import Interface, Location
from demo.inventory import load_inventory
from ipam.models import VLAN, NumberAllocation, Prefix
from services.models import Service
from tests.browser import log_in, needs_chromium, pick_autocomplete, save_screenshot, wait_for

from .factories import dedicated_internet, make_tenant, offer
from .generator_fixtures import eager_tasks_fixture  # noqa: F401 - "eager_tasks": Deliver runs the generator

# The README's screenshot of a delivered service's page (see tests/browser.py for where it goes).
SCREENSHOT_NAME = "service-page.png"

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def resource_rows(browser) -> list[tuple[str, str, str | None]]:
    """(type, name, link) of each row of the resources table shown."""
    from selenium.webdriver.common.by import By

    rows = []
    for row in browser.find_elements(By.CSS_SELECTOR, "tr.service-resource"):
        kind = row.find_element(By.CSS_SELECTOR, ".service-resource-kind").text
        name = row.find_element(By.CSS_SELECTOR, ".service-resource-name")
        links = name.find_elements(By.TAG_NAME, "a")
        rows.append((kind, name.text, links[0].get_attribute("pathname") if links else None))
    return rows


def order_through_the_form(browser, live_server, tenant, site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{live_server.url}/admin/services/service/add/?service_type=dedicated-internet")
    browser.find_element(By.ID, "id_service_identifier").send_keys("DI-PAGE-1")
    pick_autocomplete(browser, "id_tenant", tenant.name)
    Select(browser.find_element(By.ID, "id_location")).select_by_visible_text(site.name)
    Select(browser.find_element(By.ID, "id_attr_bandwidth")).select_by_value("1000")
    Select(browser.find_element(By.ID, "id_attr_ip_package")).select_by_value("small")
    browser.find_element(By.NAME, "_continue").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-transition]"))


def test_deliver_read_the_resources_and_decommission(browser, live_server, admin_user, eager_tasks):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of

    load_inventory()
    tenant, site = make_tenant(), Location.objects.get(slug="par1")
    offer(dedicated_internet(), tenant=tenant, location=site)
    log_in(browser, live_server.url)
    browser.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    order_through_the_form(browser, live_server, tenant, site)
    assert "The service holds nothing yet" in browser.find_element(By.ID, "service-resources").text

    # Deliver: the generator runs (eagerly), and the message says where the service ended up.
    deliver = next(b for b in browser.find_elements(By.CSS_SELECTOR, "[data-transition]") if b.text == "Deliver")
    deliver.click()
    wait_for(browser, staleness_of(deliver))
    service = Service.objects.get(service_identifier="DI-PAGE-1")
    assert service.status == "active"
    assert f"DI-PAGE-1 is active (version {service.version})." in browser.find_element(By.CSS_SELECTOR,
                                                                                      ".messagelist").text

    # Every resource by what it is, with its own name and a link to its page.
    vlan = VLAN.objects.get(name="vlan__DI-PAGE-1")
    prefix = Prefix.objects.get(description="Dedicated Internet DI-PAGE-1")
    port = Interface.objects.select_related("device").get(description__startswith="DI-PAGE-1 ")
    rows = resource_rows(browser)
    assert ("VLAN", f"VLAN {vlan.vid} (vlan__DI-PAGE-1)", f"/admin/ipam/vlan/{vlan.pk}/change/") in rows
    assert ("Prefix", prefix.prefix, f"/admin/ipam/prefix/{prefix.pk}/change/") in rows
    assert ("Interface", f"{port.name} on {port.device.name}", f"/admin/dcim/interface/{port.pk}/change/") in rows
    assert ("VLAN id from pool Customer vlan pool", str(vlan.vid)) == rows[0][:2]
    assert len(rows) == 6 and all(link for _, _, link in rows)
    assert "numberallocation" not in browser.find_element(By.ID, "service-resources").text
    browser.set_window_size(1280, 1100)  # the status box and the whole resources table
    save_screenshot(browser, SCREENSHOT_NAME)

    # A link opens the object.
    browser.find_element(By.LINK_TEXT, f"VLAN {vlan.vid} (vlan__DI-PAGE-1)").click()
    wait_for(browser, lambda d: f"/admin/ipam/vlan/{vlan.pk}/change/" in d.current_url)
    browser.back()

    # Decommission asks first, naming what will be given back; Cancel changes nothing.
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-transition="in-decommissioning"]'))
    browser.find_element(By.CSS_SELECTOR, '[data-transition="in-decommissioning"]').click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-confirm-transition]"))
    confirmation = browser.find_element(By.ID, "content-main").text
    for text in (f"VLAN {vlan.vid} (vlan__DI-PAGE-1)", prefix.prefix, f"{port.name} on {port.device.name}",
                 "Given back to its pool", "Freed for other services"):
        assert text in confirmation, text
    browser.find_element(By.CSS_SELECTOR, "[data-cancel]").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "service-resources"))
    service.refresh_from_db()
    assert service.status == "active"

    browser.find_element(By.CSS_SELECTOR, '[data-transition="in-decommissioning"]').click()
    confirm = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-confirm-transition]"))[0]
    confirm.click()
    wait_for(browser, staleness_of(confirm))
    wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".service-status").get_attribute(
        "data-status") == "decommissioned")
    service.refresh_from_db()
    assert service.status == "decommissioned"
    assert "everything it held is given back" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    assert resource_rows(browser) == []
    assert not VLAN.objects.filter(pk=vlan.pk).exists() and not Prefix.objects.filter(pk=prefix.pk).exists()
    assert not NumberAllocation.objects.filter(identifier="DI-PAGE-1").exists()
    port.refresh_from_db()
    assert (port.status, port.untagged_vlan_id, port.description) == ("free", None, "")
