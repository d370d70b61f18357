"""List attributes (items with their own kinds and modifiers), site attributes, and the type's own rules.

One generator-less type with a list of terminations, so that no generator runs; another whose
generator class (defined here) refuses other than two terminations through ``validate_attributes``.
"""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from services import services
from services.generators import Generator
from services.models import Service
from services.schema import DefinitionError, normalise_attribute
from tests.browser import log_in, needs_chromium, pick_autocomplete, wait_for

from .factories import make_site, make_tenant, offer, order_service

pytestmark = pytest.mark.django_db

TERMINATIONS = {
    "name": "terminations", "label": "Terminations", "kind": "list", "modifier": "rw+", "required": True,
    "description": "Where the customer is handed the service, one per site.",
    "item_key": "site", "min_items": 2, "max_items": 3,
    "item_attributes": [
        {"name": "site", "kind": "site", "modifier": "rw", "required": True, "description": "The site."},
        {"name": "vlan", "kind": "integer", "modifier": "rw+", "required": True, "min_value": 1,
         "max_value": 4094, "description": "The VLAN handed to the customer.",
         "annotations": {"web_suggested_values": {"type": "literal", "values": [100, 200]}}},
        {"name": "tagged", "kind": "boolean", "modifier": "rw", "default": True},
        {"name": "port", "kind": "text", "modifier": "r", "description": "Chosen by the generator."},
    ],
}
LIST_TYPE = {"slug": "list-kind", "name": "List kind", "attributes": [
    TERMINATIONS,
    {"name": "hub", "kind": "site", "modifier": "rw+"},
    {"name": "circuits", "kind": "list", "modifier": "rw", "item_key": "circuit",
     "item_attributes": [{"name": "circuit", "kind": "text", "modifier": "rw", "required": True}]},
]}


class TwoTerminations(Generator):
    """A generator whose type allows exactly two terminations: a rule across items a schema cannot say."""

    @classmethod
    def validate_attributes(cls, attributes: dict) -> dict[str, list[str]]:
        count = len(attributes.get("terminations") or [])
        return {"terminations": [f"Point-to-point takes exactly two terminations, not {count}."]} \
            if count != 2 else {}

    def generate(self):  # never run here
        raise AssertionError("no generator runs in these tests")


HOOK_TYPE = {"slug": "list-hook", "name": "List hook", "generator": f"{__name__}.TwoTerminations",
             "attributes": [{**TERMINATIONS, "max_items": None}]}


@pytest.fixture
def list_type():
    return services.service_type_save(definition=LIST_TYPE)[0]


@pytest.fixture
def sites():
    return [make_site() for _ in range(4)]


def order(service_type, **attributes):
    tenant, location = make_tenant(), make_site()
    return order_service(service_type=service_type, service_identifier=f"LK-{Service.objects.count()}",
                         tenant=tenant, location=location, attributes=attributes)


def refusal(service_type, **attributes) -> dict:
    with pytest.raises(services.ServiceValidationError) as excinfo:
        order(service_type, **attributes)
    return excinfo.value.attribute_errors


def terms(*pairs):
    return [{"site": site.slug, "vlan": vlan} for site, vlan in pairs]


def active(service: Service) -> Service:
    Service.objects.filter(pk=service.pk).update(status="active")
    service.refresh_from_db()
    return service


def update(service, **attributes):
    return services.service_update(service=service, version=service.version, attributes=attributes)


def update_refusal(service, **attributes) -> dict:
    with pytest.raises(services.ServiceValidationError) as excinfo:
        update(service, **attributes)
    return excinfo.value.attribute_errors


