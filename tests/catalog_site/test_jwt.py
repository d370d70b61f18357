"""Bearer tokens (JWT): each refusal is a 401 with its reason; the user is keyed on issuer and subject."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient

from catalog_site.api.authentication import check_bearer_settings
from catalog_site.models import ExternalIdentity
from tenancy.models import Tenant

ISSUER = "https://id.example.com/realms/customers"
AUDIENCE = "catalog"
ME = "/api/users/users/"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def pem_file(tmp_path, rsa_key):
    path = tmp_path / "issuer.pem"
    path.write_bytes(public_pem(rsa_key))
    return path


@pytest.fixture
def bearer_config(pem_file):
    """Bearer tokens of ISSUER for AUDIENCE, verified with the RSA key's PEM."""
    with override_settings(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE, JWT_PUBLIC_KEY_FILE=str(pem_file),
                           JWT_JWKS_FILE="", JWT_ALGORITHMS=["RS256", "ES256"], JWT_LEEWAY=30):
        yield


def claims(**overrides):
    now = int(time.time())
    values = {"iss": ISSUER, "aud": AUDIENCE, "sub": "5f1c-alice", "iat": now, "nbf": now, "exp": now + 300}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def sign(private_key, algorithm="RS256", headers=None, **overrides) -> str:
    return jwt.encode(claims(**overrides), private_key, algorithm=algorithm, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsafe_token(header: dict, payload: dict, secret: bytes | None) -> str:
    """A token PyJWT would refuse to make: unsigned (``secret`` None) or HMAC-signed with ``secret``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_refused(token: str, reason: str):
    users = get_user_model().objects.count()
    response = bearer(token).get(ME)
    assert response.status_code == 401, response.data
    assert reason in str(response.data["detail"]), response.data
    assert get_user_model().objects.count() == users
    assert not ExternalIdentity.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("bearer_config")
class TestRefusals:
    def test_expired(self, rsa_key):
        assert_refused(sign(rsa_key, exp=int(time.time()) - 120), "expired")

    def test_expired_within_the_leeway_is_accepted(self, rsa_key):
        assert bearer(sign(rsa_key, exp=int(time.time()) - 5)).get(ME).status_code == 200

    def test_not_yet_valid_nbf(self, rsa_key):
        assert_refused(sign(rsa_key, nbf=int(time.time()) + 600), "not yet valid")

    def test_issued_in_the_future(self, rsa_key):
        assert_refused(sign(rsa_key, iat=int(time.time()) + 600), "not yet valid")

    def test_wrong_issuer(self, rsa_key):
        assert_refused(sign(rsa_key, iss="https://evil.example.com"), "wrong issuer")

    def test_wrong_audience(self, rsa_key):
        assert_refused(sign(rsa_key, aud="another-app"), "wrong audience")

    def test_bad_signature(self):
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert_refused(sign(stranger), "signature is invalid")

    def test_tampered_payload(self, rsa_key):
        header, _, signature = sign(rsa_key).split(".")
        forged = b64(json.dumps(claims(sub="someone-else")).encode())
        assert_refused(f"{header}.{forged}.{signature}", "signature is invalid")

    def test_alg_none(self):
        assert_refused(unsafe_token({"alg": "none", "typ": "JWT"}, claims(), None), "'none' is not accepted")

    def test_hs256_signed_with_the_public_key(self, rsa_key):
        token = unsafe_token({"alg": "HS256", "typ": "JWT"}, claims(), public_pem(rsa_key))
        assert_refused(token, "'HS256' is not accepted")

    def test_hs256_stays_refused_even_when_configured(self, rsa_key):
        token = unsafe_token({"alg": "HS256", "typ": "JWT"}, claims(), public_pem(rsa_key))
        with override_settings(JWT_ALGORITHMS=["HS256", "none", "RS256"]):
            assert_refused(token, "'HS256' is not accepted (accepted: RS256)")

    def test_algorithm_that_does_not_fit_the_key(self, ec_key):
        assert_refused(sign(ec_key, algorithm="ES256"), "does not fit")

    def test_missing_sub(self, rsa_key):
        assert_refused(sign(rsa_key, sub=None), "'sub'")

    def test_empty_sub(self, rsa_key):
        assert_refused(sign(rsa_key, sub=""), "subject (sub)")

    def test_missing_exp(self, rsa_key):
        assert_refused(sign(rsa_key, exp=None), "'exp'")

    def test_missing_aud_when_an_audience_is_configured(self, rsa_key):
        assert_refused(sign(rsa_key, aud=None), "'aud'")

    @pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"])
    def test_malformed(self, token):
        assert_refused(token, "malformed")

    def test_two_words_after_bearer(self, rsa_key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign(rsa_key)} extra")
        assert client.get(ME).status_code == 401

    def test_not_configured(self, rsa_key):
        with override_settings(JWT_ISSUER=""):
            assert_refused(sign(rsa_key), "Bearer tokens are not configured")

    def test_unreadable_key_file_is_a_401_and_a_system_check_error(self, rsa_key, tmp_path):
        with override_settings(JWT_PUBLIC_KEY_FILE=str(tmp_path / "missing.pem")):
            assert_refused(sign(rsa_key), "key configuration is broken")
            assert [error.id for error in check_bearer_settings()] == ["catalog.E011"]

    def test_deactivated_user(self, rsa_key):
        token = sign(rsa_key)
        assert bearer(token).get(ME).status_code == 200
        user = ExternalIdentity.objects.get().user
        user.is_active = False
        user.save()
        response = bearer(token).get(ME)
        assert response.status_code == 401
        assert "inactive" in str(response.data["detail"])


@pytest.mark.django_db
@pytest.mark.usefixtures("bearer_config")
class TestIdentity:
    def test_first_request_creates_a_user_without_any_access(self, rsa_key):
        token = sign(rsa_key, preferred_username="alice", email="alice@example.com", name="Alice Liddell")
        response = bearer(token).get(ME)
        assert response.status_code == 200, response.data
        identity = ExternalIdentity.objects.select_related("user").get()
        user = identity.user
        assert (identity.issuer, identity.subject) == (ISSUER, "5f1c-alice")
        assert identity.last_seen is not None
        assert user.username == ExternalIdentity.username_for(issuer=ISSUER, subject="5f1c-alice")
        assert user.username.startswith("jwt-") and len(user.username) == 16
        assert (user.email, user.first_name) == ("alice@example.com", "Alice Liddell")
        assert not (user.is_staff or user.is_superuser or user.has_usable_password())
        assert not user.memberships.exists()
        assert [row["username"] for row in response.data["results"]] == [user.username]

    def test_the_same_subject_is_the_same_user_whatever_name_it_claims(self, rsa_key):
        bearer(sign(rsa_key, preferred_username="alice")).get(ME)
        response = bearer(sign(rsa_key, preferred_username="mallory", email="m@example.com")).get(ME)
        assert response.status_code == 200
        assert ExternalIdentity.objects.count() == 1
        user = ExternalIdentity.objects.get().user
        assert get_user_model().objects.filter(username__startswith="jwt-").count() == 1
        assert user.email == "m@example.com"  # profile claims follow the token; the identity does not

    def test_a_claimed_name_never_takes_over_a_local_user(self, rsa_key, admin_user):
        token = sign(rsa_key, sub="admin", preferred_username="admin", name="admin", email="admin@example.com")
        response = bearer(token).get(ME)
        assert response.status_code == 200
        user = ExternalIdentity.objects.get().user
        assert user != admin_user and not user.is_superuser
        assert [row["username"] for row in response.data["results"]] == [user.username]

    def test_the_same_subject_from_another_issuer(self, rsa_key):
        other = "https://other-idp.example.net"
        assert bearer(sign(rsa_key)).get(ME).status_code == 200
        response = bearer(sign(rsa_key, iss=other)).get(ME)
        assert response.status_code == 401
        assert "wrong issuer" in str(response.data["detail"])
        with override_settings(JWT_ISSUER=other):  # once configured, it is another identity
            assert bearer(sign(rsa_key, iss=other)).get(ME).status_code == 200
        assert ExternalIdentity.objects.count() == 2
        assert get_user_model().objects.filter(external_identities__subject="5f1c-alice").count() == 2

    def test_a_deleted_user_comes_back_as_a_new_user_without_access(self, rsa_key):
        bearer(sign(rsa_key)).get(ME)
        first = ExternalIdentity.objects.get().user
        first.delete()
        assert bearer(sign(rsa_key)).get(ME).status_code == 200
        assert ExternalIdentity.objects.get().user.pk != first.pk

    def test_a_local_user_holding_the_derived_name_is_never_borrowed(self, rsa_key, django_user_model):
        local = django_user_model.objects.create_user(ExternalIdentity.username_for(issuer=ISSUER,
                                                                                    subject="5f1c-alice"))
        response = bearer(sign(rsa_key)).get(ME)
        assert response.status_code == 401
        assert not ExternalIdentity.objects.exists()
        assert not local.external_identities.exists()

    def test_the_new_user_sees_no_tenant(self, rsa_key):
        Tenant.objects.create(name="Acme", slug="acme")
        response = bearer(sign(rsa_key)).get("/api/tenancy/tenants/")
        assert response.status_code == 200, response.data
        assert response.data["count"] == 0

    def test_the_new_user_cannot_write(self, rsa_key):
        response = bearer(sign(rsa_key)).post("/api/tenancy/tenants/", {"name": "Mine", "slug": "mine"},
                                              format="json")
        assert response.status_code in (400, 403), response.data
        assert not Tenant.objects.exists()


@pytest.mark.django_db
class TestKeys:
    def test_es256_with_a_pem_key(self, tmp_path, ec_key):
        path = tmp_path / "ec.pem"
        path.write_bytes(public_pem(ec_key))
        with override_settings(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE, JWT_PUBLIC_KEY_FILE=str(path),
                               JWT_JWKS_FILE=""):
            assert bearer(sign(ec_key, algorithm="ES256")).get(ME).status_code == 200
            other_curve = ec.generate_private_key(ec.SECP384R1())
            assert bearer(sign(other_curve, algorithm="ES384")).get(ME).status_code == 401

    def jwks(self, tmp_path, *entries):
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps({"keys": list(entries)}))
        return path

    def jwk(self, private_key, kid, **extra):
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) \
            else jwt.algorithms.ECAlgorithm
        return {**algorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "use": "sig", **extra}

    def test_jwks_picks_the_key_by_kid(self, tmp_path, rsa_key, ec_key):
        path = self.jwks(tmp_path, self.jwk(rsa_key, "rsa-2026"), self.jwk(ec_key, "ec-2026"),
                         {"kty": "oct", "k": b64(b"shared-secret"), "kid": "hmac"})
        with override_settings(JWT_ISSUER=ISSUER, JWT_AUDIENCE="", JWT_PUBLIC_KEY_FILE="", JWT_JWKS_FILE=str(path)):
            assert bearer(sign(rsa_key, headers={"kid": "rsa-2026"}, aud=None)).get(ME).status_code == 200
            assert bearer(sign(ec_key, "ES256", headers={"kid": "ec-2026"}, aud=None)).get(ME).status_code == 200
            assert ExternalIdentity.objects.count() == 1  # both keys speak for the same issuer
            for token, reason in [
                (sign(rsa_key, headers={"kid": "retired"}, aud=None), "unknown key"),
                (sign(rsa_key, headers={"kid": "ec-2026"}, aud=None), "does not fit"),
                (sign(rsa_key, aud=None), "no key id"),
                (unsafe_token({"alg": "HS256", "kid": "hmac"}, claims(aud=None), b"shared-secret"), "not accepted"),
            ]:
                response = bearer(token).get(ME)
                assert response.status_code == 401, reason
                assert reason in str(response.data["detail"])

    def test_a_token_with_an_audience_when_none_is_configured_is_accepted(self, tmp_path, rsa_key):
        path = self.jwks(tmp_path, self.jwk(rsa_key, "only"))
        with override_settings(JWT_ISSUER=ISSUER, JWT_AUDIENCE="", JWT_PUBLIC_KEY_FILE="", JWT_JWKS_FILE=str(path)):
            assert bearer(sign(rsa_key)).get(ME).status_code == 200  # one key: kid may be left out

    def test_system_check(self, tmp_path, pem_file):
        with override_settings(JWT_ISSUER=ISSUER, JWT_PUBLIC_KEY_FILE=str(pem_file), JWT_JWKS_FILE=""):
            assert check_bearer_settings() == []
        with override_settings(JWT_ISSUER=ISSUER, JWT_PUBLIC_KEY_FILE="", JWT_JWKS_FILE=""):
            assert [error.id for error in check_bearer_settings()] == ["catalog.E010"]
        with override_settings(JWT_ISSUER=ISSUER, JWT_PUBLIC_KEY_FILE=str(pem_file), JWT_ALGORITHMS=["HS256"]):
            assert [error.id for error in check_bearer_settings()] == ["catalog.E012"]
        with override_settings(JWT_ISSUER=""):
            assert check_bearer_settings() == []


@pytest.mark.django_db
class TestOtherAuthenticationStillWorks:
    def test_api_token(self, api):
        assert api.get("/api/tenancy/tenants/").status_code == 200

    def test_session(self, admin_user):
        client = APIClient()
        assert client.login(username="admin", password="admin-password")
        assert client.get("/api/tenancy/tenants/").status_code == 200

    def test_schema_documents_both_schemes(self, api):
        schema = api.get("/api/schema/", {"format": "json"})
        assert schema.status_code == 200
        schemes = json.loads(schema.content)["components"]["securitySchemes"]
        assert schemes["tokenAuth"]["type"] == "apiKey"
        assert schemes["tokenAuth"]["name"] == "Authorization"
        assert schemes["jwtAuth"] == {**schemes["jwtAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
