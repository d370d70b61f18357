"""Production settings: ``check --deploy`` is clean, the Procfile names every process, nothing local on disk with Redis.

Each case reads the settings in a fresh process with the environment of a production machine.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "catalog.example.com",
              "DATABASE_URL": "postgres://catalog@db.example.com:5432/catalog",
              "CELERY_BROKER_URL": "redis://redis.example.com:6379/0"}
CLEAN = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "HTTPS", "SECURE_SSL_REDIRECT",
         "SECURE_COOKIES", "SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", "CACHE_DIR")


def run(arguments: list[str], **env) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name not in CLEAN}
    environment.update(DJANGO_SETTINGS_MODULE="catalog_site.settings", **env)
    return subprocess.run([sys.executable, *arguments], cwd=BASE_DIR, env=environment, capture_output=True,
                          text=True, timeout=120)


def settings_of(names: list[str], **env) -> dict:
    code = ("import django, json; django.setup(); from django.conf import settings; "
            f"print(json.dumps({{name: getattr(settings, name, None) for name in {names!r}}}, default=str))")
    result = run(["-c", code], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_check_deploy_is_clean_behind_tls():
    result = run(["manage.py", "check", "--deploy"], **PRODUCTION, HTTPS="1")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_over_plain_http_check_deploy_names_what_is_missing():
    result = run(["manage.py", "check", "--deploy"], **PRODUCTION)
    warned = {code for code in ("W004", "W008", "W012", "W016") if f"security.{code}" in result.stderr}
    assert warned == {"W004", "W008", "W012", "W016"}, result.stderr


def test_https_turns_on_the_redirect_secure_cookies_and_hsts():
    names = ["SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
             "SECURE_PROXY_SSL_HEADER"]
    assert settings_of(names, **PRODUCTION) == {"SECURE_SSL_REDIRECT": False, "SESSION_COOKIE_SECURE": False,
                                                "CSRF_COOKIE_SECURE": False, "SECURE_HSTS_SECONDS": 0,
                                                "SECURE_PROXY_SSL_HEADER": None}
    behind_proxy = settings_of(names, **PRODUCTION, HTTPS="1", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert behind_proxy == {"SECURE_SSL_REDIRECT": True, "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True,
                            "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
                            "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}


def test_with_redis_nothing_is_kept_on_a_machines_disk():
    values = settings_of(["CACHES", "DATABASES", "CELERY_BEAT_SCHEDULER"], **PRODUCTION)
    cache = values["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"  # the live run logs: shared
    assert cache["LOCATION"] == PRODUCTION["CELERY_BROKER_URL"]
    database = values["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql" and database["CONN_HEALTH_CHECKS"] is True
    assert values["CELERY_BEAT_SCHEDULER"] == "django_celery_beat.schedulers:DatabaseScheduler"  # not a file


def test_the_procfile_runs_web_worker_and_beat():
    processes = dict(line.split(":", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if line)
    assert processes["web"].split()[:2] == ["gunicorn", "catalog_site.wsgi"]
    assert processes["worker"].split()[:4] == ["celery", "-A", "catalog_site", "worker"]
    assert processes["beat"].split()[:4] == ["celery", "-A", "catalog_site", "beat"]