class TestDefinition:
    def test_the_issue_definition_loads_normalised(self):
        attribute = normalise_attribute(TERMINATIONS)
        assert (attribute["kind"], attribute["item_key"], attribute["min_items"], attribute["max_items"]) == \
            ("list", "site", 2, 3)
        names = [(item["name"], item["kind"], item["modifier"]) for item in attribute["item_attributes"]]
        assert names == [("site", "site", "rw"), ("vlan", "integer", "rw+"), ("tagged", "boolean", "rw"),
                         ("port", "text", "r")]
        assert attribute["item_attributes"][1]["max_value"] == 4094
        assert attribute["item_attributes"][0]["label"] == "Site"  # every key present, like any attribute

    @pytest.mark.parametrize("change, message", [
        ({"item_key": None}, "a list attribute needs an item_key: the item attribute that tells items apart"),
        ({"item_key": "colour"}, "item_key 'colour' is not one of its item attributes (port, site, tagged, vlan)"),
        ({"item_key": "tagged"}, "item_key 'tagged' must name a required item attribute: every item needs one"),
        ({"item_attributes": []}, "a list attribute needs item_attributes: a non-empty list of attribute "
                                  "definitions"),
        ({"item_attributes": [{"name": "site", "kind": "markdown", "required": True}]},
         "item attribute 'site': kind 'markdown' is not one of text, integer, choice, boolean, site"),
        ({"item_attributes": [{"name": "site", "kind": "list", "required": True, "item_key": "x",
                               "item_attributes": [{"name": "x", "required": True}]}]},
         "item attribute 'site': a list cannot hold a list: an item attribute takes one of text, integer, "
         "choice, boolean, site"),
        ({"item_attributes": [{"name": "site", "required": True}, {"name": "site"}]},
         "item attribute 'site' is declared twice"),
        ({"min_items": -1}, "min_items must be a whole number, 0 or more"),
        ({"min_items": 4, "max_items": 3}, "min_items is more than max_items"),
        ({"default": [{"site": "x", "vlan": 1}]}, "a list attribute has no default"),
    ])
    def test_refusals_name_the_attribute(self, change, message):
        with pytest.raises(DefinitionError) as excinfo:
            normalise_attribute({**TERMINATIONS, **change})
        assert (excinfo.value.attribute, excinfo.value.reason) == ("terminations", message)

    def test_a_list_is_no_approval_condition(self):
        with pytest.raises(ValidationError) as excinfo:
            services.service_type_save(definition={**LIST_TYPE, "requires_approval": {"when": {"terminations": [1]}}})
        assert excinfo.value.message_dict["requires_approval"] == [
            "terminations: a list cannot be a condition of approval; name a plain attribute"]

    def test_list_keys_only_on_a_list(self):
        with pytest.raises(DefinitionError) as excinfo:
            normalise_attribute({"name": "vlan", "kind": "integer", "item_key": "x"})
        assert excinfo.value.reason == "only a list attribute has item_key"

    def test_a_type_with_a_bad_list_is_refused_naming_it(self):
        with pytest.raises(ValidationError) as excinfo:
            services.service_type_save(definition={**LIST_TYPE, "attributes": [{**TERMINATIONS, "item_key": "x"}]})
        assert excinfo.value.message_dict["attributes"] == [
            "terminations: item_key 'x' is not one of its item attributes (port, site, tagged, vlan)"]


