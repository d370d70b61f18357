"""API authentication: ``Authorization: Token <key>`` (hashed API tokens) and ``Bearer <jwt>``.

Bearer tokens come from an identity provider configured with ``JWT_ISSUER``, ``JWT_AUDIENCE``,
``JWT_PUBLIC_KEY_FILE`` (PEM) or ``JWT_JWKS_FILE`` (a JWKS, its key picked by ``kid``),
``JWT_ALGORITHMS`` and ``JWT_LEEWAY``; the settings are read on each request. PyJWT checks the
signature and the claims. Only asymmetric algorithms are ever accepted: ``none`` and the HMAC
family (``HS256`` signed with the public key as its secret) are refused whatever is configured.
"""

import json
import logging
import os
from dataclasses import dataclass
from functools import lru_cache

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from django.conf import settings
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from rest_framework import authentication, exceptions

from catalog_site.models import ExternalIdentity, IdentityConflict, Token

logger = logging.getLogger(__name__)


class TokenAuthentication(authentication.BaseAuthentication):
    """Authenticates ``Authorization: Token <key>``; keys are compared by their SHA-256 digest."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header: the key is not ASCII.") from exc
        token = Token.objects.for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        # Record use at most once a minute, so that reads do not each cost a write.
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            Token.objects.filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


# -- bearer tokens (JWT) --------------------------------------------------------------------------

# The algorithms a key of each type may verify. Nothing symmetric: with HMAC the public key would
# be the secret, and anyone holding it could sign.
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = {"secp256r1": ("ES256",), "secp384r1": ("ES384",), "secp521r1": ("ES512",)}
EDDSA_ALGORITHMS = ("EdDSA",)
ASYMMETRIC_ALGORITHMS = frozenset((*RSA_ALGORITHMS, "ES256", "ES384", "ES512", *EDDSA_ALGORITHMS))


class BearerConfigurationError(Exception):
    """The configured key material cannot be read; a server problem, not the caller's."""


@dataclass(frozen=True)
class BearerSettings:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    leeway: float
    public_key_file: str
    jwks_file: str


def bearer_settings() -> BearerSettings | None:
    """The JWT settings now in force, or None when bearer tokens are off (no ``JWT_ISSUER``)."""
    issuer = getattr(settings, "JWT_ISSUER", "")
    if not issuer:
        return None
    configured = getattr(settings, "JWT_ALGORITHMS", ("RS256", "ES256"))
    if isinstance(configured, str):
        configured = configured.split(",")
    return BearerSettings(
        issuer=issuer,
        audience=getattr(settings, "JWT_AUDIENCE", ""),
        algorithms=tuple(alg.strip() for alg in configured if alg.strip() in ASYMMETRIC_ALGORITHMS),
        leeway=float(getattr(settings, "JWT_LEEWAY", 30)),
        public_key_file=str(getattr(settings, "JWT_PUBLIC_KEY_FILE", "") or ""),
        jwks_file=str(getattr(settings, "JWT_JWKS_FILE", "") or ""),
    )


def algorithms_for_key(key) -> tuple[str, ...]:
    """The signature algorithms a public key can verify (none for a symmetric or unknown key)."""
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return EC_ALGORITHMS.get(key.curve.name, ())
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return EDDSA_ALGORITHMS
    return ()


@dataclass(frozen=True)
class VerificationKey:
    key: object
    algorithms: tuple[str, ...]


def _file_version(path: str) -> tuple[str, int, int]:
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise BearerConfigurationError(f"cannot read {path}: {exc.strerror}") from exc
    return path, stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=8)
