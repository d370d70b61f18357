"""API tokens: stored hashed, printed once by create_token, refused when wrong or expired."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from catalog_site.models import Token
from tenancy.models import Tenant


def client_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.django_db
class TestTokens:
    def test_create_token_prints_the_key_last_and_stores_only_its_digest(self, admin_user):
        out = StringIO()
        call_command("create_token", "admin", stdout=out, stderr=StringIO())
        key = out.getvalue().strip().splitlines()[-1]
        token = Token.objects.get(user=admin_user)
        assert token.digest == hashlib.sha256(key.encode()).hexdigest()
        assert key not in {token.digest, token.prefix}
        assert key.startswith(token.prefix)
        response = client_with(key).get("/api/tenancy/tenants/")
        assert response.status_code == 200

    def test_create_token_for_unknown_user(self):
        with pytest.raises(CommandError, match="nobody"):
            call_command("create_token", "nobody", stdout=StringIO(), stderr=StringIO())

    def test_wrong_key_is_a_401(self, admin_user):
        Token.issue(user=admin_user)
        response = client_with("0" * 40).get("/api/tenancy/tenants/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"

    def test_malformed_header_is_a_401(self, admin_user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token a b")
        assert client.get("/api/tenancy/tenants/").status_code == 401

    def test_expired_token_is_a_401(self, admin_user):
        _, key = Token.issue(user=admin_user, expires=timezone.now() - timedelta(minutes=1))
        assert client_with(key).get("/api/tenancy/tenants/").status_code == 401

    def test_inactive_user_is_a_401(self, admin_user):
        _, key = Token.issue(user=admin_user)
        admin_user.is_active = False
        admin_user.save()
        assert client_with(key).get("/api/tenancy/tenants/").status_code == 401

    def test_last_used_is_recorded(self, admin_user):
        token, key = Token.issue(user=admin_user)
        client_with(key).get("/api/tenancy/tenants/")
        token.refresh_from_db()
        assert token.last_used is not None

    def test_a_user_without_membership_sees_no_tenant_and_writes_nothing(self, django_user_model):
        Tenant.objects.create(name="Someone", slug="someone")
        user = django_user_model.objects.create_user("reader")
        _, key = Token.issue(user=user)
        client = client_with(key)
        response = client.get("/api/tenancy/tenants/")
        assert response.status_code == 200 and response.data["count"] == 0
        user.user_permissions.add(Permission.objects.get(codename="view_tenant"))  # roles decide, not this
        assert client.get("/api/tenancy/tenants/").data["count"] == 0
        response = client.post("/api/tenancy/tenants/", {"name": "x", "slug": "x"}, format="json")
        assert response.status_code == 403
        assert not Tenant.objects.filter(slug="x").exists()

    def test_schema_and_docs(self, api):
        schema = api.get("/api/schema/")
        assert schema.status_code == 200
        assert b"/api/tenancy/tenants/" in schema.content
        docs = api.get("/api/docs/")
        assert docs.status_code == 200
        assert b"drf_spectacular_sidecar/swagger-ui-dist" in docs.content  # served locally, no CDN
        assert b"cdn.jsdelivr" not in docs.content
        root = api.get("/api/").data
        assert set(root) >= {"tenancy", "dcim", "ipam"}