class TestValues:
    def test_a_list_is_stored_cleaned_with_item_defaults(self, list_type, sites):
        service = order(list_type, terminations=terms((sites[0], 100), (sites[1], 200)), hub=sites[2].slug)
        assert service.attributes == {
            "terminations": [{"site": sites[0].slug, "vlan": 100, "tagged": True},
                             {"site": sites[1].slug, "vlan": 200, "tagged": True}],
            "hub": sites[2].slug,
        }

    def test_every_item_problem_names_the_item_and_field(self, list_type, sites):
        errors = refusal(list_type, terminations=[
            {"site": sites[0].slug, "vlan": 100},
            {"site": sites[1].slug, "vlan": 5000, "colour": "red"},
            {"site": sites[0].slug, "vlan": "ten", "tagged": "yes"},
            {"vlan": 7},
        ])
        assert errors == {"terminations": [
            f"item 2 (site {sites[1].slug}): colour: Not a field of the items of Terminations.",
            f"item 2 (site {sites[1].slug}): vlan: Must be at most 4094.",
            f"item 3 (site {sites[0].slug}): vlan: Expected an integer, got 'ten'.",
            f"item 3 (site {sites[0].slug}): tagged: Expected true or false, got 'yes'.",
            f"item 3 (site {sites[0].slug}): site: {sites[0].slug!r} is already the site of item 1; "
            "each item needs its own.",
            "item 4: site: This field is required.",
            "Takes at most 3 item(s), got 4.",
        ]}

    def test_shape_min_items_and_required(self, list_type, sites):
        assert refusal(list_type, terminations={"site": sites[0].slug}) == {
            "terminations": ["Expected a list of items, got dict."]}
        assert refusal(list_type, terminations=[7, {"site": sites[0].slug, "vlan": 1}]) == {
            "terminations": ["item 1: Expected an object of item fields, got int."]}
        assert refusal(list_type, terminations=terms((sites[0], 1))) == {
            "terminations": ["Needs at least 2 item(s), got 1."]}
        assert refusal(list_type, terminations=[]) == {"terminations": ["This attribute is required."]}

    def test_unknown_sites_are_refused(self, list_type, sites):
        errors = refusal(list_type, terminations=[{"site": "nowhere", "vlan": 1}, {"site": sites[0].slug, "vlan": 2}],
                         hub="atlantis")
        assert errors == {"terminations": ["item 1 (site nowhere): site: No site with the slug 'nowhere'."],
                          "hub": ["No site with the slug 'atlantis'."]}
        assert refusal(list_type, terminations=terms((sites[0], 1), (sites[1], 2)), hub=12) == {
            "hub": ["Expected the slug of a site, got int."]}

    def test_a_location_that_is_not_a_site_is_not_a_site(self, list_type, sites):
        from .factories import make_location

        metro = make_location("metro")
        assert refusal(list_type, terminations=terms((sites[0], 1), (sites[1], 2)), hub=metro.slug) == {
            "hub": [f"No site with the slug {metro.slug!r}."]}

    def test_generated_item_fields_cannot_be_ordered(self, list_type, sites):
        values = terms((sites[0], 1), (sites[1], 2))
        values[1]["port"] = "Ethernet1"
        assert refusal(list_type, terminations=values) == {"terminations": [
            f"item 2 (site {sites[1].slug}): port: Set by the system (the service's generator); it cannot be "
            "written."]}


class TestModifiersInside:
    @pytest.fixture
    def service(self, list_type, sites):
        service = active(order(list_type, terminations=terms((sites[0], 100), (sites[1], 200)),
                               circuits=[{"circuit": "C1"}]))
        return services.service_set_generated_attributes(service=service, attributes={"terminations": [
            {**item, "port": f"Ethernet{index}"} for index, item in enumerate(service.attributes["terminations"])]})

    def test_the_generator_fills_r_fields_only(self, service, sites):
        assert [item["port"] for item in service.attributes["terminations"]] == ["Ethernet0", "Ethernet1"]
        assert service.version == 2 and service.status == "active"
        changed = [{**item, "vlan": 999} for item in service.attributes["terminations"]]
        with pytest.raises(services.ServiceValidationError) as excinfo:
            services.service_set_generated_attributes(service=service, attributes={"terminations": changed})
        assert excinfo.value.attribute_errors == {"terminations": [
            "A generator sets only the generator-owned (r) fields of the items; the items and their other fields "
            "are the user's: send them back as stored."]}
        with pytest.raises(services.ServiceValidationError) as excinfo:
            services.service_set_generated_attributes(service=service, attributes={"circuits": []})
        assert excinfo.value.attribute_errors == {"circuits": [
            "Not a generator-owned (r) attribute of this service type."]}

    def test_items_are_added_and_removed_while_active(self, service, sites):
        # par1 kept (its port with it, sent back or not), bru1 removed, a new one added.
        kept = {"site": sites[0].slug, "vlan": 100}
        service = update(service, terminations=[kept, {"site": sites[2].slug, "vlan": 300}])
        assert service.status == "in-delivery" and service.version == 3
        assert service.attributes["terminations"] == [
            {"site": sites[0].slug, "vlan": 100, "tagged": True, "port": "Ethernet0"},
            {"site": sites[2].slug, "vlan": 300, "tagged": True}]
        assert service.events.first().message == "Updated terminations"

    def test_rw_plus_fields_of_an_item_change(self, service, sites):
        items = [dict(item) for item in service.attributes["terminations"]]
        items[1]["vlan"] = 222
        service = update(service, terminations=items)
        assert [item["vlan"] for item in service.attributes["terminations"]] == [100, 222]
        assert service.attributes["terminations"][1]["port"] == "Ethernet1"

    def test_sending_back_what_was_read_changes_nothing(self, service):
        again = update(service, terminations=service.attributes["terminations"],
                       circuits=service.attributes["circuits"])
        assert (again.version, again.status) == (2, "active")
        without_ports = [{k: v for k, v in item.items() if k != "port"} for item in service.attributes["terminations"]]
        assert update(service, terminations=without_ports).version == 2

    def test_rw_field_of_an_existing_item_is_refused(self, service, sites):
        items = [dict(item) for item in service.attributes["terminations"]]
        items[0]["tagged"] = False
        assert update_refusal(service, terminations=items) == {"terminations": [
            f"item 1 (site {sites[0].slug}): tagged is set when the item is added and cannot change (it is True); "
            "remove the item and add a new one instead."]}

    def test_r_field_sent_with_another_value_is_refused(self, service, sites):
        items = [dict(item) for item in service.attributes["terminations"]]
        items[1]["port"] = "Ethernet9"
        assert update_refusal(service, terminations=items) == {"terminations": [
            f"item 2 (site {sites[1].slug}): port: Set by the system (the service's generator); it cannot be "
            "written."]}
        service.refresh_from_db()
        assert service.attributes["terminations"][1]["port"] == "Ethernet1" and service.version == 2

    def test_an_rw_list_is_frozen_like_any_rw_attribute(self, service):
        assert update_refusal(service, circuits=[{"circuit": "C2"}]) == {"circuits": [
            "Set when the service is ordered; it cannot be changed afterwards."]}

    def test_rw_plus_list_outside_the_update_states(self, service, sites):
        Service.objects.filter(pk=service.pk).update(status="in-delivery")
        service.refresh_from_db()
        assert update_refusal(service, terminations=terms((sites[0], 100), (sites[3], 4))) == {"terminations": [
            "Can be changed later, but only while the service is draft, active, failed; it is in-delivery."]}

    def test_an_unknown_site_in_a_new_item_is_refused(self, service, sites):
        items = [*service.attributes["terminations"], {"site": "nowhere", "vlan": 5}]
        assert update_refusal(service, terminations=items) == {"terminations": [
            "item 3 (site nowhere): site: No site with the slug 'nowhere'."]}