def _load_pem(path: str, mtime_ns: int, size: int) -> VerificationKey:
    """The public key of a PEM file (a public key or a certificate); cached until the file changes."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if b"-----BEGIN CERTIFICATE-----" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise BearerConfigurationError(f"{path} holds no PEM public key or certificate: {exc}") from exc
    return VerificationKey(key, algorithms_for_key(key))


@lru_cache(maxsize=8)
def _load_jwks(path: str, mtime_ns: int, size: int) -> dict[str | None, VerificationKey]:
    """The signing keys of a JWKS file by ``kid``; cached until the file changes."""
    try:
        with open(path, "rb") as handle:
            jwks = json.load(handle)
        entries = jwks["keys"]
        if not isinstance(entries, list):
            raise TypeError("'keys' is not a list")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise BearerConfigurationError(f"{path} is not a JWKS file: {exc}") from exc
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("kty") == "oct":
            continue
        try:
            key = jwt.PyJWK(entry, algorithm=entry.get("alg") if entry.get("alg") in ASYMMETRIC_ALGORITHMS
                            else None).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            logger.warning("JWKS %s: skipping the unusable key %r", path, entry.get("kid"))
            continue
        algorithms = algorithms_for_key(key)
        if "alg" in entry:
            algorithms = tuple(alg for alg in algorithms if alg == entry["alg"])
        keys[entry.get("kid")] = VerificationKey(key, algorithms)
    if not keys:
        raise BearerConfigurationError(f"{path} holds no usable signing key")
    return keys


def verification_key(config: BearerSettings, header: dict) -> VerificationKey:
    """The key that must have signed a token with this header (``kid`` picks it from a JWKS)."""
    if config.jwks_file:
        keys = _load_jwks(*_file_version(config.jwks_file))
        kid = header.get("kid")
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        if kid is None:
            raise exceptions.AuthenticationFailed("Bearer token has no key id (kid) to choose its key with.")
        if not isinstance(kid, str) or kid not in keys:
            raise exceptions.AuthenticationFailed("Bearer token is signed with an unknown key (kid).")
        return keys[kid]
    if config.public_key_file:
        return _load_pem(*_file_version(config.public_key_file))
    raise BearerConfigurationError("neither JWT_PUBLIC_KEY_FILE nor JWT_JWKS_FILE is set")


# What each of PyJWT's refusals means to the caller. Checked in order: subclasses first.
REFUSALS = (
    (jwt.ExpiredSignatureError, "Bearer token has expired."),
    (jwt.ImmatureSignatureError, "Bearer token is not yet valid (nbf or iat lies in the future)."),
    (jwt.InvalidIssuerError, "Bearer token has the wrong issuer."),
    (jwt.InvalidAudienceError, "Bearer token has the wrong audience."),
    (jwt.InvalidSignatureError, "Bearer token signature is invalid."),
    (jwt.InvalidAlgorithmError, "Bearer token algorithm is not accepted."),
    (jwt.DecodeError, "Bearer token is malformed."),
)


def verify_bearer_token(token: str, config: BearerSettings) -> dict:
    """The claims of ``token`` once PyJWT has checked its signature, lifetime, issuer and audience."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise exceptions.AuthenticationFailed("Bearer token is malformed.") from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in config.algorithms:
        # alg "none", HS256 signed with the public key as a secret, or simply not configured.
        accepted = ", ".join(config.algorithms) or "nothing is configured"
        raise exceptions.AuthenticationFailed(f"Bearer token algorithm {alg!r} is not accepted (accepted: {accepted}).")
    key = verification_key(config, header)
    if alg not in key.algorithms:
        raise exceptions.AuthenticationFailed(f"Bearer token algorithm {alg!r} does not fit the issuer's key.")
    required = ["exp", "iss", "sub"] + (["aud"] if config.audience else [])
    try:
        claims = jwt.decode(
            token, key.key, algorithms=[alg], issuer=config.issuer, audience=config.audience or None,
            leeway=config.leeway, options={"require": required, "verify_aud": bool(config.audience)},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise exceptions.AuthenticationFailed(f"Bearer token lacks the required claim '{exc.claim}'.") from exc
    except jwt.PyJWTError as exc:
        detail = next((text for kind, text in REFUSALS if isinstance(exc, kind)), f"Bearer token is invalid: {exc}")
        raise exceptions.AuthenticationFailed(detail) from exc
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
        raise exceptions.AuthenticationFailed("Bearer token subject (sub) must be a non-empty string of at most "
                                              "255 characters.")
    return claims


def _profile_claim(claims: dict, name: str, max_length: int) -> str | None:
    value = claims.get(name)
    return value[:max_length] if isinstance(value, str) else None


def _email_claim(claims: dict) -> str | None:
    email = _profile_claim(claims, "email", 254)
    if email is None:
        return None
    try:
        validate_email(email)
    except ValidationError:
        return None  # an unusable address is left out
    return email


class JWTAuthentication(authentication.BaseAuthentication):
    """Authenticates ``Authorization: Bearer <jwt>`` from the configured identity provider.

    The user is the one of the token's (issuer, subject), created on the first request with no
    access at all (see ``ExternalIdentity``); ``request.auth`` is the verified claims.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        config = bearer_settings()
        if config is None:
            raise exceptions.AuthenticationFailed("Bearer tokens are not configured.")
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid bearer header: expected 'Bearer <jwt>'.")
        try:
            token = header[1].decode("ascii")
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Bearer token is malformed.") from exc
        try:
            claims = verify_bearer_token(token, config)
        except BearerConfigurationError as exc:
            logger.error("Bearer tokens cannot be checked: %s", exc)
            raise exceptions.AuthenticationFailed("Bearer tokens cannot be checked: the server's key "
                                                  "configuration is broken.") from exc
        try:
            user = ExternalIdentity.user_for(
                issuer=claims["iss"], subject=claims["sub"],
                email=_email_claim(claims), name=_profile_claim(claims, "name", 150),
            )
        except IdentityConflict as exc:
            logger.warning("Bearer token of %r at %r refused: %s", claims["sub"], claims["iss"], exc)
            raise exceptions.AuthenticationFailed("This identity cannot be given a user: its user name is "
                                                  "taken by a local user.") from exc
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, claims

    def authenticate_header(self, request):
        return self.keyword


@checks.register(checks.Tags.security)
def check_bearer_settings(app_configs=None, **kwargs):
    """With ``JWT_ISSUER`` set, one readable key source and at least one accepted algorithm (catalog.E010-E012)."""
    config = bearer_settings()
    if config is None:
        return []
    errors = []
    if bool(config.public_key_file) == bool(config.jwks_file):
        errors.append(checks.Error("JWT_ISSUER is set: set exactly one of JWT_PUBLIC_KEY_FILE and JWT_JWKS_FILE.",
                                   id="catalog.E010"))
    else:
        try:
            if config.jwks_file:
                _load_jwks(*_file_version(config.jwks_file))
            else:
                _load_pem(*_file_version(config.public_key_file))
        except BearerConfigurationError as exc:
            errors.append(checks.Error(f"Bearer tokens cannot be checked: {exc}.", id="catalog.E011"))
    if not config.algorithms:
        errors.append(checks.Error("JWT_ALGORITHMS names no accepted algorithm.",
                                   hint=f"Choose among {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}.",
                                   id="catalog.E012"))
    return errors
