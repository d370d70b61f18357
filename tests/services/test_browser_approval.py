"""An order that needs approval, in a real headless Chromium: a customer asks for a 10 Gbps delivery, the plan
waits on the service page as a table of changes, and a second person approves it there; the service's
History tab then shows what the run changed."""

import pytest
from django.contrib.auth import get_user_model

from dcim.models import Location
from demo.inventory import load_inventory
from services import services
from services.models import Approval, Service
from tenancy.models import Membership
from tests.browser import log_in, needs_chromium, save_screenshot, wait_for

from .factories import dedicated_internet, make_tenant, offer
from .generator_fixtures import eager_tasks_fixture  # noqa: F401 - "eager_tasks": approving runs the generator

# The README's screenshots of a service waiting for approval, and of its History tab once delivered (see
# tests/browser.py for where they go).
SCREENSHOT_NAME = "approval.png"
HISTORY_SCREENSHOT_NAME = "history.png"

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_a_10g_order_waits_for_a_second_person(browser, live_server, admin_user, eager_tasks):
    from selenium.webdriver.common.by import By

    load_inventory()
    tenant, site = make_tenant(), Location.objects.get(slug="par1")
    offer(dedicated_internet(), tenant=tenant, location=site)
    customer = get_user_model().objects.create_user("customer", password="customer-password", is_staff=True)
    Membership.objects.create(user=customer, tenant=tenant, role="editor")
    service = services.service_create(service_type=dedicated_internet(), service_identifier="DI-BIG-1", tenant=tenant,
                                      location=site, attributes={"bandwidth": 10000, "ip_package": "medium"})
    page = f"{live_server.url}/admin/services/service/{service.pk}/change/"

    # The customer asks for delivery: the service waits, and they may withdraw but not approve.
    log_in(browser, live_server.url, username="customer", password="customer-password")
    browser.get(page)
    browser.find_element(By.CSS_SELECTOR, "[data-transition='in-delivery']").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "approval"))
    decisions = {button.get_attribute("data-approval-decision")
                 for button in browser.find_elements(By.CSS_SELECTOR, "[data-approval-decision]")}
    assert decisions == {"reject"}
    assert Service.objects.get(pk=service.pk).status == "pending-approval"

    # The approver sees the plan as a table of changes, and approves.
    browser.delete_all_cookies()
    log_in(browser, live_server.url)
    browser.get(page)
    plan = browser.find_element(By.ID, "approval").text
    assert "Waiting for approval" in plan and "requested by customer" in plan
    assert "Ethernet10" in plan or "Ethernet11" in plan  # the 10 Gbps port it would take
    save_screenshot(browser, SCREENSHOT_NAME)
    browser.find_element(By.CSS_SELECTOR, "[data-approval-decision='approve']").click()
    browser.switch_to.alert.accept()
    wait_for(browser, lambda d: not d.find_elements(By.ID, "approval"))

    service.refresh_from_db()
    assert service.status == "active"
    approval = Approval.objects.get(service=service)
    assert (approval.status, approval.decided_by, approval.requested_by) == ("approved", admin_user, customer)
    assert approval.apply_run.status == "succeeded"

    # The History tab: the run's changes of the service, each with its diff and a link to the run.
    browser.get(f"{page.removesuffix('change/')}history/")
    history = browser.find_element(By.ID, "change-history").text
    assert f"run #{approval.apply_run.pk} of DI-BIG-1" in history
    assert "status" in history and "pending-approval" in history and "active" in history
    save_screenshot(browser, HISTORY_SCREENSHOT_NAME)