class TestTypeRules:
    @pytest.fixture
    def hook_type(self):
        return services.service_type_save(definition=HOOK_TYPE)[0]

    def test_validate_attributes_refuses_an_order(self, hook_type, sites):
        assert refusal(hook_type, terminations=terms((sites[0], 1), (sites[1], 2), (sites[2], 3))) == {
            "terminations": ["Point-to-point takes exactly two terminations, not 3."]}
        service = order(hook_type, terminations=terms((sites[0], 1), (sites[1], 2)))
        assert len(service.attributes["terminations"]) == 2

    def test_validate_attributes_refuses_an_update(self, hook_type, sites):
        service = order(hook_type, terminations=terms((sites[0], 1), (sites[1], 2)))
        items = [*service.attributes["terminations"], {"site": sites[2].slug, "vlan": 3}]
        assert update_refusal(service, terminations=items) == {
            "terminations": ["Point-to-point takes exactly two terminations, not 3."]}

    def test_through_the_api_it_is_a_400(self, hook_type, sites, api):
        tenant, site = make_tenant(), make_site()
        offer(hook_type, tenant=tenant, location=site)
        response = api.post("/api/services/services/", {
            "service_identifier": "LH-1", "service_type": "list-hook", "tenant": tenant.pk, "location": site.pk,
            "attributes": {"terminations": terms((sites[0], 1), (sites[1], 2), (sites[2], 3))}}, format="json")
        assert response.status_code == 400
        assert response.data["attributes"] == {
            "terminations": ["Point-to-point takes exactly two terminations, not 3."]}


