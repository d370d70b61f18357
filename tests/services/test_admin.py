"""The admin driven by the metadata: catalog, order/change forms, modifiers, versions, lifecycle, documentation."""

import itertools
import re
import types

import pytest
from django.urls import reverse

from services import services
from services.admin import forms as admin_forms
from services.lifecycle import DEFAULT, Status
from services.models import Parameter, Service

from .factories import DOC_WITH_DIAGRAM, make_location, make_service, make_site, served

pytestmark = pytest.mark.django_db

ADD = reverse("admin:services_service_add")
CATALOG = reverse("admin:services_service_catalog")
RW_MESSAGE = "Set when the service is ordered; it cannot be changed afterwards."


def change_url(service):
    return reverse("admin:services_service_change", args=[service.pk])


def transition_url(service):
    return reverse("admin:services_service_transition", args=[service.pk])


def order_form(**changes):
    tenant, site = served()
    data = {"service_identifier": "DI-ADMIN-1", "account_reference": "ACC-7", "tenant": tenant.pk,
            "location": site.pk, "description": "", "attr_bandwidth": "1000", "attr_ip_package": "medium",
            "attr_port_type": "1000BASE-T", "attr_monitoring_profile": ""}
    data.update(changes)
    return data


def change_form(service, **changes):
    data = {"read_version": service.version, "service_identifier": service.service_identifier,
            "account_reference": service.account_reference, "tenant": service.tenant_id,
            "location": service.location_id, "description": service.description, "annotations": "{}",
            "attr_bandwidth": str(service.attributes.get("bandwidth", "")),
            "attr_ip_package": service.attributes.get("ip_package", ""),
            "attr_port_type": service.attributes.get("port_type", ""),
            "attr_monitoring_profile": service.attributes.get("monitoring_profile", ""),
            **inline_management("resources"), **inline_management("events")}
    data.update(changes)
    return data


def inline_management(prefix):
    return {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0, f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 0}


