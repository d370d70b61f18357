"""API tests of service types, parameters and services: the generic checks, filters, documentation."""

import pytest
from django.contrib.contenttypes.models import ContentType

from services import services
from services.models import Parameter, Service, ServiceType
from tests.api_mixins import APIViewTests, choice_value, next_number

from .factories import (
    DOC_WITH_DIAGRAM,
    dedicated_internet,
    make_location,
    make_service,
    make_site,
    make_tenant,
    order_service,
    served,
)

SERVICES = "/api/services/services/"
TYPES = "/api/services/service-types/"


def ids(response):
    return {row["id"] for row in response.data["results"]}


def make_type(**changes) -> ServiceType:
    n = next_number()
    definition = {"slug": f"type-{n}", "name": f"Type {n}", "attributes": [
        {"name": "speed", "kind": "choice", "modifier": "rw+", "choices": [10, 20]}]}
    definition.update(changes)
    return services.service_type_save(definition=definition)[0]


class TestServiceTypeAPI(APIViewTests):
    url_name = "services-api:servicetype"
    model = ServiceType
    brief_fields = ("id", "url", "display", "slug", "name")
    list_queries = 3  # token, count, page with its service count

    def make_objects(self, count):
        return [make_type() for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [
            {"slug": f"l2vpn-{n}", "name": f"L2 VPN {n}", "icon": "🔗", "attributes": [
                {"name": "vlan", "kind": "integer", "min_value": 2, "max_value": 4094, "modifier": "rw"}]},
            {"slug": f"transit-{n}", "name": f"Transit {n}", "description": "IP transit."},
            {"slug": f"colo-{n}", "name": f"Colocation {n}", "generator": "services.generators.Colocation"},
        ]

    def invalid_data(self):
        return {"slug": f"x-{next_number()}", "name": "X", "attributes": [{"name": "a", "kind": "nope"}]}, "attributes"

    def update_data(self):
        return {"description": "renamed", "icon": "🚀"}

    def filter_cases(self, objects):
        return [
            ({"slug": objects[0].slug}, [objects[0].pk]),
            ({"q": objects[1].name}, [objects[1].pk]),
        ]

    def test_builtin_type_shows_all_metadata(self, api):
        service_type = dedicated_internet()
        data = api.get(f"{TYPES}{service_type.pk}/").data
        assert data["slug"] == "dedicated-internet" and data["icon"]
        assert data["lifecycle"] == "default"
        assert data["lifecycle_transitions"]["draft"] == ["in-delivery"]
        attributes = {a["name"]: a for a in data["attributes"]}
        assert attributes["bandwidth"]["choices"][0] == {
            "value": 100, "label": "Hundred Megabits", "description": "100 Mbps of committed bandwidth.",
            "colour": "#9ecae1", "annotations": {}}
        assert attributes["documentation"]["annotations"]["web_presentation"] == "documentation"
        assert attributes["monitoring_profile"]["annotations"]["web_suggested_values"] == {
            "type": "parameters", "parameter_name": "monitoring-profiles"}
        assert attributes["ip_package"]["description"]

    def test_change_stranding_services_is_refused(self, api):
        service_type = make_type()
        service = order_service(service_type=service_type, service_identifier=f"S-{next_number()}",
                                tenant=make_tenant(), location=make_site(), attributes={"speed": 20})
        response = api.patch(f"{TYPES}{service_type.pk}/", {"attributes": [
            {"name": "speed", "kind": "choice", "modifier": "rw+", "choices": [10]}]}, format="json")
        assert response.status_code == 400, response.data
        assert response.data["attributes"] == [
            f"speed: no longer accepts the value 20 of 1 service(s): {service.service_identifier}."]
        service_type.refresh_from_db()
        assert len(service_type.attributes[0]["choices"]) == 2

    def test_type_in_use_cannot_be_deleted(self, api):
        service = make_service()
        response = api.delete(f"{TYPES}{service.service_type_id}/")
        assert response.status_code == 409
        assert ServiceType.objects.filter(pk=service.service_type_id).exists()


class TestParameterAPI(APIViewTests):
    url_name = "services-api:parameter"
    model = Parameter
    brief_fields = ("id", "url", "display", "name")
    list_queries = 3

    def make_objects(self, count):
        return [Parameter.objects.create(name=f"param-{next_number()}", values=["a", {"value": "b", "label": "B"}])
                for _ in range(count)]

    def create_data(self):
        n = next_number()
        return [
            {"name": f"profiles-{n}", "values": ["standard", "premium"], "description": "Monitoring profiles."},
            {"name": f"asns-{n}", "values": [{"label": "Cloudflare", "value": 13335}]},
            {"name": f"empty-{n}"},
        ]

    def invalid_data(self):
        return {"name": f"bad-{next_number()}", "values": [{"label": "no value"}]}, "values"

    def update_data(self):
        return {"description": "updated by the inventory sync"}

    def filter_cases(self, objects):
        return [({"name": objects[2].name}, [objects[2].pk])]

    def test_values_must_be_a_list(self, api):
        response = api.post("/api/services/parameters/", {"name": "x", "values": {"a": 1}}, format="json")
        assert response.status_code == 400
        assert response.data["values"] == ["must be a list of values or {label, value} objects"]


class TestServiceAPI(APIViewTests):
    url_name = "services-api:service"
    model = Service
    brief_fields = ("id", "url", "display", "service_identifier", "status")
    list_queries = 4  # token, count, page (type, tenant and location joined), owned resources

    def make_objects(self, count):
        return [make_service() for _ in range(count)]

    def create_data(self):
        service_type, (tenant, site) = dedicated_internet(), served()
        base = {"tenant": tenant.pk, "location": site.pk, "attributes": {"bandwidth": 1000, "ip_package": "small"}}
        return [
            {**base, "service_identifier": f"DI-A{next_number()}", "service_type": service_type.pk},
            {**base, "service_identifier": f"DI-B{next_number()}", "service_type": "dedicated-internet",
             "account_reference": "ACC-1"},
            {**base, "service_identifier": f"DI-C{next_number()}", "service_type": {"id": service_type.pk}},
        ]

    def invalid_data(self):
        payload = self.create_data()[0]
        payload["attributes"] = {"bandwidth": 5, "ip_package": "small"}
        return payload, "attributes"

    def update_data(self):
        return {"description": "renamed", "account_reference": "ACC-9"}

    def bulk_update_item(self, obj):
        return {**super().bulk_update_item(obj), "version": obj.version}  # as a single update, the version read

    def test_update(self, api):
        # Every update carries the version it read (the generic check sends none).
        service = make_service()
        response = api.patch(self.detail_url(service), {**self.update_data(), "version": 1}, format="json")
        assert response.status_code == 200, response.data
        service.refresh_from_db()
        assert (service.description, service.account_reference, service.version) == ("renamed", "ACC-9", 2)
        assert response.data["version"] == 2

    def test_create_answers_the_stored_service(self, api):
        payload = self.create_data()[1]
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 201, response.data
        data = response.data
        assert (data["status"], data["version"]) == ("draft", 1)
        assert data["service_type"]["slug"] == "dedicated-internet"
        assert data["tenant"]["id"] == payload["tenant"] and choice_value(data["location"]["kind"]) == "site"
        assert data["attributes"] == {"bandwidth": 1000, "ip_package": "small"}
        assert data["resources"] == []
        assert data["documentation"] == [{"name": "documentation", "title": "Service documentation", "html": ""}]
        service = Service.objects.get(pk=data["id"])
        assert service.events.get().to_status == "draft"

    def test_unknown_service_type_slug(self, api):
        payload = {**self.create_data()[0], "service_type": "no-such-type"}
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 400
        assert response.data["service_type"] == ["No service type with slug 'no-such-type'."]

    def test_location_must_be_a_site(self, api):
        payload = {**self.create_data()[0], "location": make_location("metro").pk}
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 400
        assert response.data["location"] == ["A service is delivered at a site, not at a metro."]

    def test_attributes_are_checked_against_the_type(self, api):
        payload = {**self.create_data()[0], "attributes": {"bandwidth": "fast", "colour": "red"}}
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 400
        errors = response.data["attributes"]
        assert errors["bandwidth"] == [
            "'fast' is not one of the choices: 100 (Hundred Megabits), 1000 (One Gigabit), 10000 (Ten Gigabits)."]
        assert errors["ip_package"] == ["This attribute is required."]
        assert errors["colour"] == ["Not an attribute of Dedicated Internet."]
        assert not Service.objects.filter(service_identifier=payload["service_identifier"]).exists()

    def test_choice_given_as_text_is_stored_as_the_choice(self, api):
        payload = {**self.create_data()[0], "attributes": {"bandwidth": "10000", "ip_package": "large"}}
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 201, response.data
        assert Service.objects.get(pk=response.data["id"]).attributes["bandwidth"] == 10000

    def test_attributes_must_be_an_object(self, api):
        payload = {**self.create_data()[0], "attributes": ["bandwidth"]}
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 400
        assert response.data["attributes"] == ["Expected an object of attribute values."]

    def test_duplicate_identifier(self, api):
        service = make_service()
        payload = {**self.create_data()[0], "service_identifier": service.service_identifier}
        response = api.post(SERVICES, payload, format="json")
        assert response.status_code == 400
        assert "service_identifier" in response.data

    def test_filters(self, api):
        objects = self.make_objects(3)
        root = make_tenant()
        child = make_tenant(parent=root)
        country = make_location("country")
        site = make_site(parent=make_location("metro", parent=country))
        mine = make_service("active", tenant=child, location=site, bandwidth=10000, port_type="10GBASE-LR")
        other_type = make_type()
        other = order_service(service_type=other_type, service_identifier=f"S-{next_number()}",
                              tenant=make_tenant(), location=make_site(), attributes={"speed": 10})
        cases = [
            ({"tenant_id": root.pk}, {mine.pk}),
            ({"tenant_id": child.pk}, {mine.pk}),
            ({"location_id": country.pk}, {mine.pk}),
            ({"status": "active"}, {mine.pk}),
            ({"status": ["active", "draft"], "tenant_id": root.pk}, {mine.pk}),
            ({"service_type": other_type.slug}, {other.pk}),
            ({"service_type_id": other_type.pk}, {other.pk}),
            ({"attr_bandwidth": 10000}, {mine.pk}),
            ({"attr_bandwidth": [10000, 1000]}, {mine.pk} | {o.pk for o in objects}),
            ({"attr_bandwidth": 10000, "attr_port_type": "10GBASE-LR"}, {mine.pk}),
            ({"attr_bandwidth": 10000, "attr_port_type": "1000BASE-T"}, set()),
            ({"attr_speed": 10}, {other.pk}),
            ({"service_identifier": mine.service_identifier}, {mine.pk}),
            ({"q": mine.service_identifier}, {mine.pk}),
        ]
        for params, expected in cases:
            response = api.get(SERVICES, params)
            assert response.status_code == 200, (params, response.data)
            assert ids(response) == expected, params
        # An attribute no service type defines is an unknown parameter, not an empty answer.
        for name in ("attr_Bad-Name", "attr_colour"):
            response = api.get(SERVICES, {name: 1})
            assert response.status_code == 400 and list(response.data) == [name], response.data

    def test_unknown_status_filter_is_a_400(self, api):
        response = api.get(SERVICES, {"status": "sleeping"})
        assert response.status_code == 400
        assert "status" in response.data


@pytest.mark.django_db
class TestDocumentationAndResources:
    def test_documentation_is_rendered_and_sanitised(self, api):
        service = make_service("active")
        hostile = (DOC_WITH_DIAGRAM.format(identifier=service.service_identifier)
                   + '\n<script>alert("x")</script>\n<img src="x.png" onerror="alert(1)">\n'
                   + '[click](javascript:alert(1)) <a href="https://example.com" onclick="steal()">ok</a>\n')
        services.service_set_generated_attributes(service=service, attributes={"documentation": hostile})
        data = api.get(f"{SERVICES}{service.pk}/").data
        html = data["documentation"][0]["html"]
        assert data["attributes"]["documentation"] == hostile  # the markdown itself is kept as written
        assert "<script" not in html and "alert(&quot;x&quot;)" not in html and 'alert("x")' not in html
        assert "onerror" not in html and "onclick" not in html and "javascript:" not in html
        assert '<img src="x.png">' in html
        assert '<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a>' in html
        assert '<pre class="mermaid">graph LR\n  customer[Customer] --&gt; sw01[sw01 Ethernet5]' in html

    def test_resources_are_listed(self, api):
        service = make_service("active")
        tenant = make_tenant()
        service.resources.create(role="customer-tenant", content_type=ContentType.objects.get_for_model(tenant),
                                 object_id=tenant.pk)
        data = api.get(f"{SERVICES}{service.pk}/").data
        assert data["resources"] == [{
            "id": service.resources.get().pk, "role": "customer-tenant", "object_type": "tenancy.tenant",
            "object_id": tenant.pk, "display": tenant.name, "created": data["resources"][0]["created"]}]