class TestApi:
    def test_create_read_and_update(self, list_type, sites, api):
        tenant, site = make_tenant(), make_site()
        offer(list_type, tenant=tenant, location=site)
        response = api.post("/api/services/services/", {
            "service_identifier": "LK-API", "service_type": "list-kind", "tenant": tenant.pk, "location": site.pk,
            "attributes": {"terminations": terms((sites[0], 10), (sites[1], 20))}}, format="json")
        assert response.status_code == 201, response.data
        assert response.data["attributes"]["terminations"][1] == {"site": sites[1].slug, "vlan": 20, "tagged": True}
        url = f"/api/services/services/{response.data['id']}/"
        response = api.patch(url, {"version": 1, "attributes": {"terminations": [
            {"site": sites[0].slug, "vlan": 10}, {"site": sites[1].slug, "vlan": 4095}]}}, format="json")
        assert response.status_code == 400
        assert response.data["attributes"] == {
            "terminations": [f"item 2 (site {sites[1].slug}): vlan: Must be at most 4094."]}
        response = api.patch(url, {"version": 1, "attributes": {"terminations": [
            {"site": sites[0].slug, "vlan": 10}, {"site": sites[2].slug, "vlan": 30}]}}, format="json")
        assert response.status_code == 200, response.data
        assert [item["site"] for item in response.data["attributes"]["terminations"]] == [sites[0].slug,
                                                                                          sites[2].slug]

    def test_the_type_shows_its_item_attributes(self, list_type, api):
        response = api.get(f"/api/services/service-types/{list_type.pk}/")
        assert response.status_code == 200, response.data
        terminations = response.data["attributes"][0]
        assert (terminations["kind"], terminations["item_key"], terminations["min_items"]) == ("list", "site", 2)
        assert [item["name"] for item in terminations["item_attributes"]] == ["site", "vlan", "tagged", "port"]


ADD = reverse("admin:services_service_add")


def row(prefix, index, **fields):
    return {f"attr_{prefix}-{index}-{name}": value for name, value in fields.items()}


