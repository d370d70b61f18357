"""The service rules through the API: modifiers, optimistic versions, lifecycle transitions, deletion."""

import itertools
import threading

import pytest
from django.db import connection

from services import services
from services.lifecycle import DEFAULT, Status
from services.models import LifecycleEvent, Service

from .factories import dedicated_internet, make_service, make_site, make_tenant, order_service, served

pytestmark = pytest.mark.django_db

R_MESSAGE = "Set by the system (the service's generator); it cannot be written."
RW_MESSAGE = "Set when the service is ordered; it cannot be changed afterwards."


def url(service, action=""):
    return f"/api/services/services/{service.pk}/{action + '/' if action else ''}"


def patch(api, service, version=None, **body):
    return api.patch(url(service), {"version": service.version if version is None else version, **body},
                     format="json")


def rw_plus_message(status):
    return f"Can be changed later, but only while the service is draft, active, failed; it is {status}."


class TestModifiers:
    def test_r_attribute_cannot_be_set_when_ordering(self, api):
        tenant, site = served()
        payload = {"service_identifier": "DI-R1", "service_type": "dedicated-internet", "tenant": tenant.pk,
                   "location": site.pk,
                   "attributes": {"bandwidth": 100, "ip_package": "small", "documentation": "# mine"}}
        response = api.post("/api/services/services/", payload, format="json")
        assert response.status_code == 400
        assert response.data == {"attributes": {"documentation": [R_MESSAGE]}}
        assert not Service.objects.filter(service_identifier="DI-R1").exists()

    @pytest.mark.parametrize("status", ["draft", "active"])
    def test_r_attribute_cannot_be_changed(self, api, status):
        service = make_service(status)
        response = patch(api, service, attributes={"documentation": "# mine"})
        assert response.status_code == 400
        assert response.data == {"attributes": {"documentation": [R_MESSAGE]}}
        service.refresh_from_db()
        assert "documentation" not in service.attributes and service.version == 1

    def test_generator_writes_r_attributes_and_users_may_send_them_back(self, api):
        service = make_service("active")
        service = services.service_set_generated_attributes(service=service, attributes={"documentation": "# Doc"})
        assert service.version == 2
        response = patch(api, service, attributes={"documentation": "# Doc", "bandwidth": 1000})
        assert response.status_code == 200, response.data
        assert response.data["version"] == 2  # nothing changed: no new version
        with pytest.raises(services.ServiceValidationError):
            services.service_set_generated_attributes(service=service, attributes={"bandwidth": 100})

    @pytest.mark.parametrize("status", ["draft", "active", "failed"])
    def test_rw_attribute_is_frozen_after_ordering(self, api, status):
        service = make_service(status, port_type="1000BASE-T")
        for attributes in ({"ip_package": "large"}, {"port_type": "10GBASE-LR"}, {"port_type": None}):
            response = patch(api, service, attributes=attributes)
            assert response.status_code == 400, response.data
            assert response.data == {"attributes": {name: [RW_MESSAGE] for name in attributes}}
        service.refresh_from_db()
        assert service.attributes["ip_package"] == "small" and service.attributes["port_type"] == "1000BASE-T"
        assert service.version == 1

    def test_rw_attribute_sent_back_unchanged_is_accepted(self, api):
        service = make_service("active")
        response = patch(api, service, attributes={"ip_package": "small"}, description="note")
        assert response.status_code == 200, response.data
        assert response.data["status"] == "active" and response.data["version"] == 2

    def test_rw_plus_change_in_draft_stays_draft(self, api):
        service = make_service("draft")
        response = patch(api, service, attributes={"bandwidth": 10000})
        assert response.status_code == 200, response.data
        assert (response.data["status"], response.data["version"]) == ("draft", 2)
        assert response.data["attributes"]["bandwidth"] == 10000

    @pytest.mark.parametrize("status", ["active", "failed"])
    def test_rw_plus_change_sends_the_service_back_through_delivery(self, api, status):
        service = make_service(status)
        response = patch(api, service, attributes={"bandwidth": 100, "monitoring_profile": "premium"})
        assert response.status_code == 200, response.data
        service.refresh_from_db()
        assert (service.status, service.version) == ("in-delivery", 2)
        assert service.attributes["bandwidth"] == 100 and service.attributes["monitoring_profile"] == "premium"
        event = service.events.first()
        assert (event.from_status, event.to_status, event.version) == (status, "in-delivery", 2)
        assert event.message == "Updated bandwidth, monitoring_profile"

    @pytest.mark.parametrize("status", ["in-delivery", "in-decommissioning", "decommissioned"])
    def test_rw_plus_refused_outside_update_states(self, api, status):
        service = make_service(status)
        response = patch(api, service, attributes={"bandwidth": 100})
        assert response.status_code == 400
        assert response.data == {"attributes": {"bandwidth": [rw_plus_message(status)]}}
        service.refresh_from_db()
        assert service.attributes["bandwidth"] == 1000 and service.status == status

    def test_required_rw_plus_cannot_be_cleared(self, api):
        service = make_service("active")
        response = patch(api, service, attributes={"bandwidth": None})
        assert response.status_code == 400
        assert response.data == {"attributes": {"bandwidth": ["This attribute is required."]}}

    def test_identity_fields_change_only_in_draft(self, api):
        draft, active = make_service("draft"), make_service("active")
        site = served(tenant=draft.tenant)[1]
        assert patch(api, draft, location=site.pk, service_identifier="DI-NEW").status_code == 200
        draft.refresh_from_db()
        assert (draft.location, draft.service_identifier) == (site, "DI-NEW")
        response = patch(api, active, location=site.pk, tenant=make_tenant().pk)
        assert response.status_code == 400
        message = "Can change only while the service is draft; it is active."
        assert response.data == {"location": [message], "tenant": [message]}
        other_type = services.service_type_save(definition={"slug": "other", "name": "Other"})[0]
        response = patch(api, draft, service_type=other_type.pk, version=2)
        assert response.data == {"service_type": ["The service type of a service cannot change; order a new service."]}

    def test_status_changes_only_through_transitions(self, api):
        service = make_service("draft")
        response = patch(api, service, status="active")
        assert response.status_code == 400
        assert "transition" in response.data["status"][0]
        assert patch(api, service, status="draft", description="same status is fine").status_code == 200


