"""Webhooks: which URLs may receive events, and the delivery of one event to one webhook.

A webhook's URL is checked when it is written (a 400 naming ``payload_url`` with the reason) and again on
every attempt, at the moment the connection is made (a host's addresses may change): only ``http``
and ``https``, and never a host with a loopback, link-local, private, multicast, reserved or
unspecified address (an event must not reach the catalog's own network: the metadata service at
169.254.169.254, a database on localhost), unless ``WEBHOOK_ALLOW_PRIVATE`` (tests, a lab).

A delivery is a POST of the payload as JSON, with ``X-Catalog-Event``, ``X-Catalog-Delivery`` (its id),
``X-Catalog-Timestamp`` and, when the webhook has a secret, ``X-Catalog-Signature-256:
sha256=<HMAC-SHA256 of the body with the secret, in hex>``. A 2xx answer is a success. Anything else
(another status, a redirect, a timeout, a refused URL) is a failed attempt, tried again after
``30 s * 2**(attempts - 1)`` (at most an hour) while the delivery is younger than
``WEBHOOK_RETRY_FOR`` (a day); then it has failed for good.

Each attempt is claimed in a short transaction (the row locked, ``SKIP LOCKED``, its attempt counted and
marked in flight), then sent with no transaction open, then recorded: two workers never send the same
attempt, and no database lock waits on a receiver. Retries are sent by Celery with a countdown; with
Celery eager (no broker) there is no later, so the delivery only records when it is due and the periodic
sweep (``deliver_due_webhooks``, every minute) sends it. The sweep also sends a first attempt whose task
was lost (a broker outage), and one whose worker died while sending.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

SCHEMES = ("http", "https")
TIMEOUT = 10  # seconds for the connection and for each read of the answer
LONGEST_RETRY = 3600
EXCERPT = 500  # characters of the answer kept
PENDING_GRACE = datetime.timedelta(seconds=30)  # a first attempt the sweep sends: its task is surely lost
IN_FLIGHT = datetime.timedelta(seconds=120)  # a delivery being sent is not due again before (a dead worker's is)
SWEEP_BATCH = 100
USER_AGENT = "catalog-webhooks/1"


class UrlRefused(ValueError):
    """A webhook URL the catalog does not send to; the message says why."""


# -- URL checks ----------------------------------------------------------------------------------------------

def address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes ``address`` unfit for a webhook (``loopback``, ``private``...); None if it is public."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for kind in ("loopback", "link-local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            return kind
    return None if address.is_global else "non-public"


def checked_addresses(host: str, port: int) -> list[tuple]:
    """``getaddrinfo`` of ``host``, every address checked; ``UrlRefused`` if one is not public (or none).

    Every address is checked, not only the one a connection would use: a name that resolves to a
    public and a private address would otherwise reach the private one some of the time.
    """
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UrlRefused(f"The host {host} does not resolve ({reason}).") from exc
    if not found:
        raise UrlRefused(f"The host {host} does not resolve.")
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for *_, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            kind = address_kind(address)
            if kind:
                named = host if host == str(address) else f"{host} ({address})"
                raise UrlRefused(f"{named} is a {kind} address: webhooks are sent only to public addresses "
                                 "(WEBHOOK_ALLOW_PRIVATE=1 allows the others).")
    return found


def split_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a webhook URL; ``UrlRefused`` if it is not one the catalog sends to."""
    if not isinstance(url, str) or not url:
        raise UrlRefused("Expected an http:// or https:// URL.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"Not a URL ({exc}).") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlRefused(f"Only http and https URLs receive webhooks; this one is {scheme or 'without a scheme'}.")
    if not parts.hostname:
        raise UrlRefused("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("A URL with a user name or a password is not accepted: the receiver checks the "
                         "signature made with the webhook's secret instead.")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def check_url(url: str) -> None:
    """``UrlRefused`` (its message says why) unless ``url`` may receive webhooks now."""
    _, host, port = split_url(url)
    checked_addresses(host, port)


def url_problem(url: str) -> str | None:
    """Why ``url`` may not receive webhooks, or None."""
    try:
        check_url(url)
    except UrlRefused as exc:
        return str(exc)
    return None


# -- sending ---------------------------------------------------------------------------------------------------

def _checked_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
    """``socket.create_connection`` to an address checked as the connection is made (no second lookup that
    could answer otherwise: DNS rebinding)."""
    host, port = address
    error = None
    for family, kind, proto, _, sockaddr in checked_addresses(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"No address of {host} could be reached.")


class CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _checked_connection


class CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(CheckedHTTPConnection, req)


class CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(CheckedHTTPSConnection, req, context=self._context)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other that is not 2xx: followed, it could lead anywhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _opener():
    # No proxy from the environment: the checked address is the one connected to.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect, CheckedHTTPHandler,
                                       CheckedHTTPSHandler)