class TestAdminForm:
    def order_data(self, list_type, sites, **extra):
        tenant, site = make_tenant(), make_site()
        offer(list_type, tenant=tenant, location=site)
        return {"service_identifier": "LK-ADMIN", "account_reference": "", "tenant": tenant.pk,
                "location": site.pk, "description": "", "attr_hub": "",
                "attr_terminations-TOTAL": "3", **row("terminations", 0, site=sites[0].slug, vlan="100"),
                **row("terminations", 1, site=sites[1].slug, vlan="200", tagged="false"),
                **row("terminations", 2, site="", vlan=""),  # the blank row: ignored
                "attr_circuits-TOTAL": "1", **row("circuits", 0, circuit="C7"), **extra}

    def test_the_order_form_shows_a_table(self, list_type, admin_client):
        response = admin_client.get(f"{ADD}?service_type=list-kind")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-item-table="attr_terminations"' in html
        assert 'name="attr_terminations-0-vlan"' in html and 'name="attr_terminations-0-site"' in html
        assert 'name="attr_terminations-0-port"' not in html  # r: not part of an order
        assert "services/item-table.js" in html
        assert 'name="attr_terminations-__prefix__-vlan"' in html  # the row "Add a row" copies
        vlan = re.search(r'<input[^>]*name="attr_terminations-0-vlan"[^>]*>', html).group(0)
        assert 'list="attr_terminations_vlan_suggestions"' in vlan and 'min="1"' in vlan and 'max="4094"' in vlan
        assert '<datalist id="attr_terminations_vlan_suggestions">' in html
        assert "<strong>Vlan</strong>: The VLAN handed to the customer. Can be changed later." in html
        assert "<strong>Site</strong>: The site. Set when the item is added, cannot be changed." in html

    def test_order_and_change_through_the_admin(self, list_type, sites, admin_client):
        response = admin_client.post(f"{ADD}?service_type=list-kind", self.order_data(list_type, sites))
        assert response.status_code == 302, response.context["adminform"].form.errors
        service = Service.objects.get(service_identifier="LK-ADMIN")
        assert service.attributes["terminations"] == [{"site": sites[0].slug, "vlan": 100, "tagged": True},
                                                      {"site": sites[1].slug, "vlan": 200, "tagged": False}]
        assert service.attributes["circuits"] == [{"circuit": "C7"}]
        service = active(service)
        service = services.service_set_generated_attributes(service=service, attributes={"terminations": [
            {**item, "port": "Et1"} for item in service.attributes["terminations"]]})
        change = reverse("admin:services_service_change", args=[service.pk])
        html = admin_client.get(change).content.decode()
        stored_site = re.search(r'<input[^>]*name="attr_terminations-0-site"[^>]*>', html).group(0)
        assert f'value="{sites[0].slug}"' in stored_site and "readonly" in stored_site  # rw of a stored item
        new_site = re.search(r'<input[^>]*name="attr_terminations-2-site"[^>]*>', html).group(0)
        assert "readonly" not in new_site  # the blank row, to add an item
        assert ">Et1</span>" in html  # r field shown, read-only
        assert 'name="attr_circuits-0-circuit"' in html and 'name="attr_circuits-0-DELETE"' not in html  # rw: frozen
        data = {"read_version": service.version, "service_identifier": service.service_identifier,
                "account_reference": "", "tenant": service.tenant_id, "location": service.location_id,
                "description": "", "annotations": "{}", "attr_hub": "",
                "attr_terminations-TOTAL": "3",
                **row("terminations", 0, site=sites[0].slug, vlan="101", tagged="true"),
                **row("terminations", 1, site=sites[1].slug, vlan="200", tagged="false", DELETE="on"),
                **row("terminations", 2, site=sites[2].slug, vlan="300"),
                **{f"{prefix}-{key}": 0 for prefix in ("resources", "events")
                   for key in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")}}
        response = admin_client.post(change, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        service.refresh_from_db()
        assert service.status == "in-delivery"
        assert service.attributes["terminations"] == [
            {"site": sites[0].slug, "vlan": 101, "tagged": True, "port": "Et1"},
            {"site": sites[2].slug, "vlan": 300, "tagged": True}]
        assert service.attributes["circuits"] == [{"circuit": "C7"}]

    def test_errors_are_the_service_layer_messages_next_to_the_field(self, list_type, sites, admin_client):
        data = self.order_data(list_type, sites, **row("terminations", 1, site=sites[1].slug, vlan="9999"),
                               **row("terminations", 2, site="nowhere", vlan="x"))
        response = admin_client.post(f"{ADD}?service_type=list-kind", data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors["attr_terminations"]
        assert errors == ["item 3 (site nowhere): vlan: Expected a whole number, got 'x'."]
        data["attr_terminations-2-vlan"] = "5"
        response = admin_client.post(f"{ADD}?service_type=list-kind", data)
        assert response.context["adminform"].form.errors["attr_terminations"] == [
            f"item 2 (site {sites[1].slug}): vlan: Must be at most 4094.",
            "item 3 (site nowhere): site: No site with the slug 'nowhere'."]
        html = response.content.decode()
        assert 'name="attr_terminations-2-site" value="nowhere"' in html  # what was typed stays
        assert not Service.objects.filter(service_identifier="LK-ADMIN").exists()


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_rows_are_added_and_removed_in_a_browser(browser, live_server, admin_user):
    """The table's JavaScript: "Add a row" copies the blank row with the next number; "Remove" drops a row."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    list_type = services.service_type_save(definition=LIST_TYPE)[0]
    sites = [make_site() for _ in range(3)]
    tenant, location = make_tenant(), make_site()
    offer(list_type, tenant=tenant, location=location)
    log_in(browser, live_server.url)
    browser.get(f"{live_server.url}{ADD}?service_type=list-kind")
    table = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, '[data-item-table="attr_terminations"]'))
    browser.find_element(By.ID, "id_service_identifier").send_keys("LK-BROWSER")
    pick_autocomplete(browser, "id_tenant", tenant.name)
    Select(browser.find_element(By.ID, "id_location")).select_by_visible_text(location.name)
    add = table.find_element(By.CSS_SELECTOR, "[data-item-table-add]")
    assert add.is_displayed()  # shown by the script only: without it the blank row adds one item per save
    add.click()
    add.click()
    for index, (site, vlan) in enumerate(zip(sites, ("10", "20", "30"), strict=True)):
        browser.find_element(By.NAME, f"attr_terminations-{index}-site").send_keys(site.slug)
        browser.find_element(By.NAME, f"attr_terminations-{index}-vlan").send_keys(vlan)
    browser.find_element(By.NAME, "attr_terminations-1-DELETE").click()
    assert "item-table-removed" in browser.find_elements(By.CSS_SELECTOR, ".item-table-row")[1].get_attribute("class")
    browser.find_element(By.NAME, "attr_circuits-0-circuit").send_keys("C1")
    browser.find_element(By.NAME, "_continue").click()
    wait_for(browser, lambda d: Service.objects.filter(service_identifier="LK-BROWSER").exists())
    service = Service.objects.get(service_identifier="LK-BROWSER")
    assert service.attributes["terminations"] == [{"site": sites[0].slug, "vlan": 10, "tagged": True},
                                                  {"site": sites[2].slug, "vlan": 30, "tagged": True}]
