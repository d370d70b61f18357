"""Settings of the catalog, read from the environment.

Nothing configured gives the embedded default: a SQLite file under ``var/`` and Celery tasks run
eagerly. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (set DEBUG=1 to develop).")
    SECRET_KEY = "development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# HTTPS=1 when clients reach the catalog over TLS: redirect http to https, secure cookies, HSTS (each
# overridable). Off by default, because `make demo` and the tests serve plain http on localhost.
# Behind a proxy that terminates TLS, name the header it sets (SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto)
# and make sure it overwrites any such header a client sends.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600) if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + os.environ["SECURE_PROXY_SSL_HEADER"].upper().replace("-", "_"), "https")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "mptt",
    "django_celery_beat",
    "catalog_site",
    # The admin with the catalog's site (sidebar, dashboard, search), after catalog_site so that
    # catalog_site/templates/admin/ overrides its templates.
    "catalog_site.apps.CatalogAdminConfig",
    "tenancy",
    "dcim",
    "ipam",
    "services",
    "demo",
    # After catalog_site: its templates under admin/import_export/ override the library's.
    "import_export",
]

MIDDLEWARE = [
    "catalog_site.middleware.APIVersionMiddleware",
    "catalog_site.middleware.APIDatabaseErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "catalog_site.changelog.ChangeContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "catalog_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "catalog_site.wsgi.application"

# Database: SQLite by default. Writers take the database lock at BEGIN (IMMEDIATE) and wait up to
# the busy timeout, so that concurrent requests queue instead of failing with "database is locked".
SQLITE_PATH = BASE_DIR / "var" / "catalog.sqlite3"
if "DATABASE_URL" not in os.environ:
    SQLITE_PATH.parent.mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        # A persistent connection is checked before its first use in each request or task, so that
        # one the database dropped (a restart, a failover, a killed backend) is replaced, not failed on.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Give up on an unreachable server after a few seconds (the default is to wait for TCP's timeout).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5")))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SQLITE_TEST_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "catalog_site.api.authentication.TokenAuthentication",
        "catalog_site.api.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalog_site.api.permissions.AccessPermission"],
    "DEFAULT_PAGINATION_CLASS": "catalog_site.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "catalog_site.filtersets.FilterBackend",
        "catalog_site.filtersets.OrderingFilter",
    ],
    # JSON only: the browsable API posts its raw-data form as JSON too.
    "DEFAULT_PARSER_CLASSES": ["catalog_site.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "catalog_site.api.schema.CatalogAutoSchema",
    "EXCEPTION_HANDLER": "catalog_site.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
MAX_PAGE_SIZE = int(os.environ.get("MAX_PAGE_SIZE", "1000"))
# A POST of a list creates at most this many objects (a longer list is a 413, before any validation).
MAX_BULK_OBJECTS = int(os.environ.get("MAX_BULK_OBJECTS", "1000"))

# Bearer tokens (JWT) of an identity provider: off unless JWT_ISSUER is set. The key is a PEM file
# (JWT_PUBLIC_KEY_FILE) or a JWKS file (JWT_JWKS_FILE, its key chosen by the token's kid). Only
# asymmetric algorithms: "none" and HMAC (HS*), which would make the public key a signing secret,
# are refused here and ignored by the authentication class whatever the settings say.
JWT_ISSUER = os.environ.get("JWT_ISSUER", "")
JWT_AUDIENCE = os.environ.get("JWT_AUDIENCE", "")
JWT_PUBLIC_KEY_FILE = os.environ.get("JWT_PUBLIC_KEY_FILE", "")
JWT_JWKS_FILE = os.environ.get("JWT_JWKS_FILE", "")
JWT_ALGORITHMS = env_list("JWT_ALGORITHMS", "RS256,ES256")
JWT_LEEWAY = int(os.environ.get("JWT_LEEWAY", "30"))
_unsafe_jwt_algorithms = [alg for alg in JWT_ALGORITHMS if alg.lower() == "none" or alg.upper().startswith("HS")]
if _unsafe_jwt_algorithms:
    raise ImproperlyConfigured(f"JWT_ALGORITHMS may not include {', '.join(_unsafe_jwt_algorithms)}: "
                               "only asymmetric algorithms (RS256, ES256, ...) verify a token with a public key.")

# The catalog's version: in the OpenAPI schema and /api/status/ (catalog_version).
CATALOG_VERSION = "0.1.0"
# The NetBox release whose REST API the catalog's NetBox surface follows (docs/netbox.md): /api/status/
# answers it as netbox-version, and every API response's API-Version header its major.minor, because
# NetBox clients (pynetbox's nb.version, the Ansible modules) compare it with NetBox's releases to choose
# how to talk to the server. The catalog's own version would read to them as a NetBox older than 1.0.
NETBOX_VERSION = "4.2.0"
API_VERSION = ".".join(NETBOX_VERSION.split(".")[:2])

SPECTACULAR_SETTINGS = {
    "TITLE": "The catalog API",
    "DESCRIPTION": "Network source of truth and service catalog.",
    "VERSION": CATALOG_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files (no CDN: the catalog may run offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The bulk writes' request components are built from the finished ones (catalog_site.api.schema).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "catalog_site.api.schema.add_bulk_components"],
    # Choice sets used by several fields or components (a pool's default_status is a prefix status,
    # a brief generator run shows the run's status): one name each.
    "ENUM_NAME_OVERRIDES": {
        "PrefixStatusEnum": "ipam.models.Prefix.Status",
        "IPAddressStatusEnum": "ipam.models.IPAddress.Status",
        "IPAddressRoleEnum": "ipam.models.IPAddress.Role",
        "VLANStatusEnum": "ipam.models.VLAN.Status",
        "GeneratorRunStatusEnum": "services.models.GeneratorRun.Status",
        "GeneratorRunActionEnum": "services.models.GeneratorRun.Action",
        "ApprovalStatusEnum": "services.models.Approval.Status",
        "ObjectChangeActionEnum": "catalog_site.models.ObjectChange.Action",
        "WebhookDeliveryStatusEnum": "catalog_site.models.WebhookDelivery.Status",
        "MembershipRoleEnum": "tenancy.models.Membership.Role",
        "SiteStatusEnum": "dcim.choices.SiteStatus",
        "LocationKindEnum": "dcim.models.Location.Kind",
        "RegionKindEnum": "dcim.models.Location.REGION_KIND_CHOICES",
    },
}

# Celery: no broker configured means tasks run eagerly in the calling process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Celery still builds a producer to serialise an eager task's arguments; the in-memory transport
    # spares it the default AMQP broker (and its "No hostname was supplied" warning). Nothing is sent.
    CELERY_BROKER_URL = "memory://localhost/"
# Not propagated: an eager task then retries and reports its failure (on_failure) as it would on a
# worker. Tasks are sent on commit, where an exception would only be logged anyway.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # An unreachable Redis fails a send in about a second instead of hanging the request that sends.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1}
# Workers and beat wait for a broker that is away, however long (Celery's default gives up after 100
# attempts, some 50 minutes, and the worker exits), and one started while it is away waits for it.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A queued run whose message was lost (the broker down or flushed when it was sent) is sent again by
# the periodic sweep (services.resend_lost_runs, every 30 s) once it has waited this many seconds.
RUN_RESEND_AFTER = int(os.environ.get("RUN_RESEND_AFTER", "20"))

# The change log (catalog_site.changelog): records older than this many days, and finished webhook
# deliveries, are deleted by the scheduled purge (catalog_site.purge_changelog, daily); 0 keeps them all.
CHANGELOG_RETENTION_DAYS = int(os.environ.get("CHANGELOG_RETENTION_DAYS", "90"))

# Webhooks (catalog_site.webhooks): targets on loopback, link-local or private addresses are refused unless
# this is set (tests, a lab); a failing delivery is retried, backing off, for this many seconds.
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WEBHOOK_RETRY_FOR = int(os.environ.get("WEBHOOK_RETRY_FOR", "86400"))
WEBHOOK_FIRST_RETRY = int(os.environ.get("WEBHOOK_FIRST_RETRY", "30"))  # seconds before the first retry

# The cache carries what must be shared between processes outside the database, such as the log
# lines of a generator run while its transaction is open. Redis when one is configured; otherwise
# files, which every process on the machine (web, worker) can read.
REDIS_URL = os.environ.get("REDIS_URL", "")
_cache_redis = REDIS_URL or (CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "")
if _cache_redis:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_redis,
                          "KEY_PREFIX": "catalog",
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": os.environ.get("CACHE_DIR") or str(BASE_DIR / "var" / "cache")}}

# Import and export from the admin's list pages (django-import-export, catalog_site.importexport): every
# import in one transaction, rolled back whole when a row fails; the uploaded file waits between the
# preview and the confirmation in the cache under a random key (not in a file named by the form).
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_TMP_STORAGE_CLASS = "import_export.tmp_storages.CacheStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