class TestVersions:
    def test_update_without_version_is_a_400(self, api):
        service = make_service()
        response = api.patch(url(service), {"description": "x"}, format="json")
        assert response.status_code == 400
        assert "version" in response.data

    def test_stale_version_is_a_409_and_changes_nothing(self, api):
        service = make_service("active")
        assert patch(api, service, attributes={"bandwidth": 100}).status_code == 200  # version 1 -> 2
        response = patch(api, service, version=1, attributes={"bandwidth": 10000})
        assert response.status_code == 409
        assert response.data["version"] == 2
        assert "is at version 2, not 1" in response.data["detail"]
        service.refresh_from_db()
        assert (service.attributes["bandwidth"], service.version) == (100, 2)

    def test_stale_version_on_transition_is_a_409(self, api):
        service = make_service("draft")
        response = api.post(url(service, "transition"), {"to": "in-delivery", "version": 7}, format="json")
        assert response.status_code == 409
        service.refresh_from_db()
        assert (service.status, service.version) == ("draft", 1)

    @pytest.mark.postgres
    @pytest.mark.django_db(transaction=True)
    def test_concurrent_writers_with_the_same_version_one_wins(self, monkeypatch):
        if connection.vendor != "postgresql":
            pytest.skip("row locks are only meaningful on PostgreSQL")
        # The winner's update sends the service back to delivery; the run it queues is not the subject here.
        monkeypatch.setattr(services, "on_enter_working_state", lambda **kwargs: None)
        service = make_service("active")
        barrier, outcomes = threading.Barrier(2), []

        def write(bandwidth):
            try:
                barrier.wait()
                services.service_update(service=service, version=1, attributes={"bandwidth": bandwidth})
                outcomes.append("ok")
            except services.VersionConflict:
                outcomes.append("conflict")
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(b,)) for b in (100, 10000)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["conflict", "ok"]
        assert Service.objects.get(pk=service.pk).version == 2


