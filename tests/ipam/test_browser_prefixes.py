"""The prefix list in a real headless Chromium: the demo's address plan drawn as a tree with utilisation bars,
and a free block of a prefix's page allocated from its "allocate here" link.

The data is the demo inventory (``load_inventory``) with what delivering the demo customers' services and
managing the devices would allocate from the demo pools, so that the README's screenshot
(``prefix-hierarchy.png``, see tests/browser.py for where it goes) looks like the demo.
"""

import pytest

from dcim.models import Device, Location
from demo.inventory import CUSTOMERS, load_inventory
from ipam import allocation
from ipam.models import IPAddressPool, Prefix, PrefixPool
from tenancy.models import Tenant
from tests.browser import log_in, needs_chromium, save_screenshot, wait_for

SCREENSHOT_NAME = "prefix-hierarchy.png"
# The demo's ip_package sizes: small /29, medium /28, large /27.
PACKAGE_LENGTH = {"small": 29, "medium": 28, "large": 27}

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def deliver_demo_address_plan() -> None:
    """What the demo's services and devices would hold: customer prefixes from the customer pool (with
    their addresses), a block of shared address space per site with its link networks, and a management
    address per device."""
    load_inventory()
    customers = PrefixPool.objects.get(name="Customer prefixes pool")
    services = [service for customer in CUSTOMERS for service in customer["services"]]
    services += [(f"DI-INITECH-{n:03}", "initech", "atl1", 10000, "large") for n in range(1, 7)]
    for identifier, tenant, site, _, package in services:
        prefix = allocation.allocate_prefix(
            pool=customers, identifier=identifier, prefix_length=PACKAGE_LENGTH[package],
            data={"tenant": Tenant.objects.get(slug=tenant).pk, "location": Location.objects.get(slug=site).pk,
                  "description": f"{identifier} Dedicated Internet"},
        ).resource
        for _ in range(6 if identifier == "DI-ACME-001" else 2):  # ACME's first package is full
            allocation.allocate_child_ip_address(parent=prefix, data={"tenant": prefix.tenant_id})
    shared = Prefix.objects.get(prefix="100.64.0.0/16")
    for site in Location.objects.filter(kind="site").order_by("name"):
        block = allocation.allocate_child_prefix(parent=shared, prefix_length=24, data={
            "status": "container", "location": site.pk, "description": f"{site.name} customer links"})
        for _ in range(2):  # link networks: the edge routers' gateway (VRRP) and the customer's router
            link = allocation.allocate_child_prefix(parent=block, prefix_length=29, data={"location": site.pk})
            for _ in range(3):
                allocation.allocate_child_ip_address(parent=link)
    management = IPAddressPool.objects.get(name="Management IP pool")
    for device in Device.objects.order_by("name"):
        allocation.allocate_ip_address(pool=management, identifier=f"mgmt-{device.name}",
                                       data={"dns_name": f"{device.name}.mgmt.example.net", "role": "management"})


def test_prefix_tree_bars_and_allocating_a_free_block(browser, live_server, admin_user):
    from selenium.webdriver.common.by import By

    deliver_demo_address_plan()
    browser.set_window_size(1440, 1480)  # the whole address plan in the picture
    log_in(browser, live_server.url)
    browser.get(f"{live_server.url}/admin/ipam/prefix/")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".ipam-prefix"))
    browser.find_element(By.ID, "toggle-nav-sidebar").click()
    wait_for(browser, lambda d: not d.find_element(By.ID, "nav-sidebar").is_displayed())

    def prefix_cell(text):
        return browser.find_element(By.XPATH, f'//span[@class="ipam-prefix"][normalize-space()="{text}"]')

    # Children are drawn to the right of their parents, deeper ones further.
    cells = [prefix_cell(text) for text in ("100.64.0.0/16", "100.64.0.0/24", "100.64.0.8/29")]
    assert [cell.get_attribute("data-depth") for cell in cells] == ["0", "1", "2"]
    indents = [float(cell.value_of_css_property("padding-left").removesuffix("px")) for cell in cells]
    assert indents[0] == 0 < indents[1] < indents[2]

    # A bar per row, its colour and its text saying how full the prefix is.
    def bar(text):
        meter = prefix_cell(text).find_element(By.XPATH, "./ancestor::tr").find_element(By.CSS_SELECTOR,
                                                                                         ".ipam-utilization")
        fill = meter.find_element(By.CSS_SELECTOR, ".ipam-utilization__fill")
        return meter.get_attribute("class").split("--")[-1], meter.text, fill.size["width"]

    acme = Prefix.objects.get(description="DI-ACME-001 Dedicated Internet").prefix
    assert bar(acme)[:2] == ("danger", "100%")
    level, text, width = bar("203.0.113.0/24")
    assert (level, text) == ("warning", "90%") and width > 0
    assert bar("172.16.1.0/24")[:2] == ("ok", "0%")  # a container: its addresses are no child prefixes
    save_screenshot(browser, SCREENSHOT_NAME)

    # The public container's page: the free block after the customers, allocated from its link.
    container = Prefix.objects.get(prefix="203.0.113.0/24")
    browser.get(f"{live_server.url}/admin/ipam/prefix/{container.pk}/change/")
    available = browser.find_element(By.CSS_SELECTOR, "tr.ipam-available")
    free = available.find_element(By.CSS_SELECTOR, ".ipam-prefix").text
    available.find_element(By.LINK_TEXT, "allocate here").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "id_prefix"))
    assert browser.find_element(By.ID, "id_prefix").get_attribute("value") == free
    browser.find_element(By.NAME, "_save").click()
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".messagelist .success"))
    assert Prefix.objects.filter(prefix=free, namespace=container.namespace).exists()