def field_html(response, name) -> str:
    html = response.content.decode()
    match = re.search(rf'<(input|select|textarea)[^>]*name="{name}"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def errors_of(response, field):
    return list(response.context["adminform"].form.errors.get(field, []))


class TestCatalogPage:
    def test_cards_with_order_buttons(self, admin_client):
        response = admin_client.get(CATALOG)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-service-type="dedicated-internet"' in html
        assert "Dedicated Internet" in html and "A dedicated physical port with complete internet connectivity." in html
        assert '<img src="/static/services/icons/globe.svg" alt="">' in html
        assert f'href="{ADD}?service_type=dedicated-internet">Order</a>' in html

    def test_add_without_a_type_leads_to_the_catalog(self, admin_client):
        response = admin_client.get(ADD)
        assert response.status_code == 302 and response["Location"] == CATALOG
        response = admin_client.get(ADD, {"service_type": "nope"}, follow=True)
        assert "No service type &#x27;nope&#x27;" in response.content.decode()

    def test_changelist_offers_the_catalog(self, admin_client):
        make_service()
        html = admin_client.get(reverse("admin:services_service_changelist")).content.decode()
        assert f'href="{CATALOG}" class="addlink">Order a service' in html


class TestOrderForm:
    def test_form_is_built_from_the_type(self, admin_client):
        Parameter.objects.update_or_create(name="monitoring-profiles", defaults={"values": ["standard"]})
        response = admin_client.get(ADD, {"service_type": "dedicated-internet"})
        assert response.status_code == 200
        html = response.content.decode()
        assert '<option value="1000">One Gigabit — 1 Gbps of committed bandwidth.</option>' in html
        assert '<option value="small">Small — 6 customer IPs (a /29).</option>' in html
        assert "Committed bandwidth of the port." in html  # the description as help text
        port = field_html(response, "attr_port_type")
        assert 'list="id_attr_port_type_suggestions"' in port
        assert '<option value="10GBASE-LR" label="10GBASE-LR (single-mode fibre)">' in html
        assert 'list="id_attr_monitoring_profile_suggestions"' in field_html(response, "attr_monitoring_profile")
        assert '<option value="standard" label="standard">' in html
        assert 'name="attr_documentation"' not in html  # r attributes are not ordered
        assert "Order: A dedicated" not in html and "A dedicated physical port" in html

    def test_parameter_suggestions_follow_the_parameter_at_once(self, admin_client, api):
        parameter = Parameter.objects.get(name="monitoring-profiles")
        response = api.patch(f"/api/services/parameters/{parameter.pk}/",
                             {"values": [{"value": "gold-24x7", "label": "Gold, 24x7"}, "basic"]}, format="json")
        assert response.status_code == 200, response.data
        html = admin_client.get(ADD, {"service_type": "dedicated-internet"}).content.decode()
        assert '<option value="gold-24x7" label="Gold, 24x7">' in html
        assert '<option value="basic" label="basic">' in html

    def test_order_creates_a_draft_through_the_service_layer(self, admin_client):
        data = order_form(attr_port_type="40GBASE-SR4")  # not a suggestion: still accepted
        response = admin_client.post(f"{ADD}?service_type=dedicated-internet", data)
        assert response.status_code == 302, errors_of(response, None) if response.status_code == 200 else ""
        service = Service.objects.get(service_identifier="DI-ADMIN-1")
        assert (service.status, service.version, service.account_reference) == ("draft", 1, "ACC-7")
        assert service.attributes == {"bandwidth": 1000, "ip_package": "medium", "port_type": "40GBASE-SR4"}
        assert service.events.get().user.username == "admin"

    def test_order_errors_are_the_api_messages(self, admin_client, api):
        data = order_form(attr_bandwidth="", attr_ip_package="", location=make_location("metro").pk)
        response = admin_client.post(f"{ADD}?service_type=dedicated-internet", data)
        assert response.status_code == 200
        assert errors_of(response, "attr_bandwidth") == ["This field is required."]
        assert not Service.objects.filter(service_identifier="DI-ADMIN-1").exists()
        # The location is limited to sites in the form; the service layer's message comes from the model.
        assert errors_of(response, "location")
        api_response = api.post("/api/services/services/", {
            "service_identifier": "DI-API", "service_type": "dedicated-internet", "tenant": data["tenant"],
            "location": make_site().pk, "attributes": {"bandwidth": 1000}}, format="json")
        form_response = admin_client.post(f"{ADD}?service_type=dedicated-internet",
                                          order_form(attr_ip_package="huge"))
        assert api_response.data["attributes"]["ip_package"] == ["This attribute is required."]
        assert errors_of(form_response, "attr_ip_package")[0].startswith("Select a valid choice.")

    def test_duplicate_identifier_is_a_form_error(self, admin_client):
        existing = make_service()
        response = admin_client.post(f"{ADD}?service_type=dedicated-internet",
                                     order_form(service_identifier=existing.service_identifier))
        assert response.status_code == 200
        assert errors_of(response, "service_identifier") == ["Service with this Service identifier already exists."]


class TestChangeForm:
    def test_read_only_fields_follow_the_modifiers(self, admin_client):
        service = make_service("active", port_type="1000BASE-T")
        response = admin_client.get(change_url(service))
        assert response.status_code == 200
        assert "disabled" in field_html(response, "attr_ip_package")
        assert "disabled" in field_html(response, "attr_port_type")
        assert "disabled" not in field_html(response, "attr_bandwidth")
        assert "disabled" in field_html(response, "tenant") and "disabled" in field_html(response, "location")
        html = response.content.decode()
        assert "Public addresses given to the customer. Set when ordered, cannot be changed." in html
        assert "Committed bandwidth of the port. Can be changed later; a change delivers the service again." in html
        assert "Set when ordered; can be changed only while the service is draft." in html  # tenant, site
        assert "modifier" not in html
        assert 'name="attr_documentation"' not in html
        in_delivery = make_service("in-delivery")
        response = admin_client.get(change_url(in_delivery))
        assert "disabled" in field_html(response, "attr_bandwidth")
        assert "Can be changed later, but not while the service is in delivery." in response.content.decode()

    def test_order_form_says_who_sets_what(self, admin_client):
        html = admin_client.get(ADD, {"service_type": "dedicated-internet"}).content.decode()
        assert "Committed bandwidth of the port. Can be changed later." in html
        assert "Public addresses given to the customer. Set when ordered, cannot be changed." in html
        assert "modifier" not in html and "rw+" not in html

    def test_tampered_rw_value_is_ignored(self, admin_client):
        service = make_service("active")
        response = admin_client.post(change_url(service), change_form(service, attr_ip_package="large"))
        assert response.status_code == 302
        service.refresh_from_db()
        assert service.attributes["ip_package"] == "small" and service.version == 1

    def test_rw_plus_change_on_active_redelivers(self, admin_client):
        service = make_service("active")
        response = admin_client.post(change_url(service), change_form(service, attr_bandwidth="100"))
        assert response.status_code == 302
        service.refresh_from_db()
        assert (service.attributes["bandwidth"], service.status, service.version) == (100, "in-delivery", 2)
        assert service.events.first().user.username == "admin"

    def test_rw_plus_in_draft_and_metadata(self, admin_client):
        service = make_service("draft")
        site = served(tenant=service.tenant)[1]
        response = admin_client.post(change_url(service), change_form(
            service, attr_bandwidth="100", location=site.pk, account_reference="ACC-2"))
        assert response.status_code == 302
        service.refresh_from_db()
        assert (service.attributes["bandwidth"], service.location, service.status) == (100, site, "draft")

    def test_nothing_stays_written_when_the_page_is_shown_again(self, admin_client):
        service = make_service("active")
        data = change_form(service, attr_bandwidth="100")
        del data["events-TOTAL_FORMS"]  # a broken inline: the admin shows the page again
        response = admin_client.post(change_url(service), data)
        assert response.status_code == 200
        service.refresh_from_db()
        assert (service.attributes["bandwidth"], service.status, service.version) == (1000, "active", 1)
        assert not service.events.exclude(to_status="draft").exists()

    def test_stale_version_is_a_form_error(self, admin_client):
        service = make_service("active")
        stale = change_form(service, attr_bandwidth="100")
        services.service_update(service=service, version=1, description="someone else")
        response = admin_client.post(change_url(service), stale)
        assert response.status_code == 200
        assert errors_of(response, "__all__") == [
            f"Service {service.service_identifier} is at version 2, not 1: it changed since you read it. "
            "Reload it and try again."]
        service.refresh_from_db()
        assert service.attributes["bandwidth"] == 1000

    def test_service_layer_refusal_lands_on_the_field(self, admin_client, monkeypatch):
        # The form disables what the layer refuses; if the two ever disagree, the layer still decides.
        service = make_service("in-delivery")
        lenient = types.SimpleNamespace(**{name: getattr(services, name) for name in dir(services)})
        lenient.attribute_write_refusal = lambda attribute, *, service: None
        monkeypatch.setattr(admin_forms, "services", lenient)
        assert "disabled" not in field_html(admin_client.get(change_url(service)), "attr_ip_package")
        response = admin_client.post(change_url(service), change_form(service, attr_ip_package="large"))
        assert response.status_code == 200
        assert errors_of(response, "attr_ip_package") == [RW_MESSAGE]
        service.refresh_from_db()
        assert service.attributes["ip_package"] == "small"


ALL_PAIRS = [(a, b) for a, b in itertools.product(Status.values, Status.values) if a != b]


class TestLifecycleButtons:
    @pytest.mark.parametrize("status", Status.values)
    def test_only_legal_transitions_are_offered(self, admin_client, status):
        service = make_service(status)
        html = admin_client.get(change_url(service)).content.decode()
        offered = re.findall(r'data-transition="([a-z-]+)"', html)
        assert offered == list(DEFAULT.targets(status))

    @pytest.mark.parametrize(("start", "to"), ALL_PAIRS)
    def test_every_transition_rule(self, admin_client, start, to):
        service = make_service(start)
        response = admin_client.post(transition_url(service), {"to": to, "version": 1}, follow=True)
        service.refresh_from_db()
        messages = [str(m) for m in response.context["messages"]]
        if to in DEFAULT.targets(start):
            assert (service.status, service.version) == (to, 2)
            where = f"{service} is {Status(to).label.lower()} (version 2)"
            if to in DEFAULT.working:  # its run is queued (this test's transaction never commits)
                assert len(messages) == 1 and messages[0].startswith(f"{where}: its ") and " is queued. " in messages[0]
            else:
                assert messages == [f"{where}."]
        else:
            assert (service.status, service.version) == (start, 1)
            targets = ", ".join(DEFAULT.targets(start)) or "none"
            assert messages == [f"A service cannot go from {start} to {to}. Legal transitions: {targets}."]

    def test_stale_transition(self, admin_client):
        service = make_service("draft")
        response = admin_client.post(transition_url(service), {"to": "in-delivery", "version": 3}, follow=True)
        assert [str(m) for m in response.context["messages"]][0].endswith("Reload it and try again.")
        assert admin_client.get(transition_url(service)).status_code == 405

    def test_delete_only_when_deletable(self, admin_client):
        delivering, draft = make_service("in-delivery"), make_service("draft")
        assert admin_client.get(reverse("admin:services_service_delete", args=[delivering.pk])).status_code == 403
        response = admin_client.post(reverse("admin:services_service_delete", args=[draft.pk]), {"post": "yes"})
        assert response.status_code == 302
        assert not Service.objects.filter(pk=draft.pk).exists()


class TestDocumentationTab:
    def test_documentation_is_rendered_sanitised_with_a_mermaid_block(self, admin_client):
        service = make_service("active")
        hostile = (DOC_WITH_DIAGRAM.format(identifier=service.service_identifier)
                   + '<script>alert(1)</script><img src="x" onerror="alert(2)"> [x](javascript:alert(3))')
        services.service_set_generated_attributes(service=service, attributes={"documentation": hostile})
        html = admin_client.get(change_url(service)).content.decode()
        assert 'data-service-tab="documentation">Service documentation</button>' in html
        panel = html[html.index('data-service-panel="documentation"'):]
        panel = panel[:panel.index("</div>")]
        assert '<pre class="mermaid">graph LR' in panel
        assert "<script" not in panel and "onerror" not in panel and "javascript:" not in panel
        assert "/static/services/vendor/mermaid.min.js" in html

    def test_empty_documentation(self, admin_client):
        html = admin_client.get(change_url(make_service("draft"))).content.decode()
        assert "No documentation yet" in html


class TestTypesAndParametersAdmin:
    def test_service_type_page_lists_the_metadata(self, admin_client):
        from services.models import ServiceType

        service_type = ServiceType.objects.get(slug="dedicated-internet")
        html = admin_client.get(reverse("admin:services_servicetype_change", args=[service_type.pk])).content.decode()
        assert "<td>Bandwidth</td><td><code>bandwidth</code></td><td>choice</td><td>Can be changed later.</td>" in html
        assert "<td>Set when ordered, cannot be changed.</td>" in html and "<td>Set by the system.</td>" in html
        assert "rw+" not in html and "1000 (One Gigabit)" in html
        assert admin_client.get(reverse("admin:services_servicetype_add")).status_code == 403

    def test_parameter_admin(self, admin_client):
        response = admin_client.get(reverse("admin:services_parameter_changelist"))
        assert response.status_code == 200 and "monitoring-profiles" in response.content.decode()
