"""The device page in a real headless Chromium, 1280 px wide: the demo switch's interfaces in natural order, with
links, and a page that fits the screen (the former inline, a form per interface, did not)."""

import pytest
from django.contrib.contenttypes.models import ContentType

from dcim.models import Device, Interface
from demo.inventory import load_inventory
from services.models import ServiceResource
from tests.browser import log_in, needs_chromium, save_screenshot, wait_for
from tests.services.factories import make_service

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

SWITCH_PORTS = ["Ethernet1", "Ethernet2", *[f"Ethernet{n}" for n in range(4, 12)]]


def test_device_page_lists_interfaces_naturally_and_fits_1280_px(browser, live_server, admin_user):
    from selenium.webdriver.common.by import By

    load_inventory()
    switch = Device.objects.get(location__slug="par1", name="sw01")
    port = switch.interfaces.get(name="Ethernet10")
    port.description = "Customer port of a long-winded description that must wrap inside its cell " * 2
    port.save()
    service = make_service(location=switch.location)
    ServiceResource.objects.create(service=service, role="dedicated_interfaces", object_id=port.pk,
                                   content_type=ContentType.objects.get_for_model(Interface))
    log_in(browser, live_server.url)

    browser.get(f"{live_server.url}/admin/dcim/device/{switch.pk}/change/")
    table = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".device-interfaces-table"))
    links = table.find_elements(By.CSS_SELECTOR, "tbody th a")
    assert [link.text for link in links] == SWITCH_PORTS
    assert links[-2].get_attribute("href").endswith(f"/admin/dcim/interface/{port.pk}/change/")
    assert table.find_element(By.LINK_TEXT, service.service_identifier).get_attribute("href").endswith(
        f"/admin/services/service/{service.pk}/change/")
    width, inner = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == 1280
    assert width <= inner
    browser.execute_script("arguments[0].scrollIntoView()", table)
    save_screenshot(browser, "device-interfaces.png")

    # "Edit interfaces": the list of this device's interfaces, in the same order.
    browser.find_element(By.LINK_TEXT, "Edit interfaces").click()
    wait_for(browser, lambda d: "device_id=" in d.current_url)
    names = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")]
    assert names == SWITCH_PORTS
    save_screenshot(browser, "device-interfaces-list.png")

    # The device list, by site: the site a column, the site filter offered.
    browser.get(f"{live_server.url}/admin/dcim/device/?site_id={switch.location_id}")
    rows = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#result_list tbody tr"))
    assert sorted(row.find_element(By.CSS_SELECTOR, "th a").text for row in rows) == ["rb01", "rb02", "sw01", "sw02"]
    assert {row.find_element(By.CSS_SELECTOR, ".field-site_column").text for row in rows} == {"Paris 1"}
    save_screenshot(browser, "device-list.png")