ALL_PAIRS = [(a, b) for a, b in itertools.product(Status.values, Status.values) if a != b]


class TestTransitions:
    @pytest.mark.parametrize(("start", "to"), ALL_PAIRS)
    def test_every_transition_rule(self, api, start, to):
        service = make_service(start)
        response = api.post(url(service, "transition"), {"to": to, "version": 1}, format="json")
        service.refresh_from_db()
        legal = list(DEFAULT.targets(start))
        if to in legal:
            assert response.status_code == 200, response.data
            assert (response.data["status"], response.data["version"]) == (to, 2)
            assert (service.status, service.version) == (to, 2)
            event = service.events.first()
            assert (event.from_status, event.to_status, event.user.username) == (start, to, "admin")
        else:
            assert response.status_code == 400
            targets = ", ".join(legal) or "none"
            assert response.data["to"] == [f"A service cannot go from {start} to {to}. Legal transitions: {targets}."]
            assert response.data["legal_transitions"] == legal
            assert (service.status, service.version) == (start, 1)

    def test_the_whole_lifecycle_with_retry(self, api):
        service = make_service("draft")
        for to in ("in-delivery", "failed", "in-delivery", "active", "in-decommissioning", "decommissioned"):
            response = api.post(url(service, "transition"), {"to": to, "version": service.version}, format="json")
            assert response.status_code == 200, (to, response.data)
            service.refresh_from_db()
        assert service.version == 7
        assert list(LifecycleEvent.objects.filter(service=service).order_by("pk").values_list("to_status", flat=True)) \
            == ["draft", "in-delivery", "failed", "in-delivery", "active", "in-decommissioning", "decommissioned"]

    def test_working_states_call_the_hook(self, api, monkeypatch):
        calls = []
        monkeypatch.setattr(services, "on_enter_working_state", lambda **kw: calls.append(kw))
        service = make_service("draft")
        api.post(url(service, "transition"), {"to": "in-delivery", "version": 1}, format="json")
        api.post(url(service, "transition"), {"to": "active", "version": 2}, format="json")
        assert [(c["service"].status, c["from_status"]) for c in calls] == [("in-delivery", "draft")]

    def test_unknown_target_and_missing_version(self, api):
        service = make_service()
        response = api.post(url(service, "transition"), {"to": "sleeping"}, format="json")
        assert response.status_code == 400
        assert set(response.data) == {"to", "version"}


class TestDeletion:
    @pytest.mark.parametrize("status", ["draft", "decommissioned"])
    def test_deletable_states(self, api, status):
        service = make_service(status)
        assert api.delete(url(service)).status_code == 204
        assert not Service.objects.filter(pk=service.pk).exists()

    def test_a_service_in_delivery_is_a_409(self, api):
        # Active, failed and in-decommissioning services are decommissioned first: tests/services/test_finalizers.py
        service = make_service("in-delivery")
        response = api.delete(url(service))
        assert response.status_code == 409
        assert "a run is delivering it" in response.data["detail"]
        assert Service.objects.filter(pk=service.pk, deleting_since=None).exists()


def test_same_rules_without_the_api():
    """The service layer itself refuses; the API only translates."""
    service = order_service(service_type=dedicated_internet(), service_identifier="DI-LAYER",
                            tenant=make_tenant(), location=make_site(),
                            attributes={"bandwidth": 100, "ip_package": "medium"})
    with pytest.raises(services.ServiceValidationError) as excinfo:
        services.service_update(service=service, version=1, attributes={"ip_package": "large"})
    assert excinfo.value.attribute_errors == {"ip_package": [RW_MESSAGE]}
    assert excinfo.value.message_dict == {"attributes": [f"ip_package: {RW_MESSAGE}"]}
