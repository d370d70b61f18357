"""The users API: users (superusers write, others see themselves and their tenants' members) and tokens
(their owner's only, the key shown once), and read-only tokens that refuse every write."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from catalog_site.models import Token
from tenancy.models import Membership, Tenant
from tests.api_mixins import APIViewTests, next_number

User = get_user_model()
USERS = "/api/users/users/"
TOKENS = "/api/users/tokens/"


def client_with(key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def make_user(name=None, **fields):
    return User.objects.create_user(name or f"user{next_number()}", **fields)  # no password: hashing is slow


def make_tenant(parent=None):
    n = next_number()
    return Tenant.objects.create(name=f"Tenant {n}", slug=f"tenant-{n}", parent=parent)


class TestUserAPI(APIViewTests):
    url_name = "users-api:user"
    model = User
    brief_fields = ("id", "url", "display", "username")
    list_queries = 3  # token (with its user), count, page
    member_sees_every_row = False  # users are in no tenant: a member sees themselves and fellow members

    def make_objects(self, count):
        return [make_user() for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [
            {"username": f"new{n}", "password": "correct horse battery staple", "email": f"new{n}@example.com"},
            {"username": f"new{n}-b", "first_name": "Bea"},
            {"username": f"new{n}-c", "is_staff": True},
        ]

    def invalid_data(self):
        return {"username": "not a user name!"}, "username"

    def update_data(self):
        return {"first_name": "Renamed", "email": "renamed@example.com"}

    def filter_cases(self, objects):
        first = objects[0]
        return [({"username": first.username}, [first.pk]), ({"q": first.username}, [first.pk])]

    def test_password_is_write_only_and_hashed(self, api):
        response = api.post(USERS, {"username": "carol", "password": "correct horse battery staple"}, format="json")
        assert response.status_code == 201, response.data
        assert "password" not in response.data
        carol = User.objects.get(username="carol")
        assert carol.check_password("correct horse battery staple")
        assert carol.password != "correct horse battery staple"
        assert "password" not in api.get(f"{USERS}{carol.pk}/").data
        response = api.patch(f"{USERS}{carol.pk}/", {"password": "another good passphrase"}, format="json")
        assert response.status_code == 200
        carol.refresh_from_db()
        assert carol.check_password("another good passphrase")

    def test_a_user_created_without_a_password_cannot_log_in_with_one(self, api):
        assert api.post(USERS, {"username": "dave"}, format="json").status_code == 201
        assert not User.objects.get(username="dave").has_usable_password()

    def test_weak_password_is_refused(self, api):
        response = api.post(USERS, {"username": "erin", "password": "short"}, format="json")
        assert response.status_code == 400
        assert "password" in response.data
        assert not User.objects.filter(username="erin").exists()


@pytest.mark.django_db
class TestUserVisibility:
    """Non-superusers see themselves and the members of the tenants they can see, and write no user."""

    @pytest.fixture
    def world(self):
        acme, globex = make_tenant(), make_tenant()
        acme_branch = make_tenant(parent=acme)
        alice, bob, carol, loner = make_user("alice"), make_user("bob"), make_user("carol"), make_user("loner")
        Membership.objects.create(user=alice, tenant=acme, role="viewer")
        Membership.objects.create(user=bob, tenant=acme_branch, role="editor")
        Membership.objects.create(user=carol, tenant=globex, role="admin")
        return {"alice": alice, "bob": bob, "carol": carol, "loner": loner}

    def as_user(self, user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    def usernames(self, client):
        response = client.get(USERS)
        assert response.status_code == 200, response.data
        assert response.data["count"] == len(response.data["results"])
        return {row["username"] for row in response.data["results"]}

    def test_a_member_sees_the_members_of_their_subtree(self, world):
        assert self.usernames(self.as_user(world["alice"])) == {"alice", "bob"}

    def test_a_member_of_a_sub_tenant_does_not_see_the_parents_members(self, world):
        assert self.usernames(self.as_user(world["bob"])) == {"bob"}

    def test_a_user_without_membership_sees_only_themselves(self, world):
        assert self.usernames(self.as_user(world["loner"])) == {"loner"}

    def test_a_hidden_user_is_a_404(self, world):
        client = self.as_user(world["alice"])
        assert client.get(f"{USERS}{world['carol'].pk}/").status_code == 404
        assert client.get(f"{USERS}{world['bob'].pk}/").status_code == 200

    def test_superuser_sees_everyone(self, world, api):
        assert self.usernames(api) >= {"alice", "bob", "carol", "loner", "admin"}

    def test_non_superusers_cannot_write_users(self, world):
        alice = world["alice"]
        client = self.as_user(alice)
        before = User.objects.count()
        assert client.post(USERS, {"username": "eve"}, format="json").status_code == 403
        assert client.patch(f"{USERS}{alice.pk}/", {"is_superuser": True}, format="json").status_code == 403
        assert client.delete(f"{USERS}{world['bob'].pk}/").status_code == 403
        alice.refresh_from_db()
        assert not alice.is_superuser
        assert User.objects.count() == before

    def test_anonymous_is_refused(self, anonymous_api):
        assert anonymous_api.get(USERS).status_code == 401


class TestTokenAPI(APIViewTests):
    url_name = "users-api:token"
    model = Token
    brief_fields = ("id", "url", "display", "prefix", "description", "write_enabled")
    list_queries = 3  # token (with its user), count, page (tokens with their users)
    member_sees_every_row = False  # a user sees their own tokens

    def make_objects(self, count):
        return [Token.issue(user=make_user(), description=f"token {next_number()}")[0] for _ in range(count)]

    def create_data(self):
        soon = (timezone.now() + timedelta(days=30)).isoformat()
        return [
            {"description": "ci"},
            {"description": "monitoring", "write_enabled": False},
            {"description": "temporary", "expires": soon},
        ]

    def invalid_data(self):
        return {"description": "already over", "expires": "2001-01-01T00:00:00Z"}, "expires"

    def update_data(self):
        return {"description": "renamed", "write_enabled": False}

    def filter_cases(self, objects):
        first = objects[0]
        return [({"user_id": first.user_id}, [first.pk]), ({"username": first.user.username}, [first.pk]),
                ({"q": first.description}, [first.pk])]


@pytest.mark.django_db
class TestTokensOwnership:
    def test_the_key_is_shown_once_and_stored_hashed(self, django_user_model):
        alice = make_user("alice")
        _, session_key = Token.issue(user=alice)
        client = client_with(session_key)
        response = client.post(TOKENS, {"description": "laptop", "write_enabled": False}, format="json")
        assert response.status_code == 201, response.data
        key = response.data["key"]
        token = Token.objects.get(pk=response.data["id"])
        assert token.user == alice and not token.write_enabled
        assert token.digest == hashlib.sha256(key.encode()).hexdigest()
        assert key.startswith(token.prefix) and response.data["prefix"] == token.prefix
        assert response.data["user"]["username"] == "alice"
        assert "key" not in client.get(f"{TOKENS}{token.pk}/").data
        assert all("key" not in row for row in client.get(TOKENS).data["results"])
        assert key not in client.get(TOKENS).content.decode()
        assert client_with(key).get(TOKENS).status_code == 200  # the key works

    def test_brief_create_still_answers_the_key(self):
        _, key = Token.issue(user=make_user())
        response = client_with(key).post(f"{TOKENS}?brief=1", {"description": "x"}, format="json")
        assert response.status_code == 201
        assert len(response.data["key"]) == 40

    def test_users_see_and_change_only_their_own_tokens(self):
        alice, bob = make_user("alice"), make_user("bob")
        alices_token, alices_key = Token.issue(user=alice, description="alice's")
        bobs_token, _ = Token.issue(user=bob, description="bob's")
        client = client_with(alices_key)
        response = client.get(TOKENS)
        assert [row["id"] for row in response.data["results"]] == [alices_token.pk]
        detail = f"{TOKENS}{bobs_token.pk}/"
        assert client.get(detail).status_code == 404
        assert client.patch(detail, {"description": "mine now"}, format="json").status_code == 404
        assert client.delete(detail).status_code == 404
        bobs_token.refresh_from_db()
        assert bobs_token.description == "bob's"

    def test_a_user_cannot_create_a_token_for_someone_else(self):
        alice, bob = make_user("alice"), make_user("bob")
        _, key = Token.issue(user=alice)
        response = client_with(key).post(TOKENS, {"user": bob.pk}, format="json")
        assert response.status_code == 400
        assert "user" in response.data
        assert not bob.api_tokens.exists()
        assert client_with(key).post(TOKENS, {"user": alice.pk}, format="json").status_code == 201

    def test_a_superuser_can_create_a_token_for_someone_else(self, api):
        bob = make_user("bob")
        response = api.post(TOKENS, {"user": bob.pk, "description": "for bob"}, format="json")
        assert response.status_code == 201, response.data
        assert bob.api_tokens.get().description == "for bob"
        assert client_with(response.data["key"]).get(TOKENS).status_code == 200

    def test_a_token_cannot_change_hands(self, api):
        token, _ = Token.issue(user=make_user())
        response = api.patch(f"{TOKENS}{token.pk}/", {"user": make_user().pk}, format="json")
        assert response.status_code == 400
        assert "user" in response.data

    def test_delete_revokes(self):
        alice = make_user("alice")
        _, admin_key = Token.issue(user=alice)
        laptop, laptop_key = Token.issue(user=alice)
        assert client_with(admin_key).delete(f"{TOKENS}{laptop.pk}/").status_code == 204
        assert client_with(laptop_key).get(TOKENS).status_code == 401

    def test_expiry_can_be_changed_but_not_into_the_past(self, api):
        token, _ = Token.issue(user=make_user())
        later = timezone.now() + timedelta(days=7)
        assert api.patch(f"{TOKENS}{token.pk}/", {"expires": later.isoformat()}, format="json").status_code == 200
        response = api.patch(f"{TOKENS}{token.pk}/", {"expires": "2001-01-01T00:00:00Z"}, format="json")
        assert response.status_code == 400
        assert "expires" in response.data
        token.refresh_from_db()
        assert token.expires == later


@pytest.mark.django_db
class TestReadOnlyTokens:
    @pytest.fixture
    def read_only(self, admin_user):
        token, key = Token.issue(user=admin_user, write_enabled=False)
        return token, client_with(key)

    def test_reads_work(self, read_only):
        _, client = read_only
        make_tenant()
        assert client.get("/api/tenancy/tenants/").status_code == 200
        assert client.get(TOKENS).status_code == 200
        assert client.options("/api/tenancy/tenants/").status_code == 200

    def test_every_write_is_refused(self, read_only):
        _, client = read_only
        tenant = make_tenant()
        response = client.post("/api/tenancy/tenants/", {"name": "New", "slug": "new"}, format="json")
        assert response.status_code == 403
        assert "read-only" in response.data["detail"]
        detail = f"/api/tenancy/tenants/{tenant.pk}/"
        assert client.patch(detail, {"description": "changed"}, format="json").status_code == 403
        assert client.put(detail, {"name": "Changed", "slug": "changed"}, format="json").status_code == 403
        assert client.delete(detail).status_code == 403
        assert list(Tenant.objects.values_list("name", "description")) == [(tenant.name, "")]

    def test_a_read_only_token_cannot_create_tokens_or_make_itself_writable(self, read_only):
        token, client = read_only
        before = Token.objects.count()
        assert client.post(TOKENS, {"description": "escalate"}, format="json").status_code == 403
        assert client.patch(f"{TOKENS}{token.pk}/", {"write_enabled": True}, format="json").status_code == 403
        assert client.delete(f"{TOKENS}{token.pk}/").status_code == 403
        assert client.post(USERS, {"username": "eve"}, format="json").status_code == 403
        token.refresh_from_db()
        assert not token.write_enabled
        assert Token.objects.count() == before
        assert not User.objects.filter(username="eve").exists()


@pytest.mark.django_db
class TestCreateTokenCommand:
    def run(self, *args):
        out = StringIO()
        call_command("create_token", *args, stdout=out, stderr=StringIO())
        key = out.getvalue().strip().splitlines()[-1]
        return Token.objects.get(digest=hashlib.sha256(key.encode()).hexdigest())

    def test_read_only(self, admin_user):
        assert self.run("admin", "--read-only").write_enabled is False
        assert self.run("admin").write_enabled is True

    @pytest.mark.parametrize("value, expected", [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
    ])
    def test_relative_expiry(self, admin_user, value, expected):
        token = self.run("admin", "--expires", value)
        assert abs(token.expires - (timezone.now() + expected)) < timedelta(minutes=1)

    def test_absolute_expiry(self, admin_user):
        token = self.run("admin", "--expires", "2099-01-31T12:00:00+01:00")
        assert token.expires.isoformat() == "2099-01-31T11:00:00+00:00"
        assert self.run("admin", "--expires", "2099-01-31").expires.isoformat() == "2099-01-31T00:00:00+00:00"

    @pytest.mark.parametrize("value", ["2001-01-01", "tomorrow", "-3d"])
    def test_bad_or_past_expiry(self, admin_user, value):
        with pytest.raises(CommandError, match="--expires"):
            call_command("create_token", "admin", "--expires", value, stdout=StringIO(), stderr=StringIO())
        assert not Token.objects.exists()


@pytest.mark.django_db
def test_api_root_and_schema_list_the_users_api(api):
    assert api.get("/api/").data["users"].endswith("/api/users/")
    root = api.get("/api/users/").data
    assert set(root) == {"users", "tokens"}
    schema = api.get("/api/schema/").content
    assert b"/api/users/tokens/" in schema and b"/api/users/users/" in schema