def sign(body: bytes, secret: str) -> str:
    """The value of ``X-Catalog-Signature-256`` for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def post(url: str, *, body: bytes, headers: dict) -> tuple[int, str]:
    """POST ``body`` to ``url``; ``(status, the answer's first characters)``. Raises on a network error."""
    split_url(url)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _opener().open(request, timeout=TIMEOUT) as response:
            return response.status, _excerpt(response.read(EXCERPT * 4))
    except urllib.error.HTTPError as exc:
        try:
            text = _excerpt(exc.read(EXCERPT * 4)) if exc.fp is not None else ""
        finally:
            exc.close()
        return exc.code, text


def _excerpt(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")[:EXCERPT]


def _error_text(exc: Exception) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, Exception) else exc
    if isinstance(exc, UrlRefused):
        return f"Not sent: {exc}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:1000]


def retry_delay(attempts: int) -> int:
    """Seconds before the attempt after ``attempts`` failed ones: 30 s, 60 s, 120 s... at most an hour
    (``WEBHOOK_FIRST_RETRY``, 30 s, doubled at each failed attempt)."""
    return min(settings.WEBHOOK_FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def send(delivery) -> tuple[int | None, str, str]:
    """POST ``delivery`` to its webhook once: ``(status code or None, the answer's first characters, error)``."""
    webhook = delivery.webhook
    if not webhook.enabled:
        return None, "", "Not sent: the webhook is disabled."
    body = encode(delivery.payload)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Catalog-Event": delivery.event, "X-Catalog-Delivery": str(delivery.pk),
               "X-Catalog-Timestamp": str(int(time.time()))}
    if webhook.secret:
        headers["X-Catalog-Signature-256"] = sign(body, webhook.secret)
    try:
        code, excerpt = post(webhook.payload_url, body=body, headers=headers)
    except Exception as exc:  # noqa: BLE001 - any failure to get an answer is a failed attempt
        error = _error_text(exc)
        logger.info("Webhook delivery %s to %s failed: %s", delivery.pk, webhook.name, error)
        return None, "", error
    return code, excerpt, "" if 200 <= code < 300 else f"The receiver answered {code}."


def outcome(delivery, code: int | None, excerpt: str, error: str) -> dict:
    """The fields of ``delivery`` after an attempt that got ``code`` (None: no answer): succeeded, retrying, or
    failed for good (older than ``WEBHOOK_RETRY_FOR``, or its webhook disabled)."""
    from .models import WebhookDelivery

    now = timezone.now()
    fields = {"response_code": code, "response_excerpt": excerpt, "error": error}
    if code is not None and 200 <= code < 300:
        return {**fields, "status": WebhookDelivery.Status.SUCCEEDED, "delivered_at": now, "next_attempt_at": None}
    retry_for = datetime.timedelta(seconds=settings.WEBHOOK_RETRY_FOR)
    if not delivery.webhook.enabled or now - delivery.created >= retry_for:
        return {**fields, "status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    return {**fields, "status": WebhookDelivery.Status.RETRYING,
            "next_attempt_at": now + datetime.timedelta(seconds=retry_delay(delivery.attempts))}


def claim(delivery_id: int, *, early: datetime.timedelta):
    """Delivery ``delivery_id`` if an attempt of it is due, that attempt counted and the row marked as being
    sent (not due again before ``IN_FLIGHT``); None if it is done, not due, or claimed by another worker now.

    A short transaction: no lock is held while the receiver answers (SQLite takes the database's write
    lock for every transaction). A worker that dies while sending leaves the delivery due again later.
    """
    from .models import WebhookDelivery

    now = timezone.now()
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("webhook").filter(pk=delivery_id, status__in=WebhookDelivery.OPEN).first())
        if delivery is None:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + early:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + IN_FLIGHT
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def deliver(delivery_id: int, *, early: datetime.timedelta = datetime.timedelta(seconds=5),
            queue: str | None = None) -> str | None:
    """Make the next attempt of delivery ``delivery_id`` if it is due; its status after, None if nothing was done.

    Idempotent: a delivery that succeeded or failed for good, is not due yet (``early`` forgives a
    countdown that ends a little before), or is being sent by another worker, is left alone (``claim``).
    A retry is sent to Celery with a countdown (to ``queue``, the one the task came from, if given), except
    with Celery eager: the sweep sends it when due.
    """
    from .models import WebhookDelivery

    delivery = claim(delivery_id, early=early)
    if delivery is None:
        return None
    fields = outcome(delivery, *send(delivery))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)  # nothing if it went with its webhook
    status = fields["status"]
    if status == WebhookDelivery.Status.RETRYING and not celery_is_eager():
        _send_task(delivery.pk, countdown=max((fields["next_attempt_at"] - timezone.now()).total_seconds(), 0),
                   queue=queue)
    return status


