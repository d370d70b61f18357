"""In a real browser: import devices from a CSV file (a bad row first: the preview says why and nothing is
written; then a good file, confirmed), then edit the imported rows' status with "Edit selected devices"."""

import pytest

from dcim.models import Device
from tests.browser import log_in, needs_chromium, save_screenshot, wait_for
from tests.dcim.factories import default_device_type, device_role, make_location

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

HEADER = "location,name,device_type,role,status\n"


def upload(browser, base_url, path):
    """The Import page of devices, from the list page's button, with ``path`` chosen as a CSV file."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{base_url}/admin/dcim/device/")
    browser.find_element(By.CSS_SELECTOR, "a.import_link").click()
    wait_for(browser, lambda d: d.find_elements(By.ID, "id_import_file"))
    browser.find_element(By.ID, "id_import_file").send_keys(str(path))
    Select(browser.find_element(By.ID, "id_format")).select_by_visible_text("csv")
    browser.find_element(By.CSS_SELECTOR, "form input[type=submit]").click()


def test_import_preview_confirm_and_bulk_edit(browser, live_server, admin_user, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    site = make_location("site", parent=make_location("metro", parent=make_location("country")), name="Paris 1")
    model, role = default_device_type().slug, device_role("edge").slug
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"{site.slug},edge-1,{model},{role},active\n{site.slug},edge-2,{model},{role},sideways\n")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + f"{site.slug},edge-1,{model},{role},active\n{site.slug},edge-2,{model},{role},staged\n")
    log_in(browser, live_server.url)

    upload(browser, live_server.url, bad)
    errors = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "table.import-row-errors tr.row-error"))
    assert [cell.text for cell in errors[0].find_elements(By.TAG_NAME, "td")][:2] == ["2", "status"]
    assert "sideways" in errors[0].text
    assert "Nothing was written" in browser.find_element(By.ID, "content").text
    assert not browser.find_elements(By.NAME, "confirm")
    save_screenshot(browser, "import-preview-errors.png")
    assert not Device.objects.filter(name__in=["edge-1", "edge-2"]).exists()

    upload(browser, live_server.url, good)
    confirm = wait_for(browser, lambda d: d.find_element(By.NAME, "confirm"))
    save_screenshot(browser, "import-preview.png")
    confirm.click()
    wait_for(browser, lambda d: "Import finished" in d.find_element(By.CSS_SELECTOR, "ul.messagelist").text)
    assert sorted(Device.objects.values_list("name", "status")) == [("edge-1", "active"), ("edge-2", "staged")]

    browser.get(f"{live_server.url}/admin/dcim/device/?q=edge-")
    for checkbox in browser.find_elements(By.CSS_SELECTOR, "#result_list input.action-select"):
        checkbox.click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("bulk_edit")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    status = wait_for(browser, lambda d: d.find_element(By.ID, "id_status"))
    Select(status).select_by_visible_text("Offline")
    save_screenshot(browser, "bulk-edit.png")
    browser.find_element(By.CSS_SELECTOR, "#bulk-edit-form input[name=apply]").click()
    wait_for(browser, lambda d: "Changed 2 devices." in d.find_element(By.CSS_SELECTOR, "ul.messagelist").text)
    assert sorted(Device.objects.values_list("name", "status")) == [("edge-1", "offline"), ("edge-2", "offline")]
