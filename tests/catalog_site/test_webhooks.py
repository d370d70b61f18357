"""Events and webhooks: published on commit, delivered signed to a real HTTP receiver, retried, scoped.

The receiver is a real ``http.server`` on 127.0.0.1 (``WEBHOOK_ALLOW_PRIVATE`` is set for it); tasks run
eagerly, and the test transaction's ``on_commit`` callbacks run when ``committed()`` ends, as they would
when a request commits.
"""

import datetime
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import signals
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from catalog_site import events, tasks, webhooks
from catalog_site.models import ObjectChange, Token, Webhook, WebhookDelivery
from dcim.models import Manufacturer
from ipam.models import Namespace
from tenancy.models import Membership, Tenant
from tests.services.generator_fixtures import committed, eager_tasks_fixture  # noqa: F401 - "eager_tasks"
from tests.services.test_tasks_worker import wait_for, worker  # noqa: F401 - the fixture "worker"

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/core/webhooks/"
DELIVERIES = "/api/core/webhook-deliveries/"


class Receiver:
    """An HTTP server in a thread that records each request and answers the codes it is told (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                code = receiver.codes.pop(0) if receiver.codes else 200
                answer = b"ok" if code < 300 else b"boom " * 200
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", receiver.url + "/elsewhere")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def fresh_webhooks():
    """Each test starts from the webhooks of its own database (the copy per process is dropped, before and after)."""
    events.forget()
    yield
    events.forget()


@pytest.fixture
def receiver(settings, eager_tasks):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver()
    yield server
    server.close()


def webhook(receiver, **values) -> Webhook:
    """A webhook to the receiver (without the delivery of its own creation, which it would receive)."""
    values = {"name": "hook", "payload_url": receiver.url, "events": ["object.*"], "secret": "s3cret", **values}
    hook = Webhook.objects.create(**values)
    hook.deliveries.all().delete()
    return hook


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


def member(tenant, role: str, name: str):
    user = get_user_model().objects.create_user(name)
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def due_now(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


# -- delivery --------------------------------------------------------------------------------------------


def test_an_api_write_is_delivered_after_the_commit_and_signed(api, receiver):
    hook = webhook(receiver, events=["object.created"], conditions={"model": "dcim.manufacturer"})
    with committed():
        response = api.post("/api/dcim/manufacturers/", {"name": "Acme Optics", "slug": "acme-optics"}, format="json")
        assert response.status_code == 201, response.content
        assert receiver.requests == []  # not inside the request's transaction
        assert WebhookDelivery.objects.get().status == "pending"
    [received] = receiver.requests
    headers, body = received["headers"], received["body"]
    assert headers["X-Catalog-Event"] == "object.created"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Catalog-Signature-256"] == signature(body, "s3cret")
    assert abs(int(headers["X-Catalog-Timestamp"]) - timezone.now().timestamp()) < 60
    payload = json.loads(body)
    assert payload["event"] == "object.created"
    assert payload["model"] == "dcim.manufacturer"
    assert payload["object_id"] == response.json()["id"]
    assert payload["action"] == "create"
    assert payload["user"] == "admin"
    assert payload["data"]["name"] == "Acme Optics"
    assert payload["changes"]["slug"] == [None, "acme-optics"]
    assert payload["request_id"] == response["X-Request-ID"]
    delivery = WebhookDelivery.objects.get()
    assert headers["X-Catalog-Delivery"] == str(delivery.pk)
    assert (delivery.webhook, delivery.status, delivery.attempts, delivery.response_code) == (hook, "succeeded", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert delivery.response_excerpt == "ok"


def test_without_a_secret_there_is_no_signature(receiver):
    webhook(receiver, secret="")
    with committed():
        Manufacturer.objects.create(name="Unsigned", slug="unsigned")
    [received] = receiver.requests
    assert "X-Catalog-Signature-256" not in received["headers"]


def test_the_secret_and_the_url_never_reach_the_change_log_or_an_event(receiver):
    webhook(receiver, name="watcher", events=["object.*"], conditions={"model": "catalog_site.webhook"})
    with committed():
        Webhook.objects.create(name="other", payload_url=receiver.url + "/token-in-path", events=["run.*"],
                               secret="hidden-value")
    [received] = receiver.requests
    assert json.loads(received["body"])["object_repr"] == "other"
    assert b"hidden-value" not in received["body"] and b"token-in-path" not in received["body"]
    change = ObjectChange.objects.filter(object_type__model="webhook").latest("pk")
    assert change.object_repr == "other"
    assert "hidden-value" not in json.dumps(change.postchange_data)
    assert "token-in-path" not in json.dumps(change.postchange_data)


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_recovers(receiver):
    webhook(receiver)
    receiver.codes = [500, 503, 502]
    with committed():
        Manufacturer.objects.create(name="Flaky", slug="flaky")
    delivery = WebhookDelivery.objects.get()
    delays = []
    for attempt in (1, 2, 3):
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("retrying", attempt)
        assert delivery.response_code in (500, 503, 502)
        assert delivery.error == f"The receiver answered {delivery.response_code}."
        assert len(delivery.response_excerpt) == 500
        delays.append((delivery.next_attempt_at - timezone.now()).total_seconds())
        assert tasks.deliver_due_webhooks() == 0  # not due yet: nothing is sent
        due_now(delivery)
        assert tasks.deliver_due_webhooks() == 1
    assert [round(delay / 30) for delay in delays] == [1, 2, 4]  # 30 s, 60 s, 120 s
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 4, 200)
    assert len(receiver.requests) == 4
    assert {r["headers"]["X-Catalog-Delivery"] for r in receiver.requests} == {str(delivery.pk)}
    # Done: the task and the sweep leave it alone.
    assert tasks.deliver_webhook(delivery.pk) is None
    assert len(receiver.requests) == 4


def test_a_redirect_is_a_failed_attempt_and_not_followed(receiver):
    webhook(receiver)
    receiver.codes = [302]
    with committed():
        Manufacturer.objects.create(name="Moved", slug="moved")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_code) == ("retrying", 302)
    assert [r["path"] for r in receiver.requests] == ["/hook"]


def test_the_delay_is_capped_at_an_hour():
    assert [webhooks.retry_delay(n) for n in (1, 2, 3, 7, 8, 20)] == [30, 60, 120, 1920, 3600, 3600]


def test_a_delivery_gives_up_after_a_day(receiver):
    hook = webhook(receiver)
    receiver.codes = [500] * 10
    with committed():
        Manufacturer.objects.create(name="Down", slug="down")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created=timezone.now() - datetime.timedelta(hours=25), next_attempt_at=timezone.now())
    assert tasks.deliver_due_webhooks() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
    assert tasks.deliver_due_webhooks() == 0
    assert tasks.deliver_webhook(delivery.pk) is None
    assert len(receiver.requests) == 2

    # Sent again by hand: a new delivery, the failed one kept in the log.
    receiver.codes = []
    with committed():
        response = client_for_superuser().post(f"{DELIVERIES}{delivery.pk}/redeliver/")
    assert response.status_code == 202, response.content
    again = WebhookDelivery.objects.get(pk=response.json()["id"])
    assert (again.webhook, again.event, again.payload) == (hook, delivery.event, delivery.payload)
    assert again.status == "succeeded"
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "failed"
    assert client_for_superuser().post(f"{DELIVERIES}{again.pk}/redeliver/").status_code == 409


def client_for_superuser():
    user = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        "root", "root@example.com", "pw")
    return client_for(user)


def test_the_url_is_checked_again_at_delivery(receiver, settings):
    webhook(receiver)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with committed():
        Manufacturer.objects.create(name="Rebound", slug="rebound")
    delivery = WebhookDelivery.objects.get()
    assert receiver.requests == []
    assert delivery.status == "retrying" and delivery.response_code is None
    assert "127.0.0.1 is a loopback address" in delivery.error


def test_a_disabled_webhook_is_not_sent_what_it_had_pending(receiver):
    hook = webhook(receiver)
    receiver.codes = [500]
    with committed():
        Manufacturer.objects.create(name="Paused", slug="paused")
    hook.enabled = False
    hook.save()
    delivery = WebhookDelivery.objects.get()
    due_now(delivery)
    tasks.deliver_due_webhooks()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "disabled" in delivery.error
    assert len(receiver.requests) == 1


def test_nothing_is_delivered_when_the_transaction_rolls_back(receiver):
    webhook(receiver)
    with committed():
        with pytest.raises(RuntimeError), transaction.atomic():
            Manufacturer.objects.create(name="Never", slug="never")
            assert WebhookDelivery.objects.count() == 1
            raise RuntimeError("rolled back")
        Manufacturer.objects.create(name="Kept", slug="kept")
    assert [json.loads(r["body"])["data"]["name"] for r in receiver.requests] == ["Kept"]
    assert WebhookDelivery.objects.count() == 1


def test_conditions_choose_the_events(receiver):
    webhook(receiver, events=["object.created", "object.updated"],
            conditions={"model": "dcim.manufacturer", "data.slug": ["keep-1", "keep-2"]})
    with committed():
        kept = Manufacturer.objects.create(name="Keep 1", slug="keep-1")
        Manufacturer.objects.create(name="Drop", slug="drop")
        Namespace.objects.create(name="keep-1")
        kept.name = "Keep 1 renamed"
        kept.save()
        kept.delete()  # object.deleted: not subscribed
    sent = [(r["headers"]["X-Catalog-Event"], json.loads(r["body"])["data"]["name"]) for r in receiver.requests]
    assert sent == [("object.created", "Keep 1"), ("object.updated", "Keep 1 renamed")]


def test_conditions_match_values_by_their_json_type():
    payload = {"data": {"enabled": True, "count": 1, "tags": ["a", "b"]}}
    assert events.conditions_match({"data.enabled": True}, payload)
    assert not events.conditions_match({"data.enabled": 1}, payload)
    assert not events.conditions_match({"data.count": True}, payload)
    assert events.conditions_match({"data.tags.1": "b", "data.count": [0, 1]}, payload)
    assert not events.conditions_match({"data.missing": None}, payload)


def test_other_events_are_published_to_their_subscribers(receiver):
    webhook(receiver, name="runs", events=["run.*"])
    webhook(receiver, name="approvals", events=["approval.approved"], secret="")
    with committed():
        events.publish("run.failed", {"run_id": 7}, tenant_id=None)
        events.publish("approval.requested", {"service": "DI-1"}, tenant_id=None)
        events.publish("approval.approved", {"service": "DI-1"}, tenant_id=None)
    sent = sorted((r["headers"]["X-Catalog-Event"], json.loads(r["body"])["event"]) for r in receiver.requests)
    assert sent == [("approval.approved", "approval.approved"), ("run.failed", "run.failed")]


# -- the cost of publishing -----------------------------------------------------------------------------


def test_publishing_with_no_webhook_makes_no_query(django_assert_num_queries):
    events.publish("object.created", {"model": "dcim.device"}, tenant_id=None)  # reads the (empty) list once
    with django_assert_num_queries(0):
        for _ in range(100):
            events.publish("object.created", {"model": "dcim.device"}, tenant_id=None)
            events.publish("run.failed", {"run_id": 1}, tenant_id=3)


def test_a_change_to_an_object_costs_no_query_for_events_when_nobody_listens(django_assert_num_queries, receiver):
    webhook(receiver, events=["run.*"])
    manufacturer = Manufacturer.objects.create(name="Quiet", slug="quiet")  # the list is read here, once
    change_queries = []
    with django_assert_num_queries(3) as captured:  # the stored row (for the diff), the update, the change record
        manufacturer.name = "Quiet 2"
        manufacturer.save(update_fields=["name"])
        change_queries = [q["sql"] for q in captured.captured_queries]
    assert not any("webhook" in sql for sql in change_queries)
    assert WebhookDelivery.objects.count() == 0


def test_a_new_webhook_is_seen_at_once(receiver):
    events.publish("object.created", {}, tenant_id=None)  # the empty list, kept
    webhook(receiver, events=["run.failed"])
    with committed():
        events.publish("run.failed", {"run_id": 1}, tenant_id=None)
    assert len(receiver.requests) == 1


# -- the API -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/hook", "Only http and https"),
    ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
    ("http://[::1]/hook", "::1 is a loopback address"),
    ("http://0.0.0.0/hook", "0.0.0.0 is a "),
    ("http://localhost/hook", "loopback address"),
    ("http://user:pw@93.184.216.34/hook", "user name or a password"),
    ("not a url", "Only http and https"),
])
def test_a_url_the_catalog_does_not_send_to_is_refused(api, settings, url, reason):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = api.post(WEBHOOKS, {"name": "bad", "payload_url": url, "events": ["*"]}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["payload_url"]
    assert reason in " ".join(response.json()["payload_url"]), response.json()
    assert not Webhook.objects.exists()


def test_a_public_url_is_accepted_and_the_secret_is_write_only(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = api.post(WEBHOOKS, {"name": "itsm", "payload_url": "https://93.184.216.34/hook",
                                   "events": ["object.*", "run.failed"], "conditions": {"model": ["services.service"]},
                                   "secret": "topsecret"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "secret" not in body and body["secret_set"] is True
    assert body["payload_url"] == "https://93.184.216.34/hook" and body["tenant"] is None
    assert body["url"].endswith(f"{WEBHOOKS}{body['id']}/")
    assert "topsecret" not in response.content.decode()
    detail = f"{WEBHOOKS}{body['id']}/"
    read = api.get(detail).json()
    assert "secret" not in read
    # A body read and sent back keeps the secret; an empty one removes it.
    sent_back = {name: value for name, value in read.items() if name not in ("id", "display")}
    assert api.put(detail, sent_back, format="json").status_code == 200
    assert Webhook.objects.get().secret == "topsecret"
    assert api.patch(detail, {"secret": ""}, format="json").json()["secret_set"] is False


def test_events_and_conditions_are_checked(api, receiver):
    response = api.post(WEBHOOKS, {"name": "bad", "payload_url": receiver.url, "events": ["object.exploded", "nope.*"],
                                   "conditions": {"data..x": 1, "model": {"nested": True}}}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"events", "conditions"}
    assert "'object.exploded' is not an event" in errors["events"][0]
    assert "'nope.*' is not an event" in errors["events"][1]
    assert len(errors["conditions"]) == 2
    assert api.post(WEBHOOKS, {"name": "empty", "payload_url": receiver.url, "events": []}, format="json").json() == {
        "events": ['Expected a non-empty list of event names: ["object.created", "run.*"], or ["*"] for all.']}


def test_deliveries_are_listed_and_filtered(api, receiver):
    first = webhook(receiver, name="first", events=["run.*"])
    webhook(receiver, name="second", events=["approval.*"])
    receiver.codes = [500]
    with committed():
        events.publish("run.failed", {"run_id": 1}, tenant_id=None)
        events.publish("run.succeeded", {"run_id": 2}, tenant_id=None)
        events.publish("approval.requested", {"service": "x"}, tenant_id=None)
    assert api.get(DELIVERIES).json()["count"] == 3
    by_webhook = api.get(DELIVERIES, {"webhook_id": first.pk}).json()
    assert {row["event"] for row in by_webhook["results"]} == {"run.failed", "run.succeeded"}
    nested = by_webhook["results"][0]["webhook"]
    assert (nested["id"], nested["display"], nested["name"]) == (first.pk, "first", "first")
    assert nested["url"].endswith(f"{WEBHOOKS}{first.pk}/")
    retrying = api.get(DELIVERIES, {"status": "retrying"}).json()["results"]
    assert [(row["event"], row["response_code"], row["attempts"]) for row in retrying] == [("run.failed", 500, 1)]
    assert api.get(DELIVERIES, {"event": "approval.requested"}).json()["count"] == 1
    assert api.get(DELIVERIES, {"status": "exploded"}).status_code == 400
    assert api.post(DELIVERIES, {"webhook": first.pk}, format="json").status_code == 405
    assert api.delete(f"{DELIVERIES}{retrying[0]['id']}/").status_code == 405
    assert api.post(f"{DELIVERIES}{retrying[0]['id']}/redeliver/").status_code == 409  # not failed (yet)


# -- tenants --------------------------------------------------------------------------------------------------


@pytest.fixture
def tenants(db):
    alpha = Tenant.objects.create(name="Alpha", slug="alpha")
    alpha_child = Tenant.objects.create(name="Alpha child", slug="alpha-child", parent=alpha)
    bravo = Tenant.objects.create(name="Bravo", slug="bravo")
    return alpha, alpha_child, bravo


def test_a_tenant_webhook_receives_only_its_subtree(receiver, tenants):
    alpha, alpha_child, bravo = tenants
    webhook(receiver, tenant=alpha, events=["object.created"])
    with committed():
        Namespace.objects.create(name="alpha-vrf", tenant=alpha_child)
        Namespace.objects.create(name="bravo-vrf", tenant=bravo)
        Manufacturer.objects.create(name="Shared", slug="shared")  # shared infrastructure: no tenant
        events.publish("run.failed", {}, tenant_id=bravo.pk)
    assert [json.loads(r["body"])["object_repr"] for r in receiver.requests] == ["alpha-vrf"]


def test_a_global_webhook_receives_every_tenant(receiver, tenants):
    alpha, _, bravo = tenants
    webhook(receiver, events=["object.created"], conditions={"model": "ipam.namespace"})
    with committed():
        Namespace.objects.create(name="alpha-vrf", tenant=alpha)
        Namespace.objects.create(name="bravo-vrf", tenant=bravo)
    assert len(receiver.requests) == 2


def test_another_tenant_cannot_see_or_change_a_tenant_webhook(receiver, tenants):
    alpha, _, bravo = tenants
    hook = webhook(receiver, tenant=alpha, name="alpha-hook", conditions={"model": "x"})
    global_hook = webhook(receiver, name="global-hook", conditions={"model": "x"})
    with committed():
        events.publish("object.created", {"model": "x"}, tenant_id=alpha.pk)
    alpha_delivery = WebhookDelivery.objects.get(webhook=hook)
    global_delivery = WebhookDelivery.objects.get(webhook=global_hook)

    bravo_admin = client_for(member(bravo, "admin", "bravo-admin"))
    assert bravo_admin.get(WEBHOOKS).json()["count"] == 0
    assert bravo_admin.get(f"{WEBHOOKS}{hook.pk}/").status_code == 404
    assert bravo_admin.patch(f"{WEBHOOKS}{hook.pk}/", {"enabled": False}, format="json").status_code == 404
    assert bravo_admin.delete(f"{WEBHOOKS}{hook.pk}/").status_code == 404
    assert bravo_admin.get(DELIVERIES).json()["count"] == 0
    assert bravo_admin.get(f"{DELIVERIES}{alpha_delivery.pk}/").status_code == 404
    created = bravo_admin.post(WEBHOOKS, {"name": "sneaky", "payload_url": receiver.url, "events": ["*"],
                                          "tenant": alpha.pk},
                               format="json")
    assert created.status_code == 400 and "tenant" in created.json()

    # Alpha's members see their webhook (never the global one); only its admins change it.
    alpha_viewer = client_for(member(alpha, "editor", "alpha-editor"))
    listed = alpha_viewer.get(WEBHOOKS).json()
    assert [row["name"] for row in listed["results"]] == ["alpha-hook"]
    assert [row["id"] for row in alpha_viewer.get(DELIVERIES).json()["results"]] == [alpha_delivery.pk]
    assert alpha_viewer.get(f"{DELIVERIES}{global_delivery.pk}/").status_code == 404
    assert alpha_viewer.patch(f"{WEBHOOKS}{hook.pk}/", {"enabled": False}, format="json").status_code == 403
    alpha_admin = client_for(member(alpha, "admin", "alpha-admin"))
    assert alpha_admin.patch(f"{WEBHOOKS}{hook.pk}/", {"enabled": False}, format="json").status_code == 200
    assert alpha_admin.get(f"{WEBHOOKS}{global_hook.pk}/").status_code == 404
    refused = alpha_admin.post(WEBHOOKS, {"name": "everything", "payload_url": receiver.url, "events": ["*"]},
                              format="json")
    assert refused.status_code == 400
    assert refused.json() == {"tenant": ["Only a superuser may make a global webhook (one without a tenant): "
                                         "choose a tenant."]}
    made = alpha_admin.post(WEBHOOKS, {"name": "alpha-2", "payload_url": receiver.url, "events": ["*"],
                                       "tenant": alpha.pk},
                            format="json")
    assert made.status_code == 201, made.content


def test_the_admin_shows_webhooks_without_their_secret(admin_client, receiver, tenants, as_user):
    alpha, _, bravo = tenants
    hook = webhook(receiver, tenant=alpha, name="alpha-hook", secret="admin-hidden")
    webhook(receiver, tenant=bravo, name="bravo-hook")
    with committed():
        events.publish("object.created", {"model": "x"}, tenant_id=alpha.pk)
    page = admin_client.get(reverse("admin:catalog_site_webhook_change", args=[hook.pk]))
    assert page.status_code == 200
    assert "admin-hidden" not in page.content.decode()
    assert "object.created" in page.content.decode()  # the latest deliveries
    assert admin_client.get(reverse("admin:catalog_site_webhookdelivery_changelist")).status_code == 200

    global_hook = webhook(receiver, name="global-hook", conditions={"model": "x"})
    with committed():
        events.publish("object.created", {"model": "x"}, tenant_id=bravo.pk)
    staff = member(alpha, "admin", "alpha-staff")
    staff.is_staff = True
    staff.save()
    client = as_user(staff)
    listed = client.get(reverse("admin:catalog_site_webhook_changelist")).content.decode()
    assert "alpha-hook" in listed and "bravo-hook" not in listed and "global-hook" not in listed
    deliveries = client.get(reverse("admin:catalog_site_webhookdelivery_changelist"))
    assert {d.webhook.name for d in deliveries.context["cl"].result_list} == {"alpha-hook"}
    assert "global-hook" not in deliveries.content.decode()  # not even among the filter's choices
    assert client.get(reverse("admin:catalog_site_webhook_change", args=[global_hook.pk])).status_code == 302
    # The secret stays when the form leaves it empty.
    form = {"name": "alpha-hook", "payload_url": receiver.url, "events": '["object.*"]', "conditions": "{}",
            "secret": "", "enabled": "on", "tenant": alpha.pk}
    response = client.post(reverse("admin:catalog_site_webhook_change", args=[hook.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Webhook.objects.get(pk=hook.pk).secret == "admin-hidden"
    refused = client.post(reverse("admin:catalog_site_webhook_add"), {**form, "name": "global", "tenant": ""})
    assert refused.status_code == 200
    assert "Only a superuser may make a global webhook" in refused.content.decode()


def test_answers_match_the_documented_schema(api, receiver):
    from drf_spectacular.generators import SchemaGenerator

    from tests.catalog_site.test_schema import assert_matches

    schema = SchemaGenerator().get_schema(request=None, public=True)
    hook = webhook(receiver, events=["run.*"], conditions={"run_id": [1, 2]}, tenant=None)
    receiver.codes = [500]
    with committed():
        events.publish("run.failed", {"run_id": 1}, tenant_id=None)
    paths = schema["paths"]
    assert_matches(schema, paths[WEBHOOKS]["get"], "200", api.get(WEBHOOKS).json())
    assert_matches(schema, paths[WEBHOOKS + "{id}/"]["get"], "200", api.get(f"{WEBHOOKS}{hook.pk}/").json())
    assert_matches(schema, paths[DELIVERIES]["get"], "200", api.get(DELIVERIES).json())
    assert_matches(schema, paths[WEBHOOKS]["get"], "200", api.get(WEBHOOKS, {"brief": 1}).json())
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    redelivered = api.post(f"{DELIVERIES}{delivery.pk}/redeliver/")
    assert_matches(schema, paths[DELIVERIES + "{id}/redeliver/"]["post"], "202", redelivered.json())
    webhook_schema = schema["components"]["schemas"]["Webhook"]
    assert "secret" not in webhook_schema["properties"]
    assert schema["components"]["schemas"]["WebhookRequest"]["properties"]["secret"]["writeOnly"] is True


def test_a_delivery_being_sent_is_not_sent_twice_and_a_lost_one_is_sent_by_the_sweep(receiver):
    webhook(receiver)
    Manufacturer.objects.create(name="Lost", slug="lost")  # never committed here: its task is "lost"
    delivery = WebhookDelivery.objects.get()
    assert tasks.deliver_due_webhooks() == 0  # a pending delivery gets its own task's chance first
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - webhooks.PENDING_GRACE - datetime.timedelta(seconds=1))
    claimed = webhooks.claim(delivery.pk, early=datetime.timedelta(0))  # a worker is sending it now
    assert claimed.attempts == 1
    assert tasks.deliver_webhook(delivery.pk) is None
    assert tasks.deliver_due_webhooks() == 0
    assert receiver.requests == []
    # That worker died: once its claim runs out, the sweep sends the delivery.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - webhooks.PENDING_GRACE - datetime.timedelta(seconds=1))
    assert tasks.deliver_due_webhooks() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("succeeded", 2, 1)


def test_the_sweep_is_scheduled_every_minute():
    from django_celery_beat.models import PeriodicTask

    sweep = PeriodicTask.objects.get(task="catalog_site.deliver_due_webhooks")
    assert (sweep.enabled, sweep.interval.every, sweep.interval.period) == (True, 60, "seconds")


def test_deleting_a_tenant_deletes_its_webhook_and_what_it_was_about_to_receive(receiver, tenants):
    alpha, alpha_child, _ = tenants
    hook = webhook(receiver, tenant=alpha_child, events=["object.deleted"])
    for n in range(5):  # deleted with the tenant, each publishing object.deleted in the tenant
        member(alpha_child, "viewer", f"viewer-{n}")
    with committed():
        alpha_child.delete()
    connection.check_constraints()  # as the commit would: no delivery left pointing at the deleted webhook
    assert not Webhook.objects.filter(pk=hook.pk).exists()
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_a_delivery_made_while_its_webhook_is_being_deleted_goes_with_it(receiver, tenants):
    alpha, _, _ = tenants
    hook = webhook(receiver, tenant=alpha, events=["run.failed"])

    def publish_meanwhile(sender, instance, **kwargs):  # after the cascade collected the webhook's deliveries
        events.publish("run.failed", {"run_id": 1}, tenant_id=alpha.pk)

    signals.pre_delete.connect(publish_meanwhile, sender=Webhook, weak=False)
    try:
        with committed():
            hook.delete()
    finally:
        signals.pre_delete.disconnect(publish_meanwhile, sender=Webhook)
    connection.check_constraints()
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


# -- through a real Celery worker ------------------------------------------------------------------------------


@pytest.fixture
def private_allowed(monkeypatch, settings):
    """Local receivers allowed, here and in the worker the test starts (it reads the environment)."""
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def worker_receiver(private_allowed, worker):  # noqa: F811 - the fixture
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def short_first_retry(monkeypatch):
    """The worker's first retry after 3 s, not 30 (the worker reads its settings from the environment)."""
    monkeypatch.setenv("WEBHOOK_FIRST_RETRY", "3")
    return 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_and_retries_with_a_countdown(short_first_retry, worker_receiver, worker):  # noqa: F811
    """On a broker, the first attempt goes to a worker on commit, and the retry comes back after its countdown."""
    hook = Webhook.objects.create(name="worker-hook", payload_url=worker_receiver.url, events=["run.failed"],
                                  secret="k")
    worker_receiver.codes = [500]
    with transaction.atomic():
        events.publish("run.failed", {"run_id": 42}, tenant_id=None)
        delivery = WebhookDelivery.objects.get(webhook=hook)
    started = time.monotonic()

    def succeeded():
        delivery.refresh_from_db()
        return delivery.status == "succeeded"

    wait_for(succeeded, 90, worker.read_text)
    assert delivery.attempts == 2 and len(worker_receiver.requests) == 2
    assert time.monotonic() - started >= short_first_retry - 1  # the countdown, not at once
    for request in worker_receiver.requests:
        assert request["headers"]["X-Catalog-Signature-256"] == signature(request["body"], "k")


def test_the_admin_action_sends_failed_deliveries_again(admin_client, receiver):
    webhook(receiver, events=["run.failed"])
    with committed():
        events.publish("run.failed", {"run_id": 5}, tenant_id=None)
    sent = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=sent.pk).update(status="failed")
    changelist = reverse("admin:catalog_site_webhookdelivery_changelist")
    with committed():
        response = admin_client.post(changelist, {"action": "redeliver_selected", "_selected_action": [sent.pk]})
    assert response.status_code == 302
    again = WebhookDelivery.objects.exclude(pk=sent.pk).get()
    assert (again.status, again.payload) == ("succeeded", sent.payload)
    assert len(receiver.requests) == 2
    page = admin_client.get(reverse("admin:catalog_site_webhookdelivery_change", args=[again.pk])).content.decode()
    assert "succeeded" in page.lower() and "run.failed" in page