def deliver_due(*, limit: int = SWEEP_BATCH) -> int:
    """Send the deliveries that are due (retries, and first attempts whose task was lost); how many were sent.

    With Celery eager each is sent here, one after the other; otherwise each goes to a worker.
    """
    from django.db.models import Q

    from .models import WebhookDelivery

    now = timezone.now()
    due = (WebhookDelivery.objects
           .filter(Q(status=WebhookDelivery.Status.RETRYING, next_attempt_at__lte=now)
                   | Q(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now - PENDING_GRACE))
           .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    ids = list(due)
    if celery_is_eager():
        for pk in ids:
            deliver(pk)
    else:
        for pk in ids:
            _send_task(pk)
    return len(ids)


def celery_is_eager() -> bool:
    from .celery import app

    return bool(app.conf.task_always_eager)


def _send_task(delivery_id: int, countdown: float | None = None, queue: str | None = None) -> bool:
    """Give delivery ``delivery_id`` to Celery; False (logged) if the broker refused: the sweep sends it later."""
    from .tasks import deliver_webhook

    try:
        deliver_webhook.apply_async(args=[delivery_id], countdown=countdown, **({"queue": queue} if queue else {}))
    except Exception as exc:  # noqa: BLE001 - kombu's OperationalError, a socket error: all mean "not sent"
        logger.error("Webhook delivery %s was not sent to Celery (%s); the sweep will send it.", delivery_id, exc)
        return False
    return True


def send_on_commit(delivery_ids: list[int]) -> None:
    """Send the deliveries when the current transaction commits (nothing if it rolls back)."""
    ids = list(delivery_ids)

    def send_webhook_deliveries():
        for pk in ids:
            _send_task(pk)

    transaction.on_commit(send_webhook_deliveries, robust=True)


def redeliver(delivery):
    """A new delivery of ``delivery``'s event and payload to its webhook, sent on commit."""
    from .models import WebhookDelivery

    copy = WebhookDelivery.objects.create(webhook=delivery.webhook, event=delivery.event, payload=delivery.payload)
    send_on_commit([copy.pk])
    return copy


def purge_deliveries(*, days: int | None = None) -> int:
    """Delete the finished deliveries (succeeded, failed) older than the change log's retention; how many went."""
    from . import changelog
    from .models import WebhookDelivery

    cutoff = changelog.retention_cutoff(days)
    if cutoff is None:
        return 0
    return changelog.delete_in_batches(WebhookDelivery.objects.filter(created__lt=cutoff)
                                       .exclude(status__in=WebhookDelivery.OPEN))
