"""Shared pieces of the browser tests: a headless Debian Chromium, waiting, logging in, screenshots.

A browser test module sets ``pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]``
and takes the ``browser`` fixture (tests/conftest.py makes it available everywhere).
Screenshots go to the test's tmp dir, or to ``SCREENSHOT_DIR`` when ``make screenshots`` sets it, so
that a test run never changes a tracked file.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

needs_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(0)
    driver.screenshot_dir = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def wait_for(driver, condition, timeout=20):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # An element of the page being replaced goes stale mid-check: look again.
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def log_in(driver, base_url, username="admin", password="admin-password"):
    """Log in through the admin's login form (``admin_user`` of pytest-django has these credentials)."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(driver, lambda d: "/admin/login/" not in d.current_url)


def pick_autocomplete(driver, field_id, text):
    """Choose ``text`` in a Django admin autocomplete (select2) field, as a user would."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#{field_id} + .select2 .select2-selection").click()
    search = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR,
                                                       ".select2-container--open .select2-search__field"))
    search.send_keys(text)
    option = wait_for(driver, lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, ".select2-results__option")
                                              if o.text == text), None))
    option.click()


def save_screenshot(driver, name: str) -> Path:
    """Save the page as ``name`` (a README screenshot when ``make screenshots`` runs the test)."""
    path = driver.screenshot_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path))
    return path
