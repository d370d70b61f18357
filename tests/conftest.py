"""Shared fixtures: an admin user with an API token, and API clients."""

import pytest
from rest_framework.test import APIClient

from catalog_site.models import Token
from tests.browser import browser  # noqa: F401 - the fixture of the browser tests

# The generator kit's fixtures: generator_run, assert_idempotent, assert_gives_back_everything, ...
pytest_plugins = ["services.testing_plugin"]


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password")


@pytest.fixture
def token_key(admin_user):
    _, key = Token.issue(user=admin_user, description="tests")
    return key


@pytest.fixture
def api(token_key):
    """An API client authenticated as a superuser through ``Authorization: Token``."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key}")
    return client


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture
def as_user(client):
    """``as_user(user)``: the Django test client, logged in as ``user`` (for the admin's pages)."""
    def log_in(user):
        client.force_login(user)
        return client

    return log_in
