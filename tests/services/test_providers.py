"""Resource providers: availability, authorization, ordering, service accounts and the scope of their runs."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from catalog_site import access
from catalog_site.models import Token
from ipam.models import VLAN, L2Domain, NumberAllocation, NumberPool
from services import providers, runs, services
from services.generators import Generator
from services.models import Provider, ProviderAuthorization, Service, ServiceResource
from tenancy.models import Membership, Tenant

from .factories import dedicated_internet, make_location, make_site, make_tenant

pytestmark = pytest.mark.django_db

PROVIDERS = "/api/services/providers/"
AUTHORIZATIONS = "/api/services/provider-authorizations/"
SERVICES = "/api/services/services/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


def member(tenant, role, name=None):
    user = get_user_model().objects.create_user(name or f"{role}-{tenant.slug}")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


@pytest.fixture
def world():
    """An operator with two customers (one with a sub-tenant), an outsider, a metro with two sites."""
    operator = Tenant.objects.create(name="Operator", slug="operator")
    acme = Tenant.objects.create(name="Acme", slug="acme-p", parent=operator)
    acme_paris = Tenant.objects.create(name="Acme Paris", slug="acme-paris-p", parent=acme)
    globex = Tenant.objects.create(name="Globex", slug="globex-p", parent=operator)
    outsider = Tenant.objects.create(name="Outsider", slug="outsider")
    metro = make_location("metro")
    site_1, site_2 = make_site(parent=metro), make_site(parent=metro)
    provider = Provider.objects.create(name="Operator Internet", slug="operator-internet", owner=operator)
    provider.service_types.add(dedicated_internet())
    return {"operator": operator, "acme": acme, "acme_paris": acme_paris, "globex": globex, "outsider": outsider,
            "metro": metro, "site_1": site_1, "site_2": site_2, "provider": provider}


def order(api, tenant, site, identifier="DI-P1", **extra):
    return api.post(SERVICES, {"service_identifier": identifier, "service_type": "dedicated-internet",
                               "tenant": tenant.pk, "location": site.pk,
                               "attributes": {"bandwidth": 1000, "ip_package": "small"}, **extra}, format="json")


class TestOrdering:
    def test_no_provider_of_the_type(self, api, world):
        world["provider"].service_types.clear()
        response = order(api, world["acme"], world["site_1"])
        assert response.status_code == 400
        assert response.json() == {"service_type": ["No provider fulfils Dedicated Internet: it cannot be ordered."]}

    def test_not_available_here_and_never_inherited_from_the_metro(self, api, world):
        provider = world["provider"]
        provider.available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"])
        provider.available_in.add(world["metro"])  # the metro, not its sites
        response = order(api, world["acme"], world["site_1"])
        assert response.status_code == 400
        assert list(response.json()) == ["location"]
        assert "No provider of Dedicated Internet is available at" in response.json()["location"][0]
        provider.available_in.add(world["site_1"])
        assert order(api, world["acme"], world["site_1"]).status_code == 201
        assert order(api, world["acme"], world["site_2"], "DI-P2").status_code == 400

    def test_not_authorized_by_this_tenant(self, api, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"], world["globex"])
        response = order(api, world["acme"], world["site_1"])
        assert response.status_code == 400 and list(response.json()) == ["tenant"]
        assert response.json()["tenant"][0].startswith("Acme has not authorized a provider of Dedicated Internet")
        ProviderAuthorization.objects.create(provider=provider, tenant=world["globex"])
        assert order(api, world["acme"], world["site_1"]).status_code == 400  # another tenant's consent
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"])
        created = order(api, world["acme"], world["site_1"])
        assert created.status_code == 201
        assert created.json()["provider"]["id"] == provider.pk and created.json()["provider_authorized"] is True
        assert Service.objects.get(service_identifier="DI-P1").provider == provider

    @pytest.mark.parametrize(("scope", "child_may_order"), [("tenant", False), ("subtree", True)])
    def test_scope_of_an_authorization(self, api, world, scope, child_may_order):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope=scope)
        assert order(api, world["acme"], world["site_1"]).status_code == 201
        child = order(api, world["acme_paris"], world["site_1"], "DI-P2")
        assert (child.status_code == 201) is child_may_order, child.json()

    def test_an_authorization_counts_only_while_the_provider_is_available(self, api, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope="subtree")
        provider.available_to.remove(world["acme"])
        assert order(api, world["acme"], world["site_1"]).status_code == 400

    def test_a_provider_asked_for_by_name_and_the_first_by_name_otherwise(self, api, world):
        second = Provider.objects.create(name="Another Internet", slug="another", owner=world["operator"])
        for provider in (world["provider"], second):
            provider.service_types.add(dedicated_internet())
            provider.available_in.add(world["site_1"])
            provider.available_to.add(world["acme"])
            ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"])
        assert order(api, world["acme"], world["site_1"]).json()["provider"]["id"] == second.pk
        chosen = order(api, world["acme"], world["site_1"], "DI-P2", provider=world["provider"].pk)
        assert chosen.json()["provider"]["id"] == world["provider"].pk

    def test_a_move_of_a_draft_needs_a_provider_there_too(self, api, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"])
        service = order(api, world["acme"], world["site_1"]).json()
        moved = api.patch(f"{SERVICES}{service['id']}/", {"version": 1, "location": world["site_2"].pk},
                          format="json")
        assert moved.status_code == 400 and list(moved.json()) == ["location"]
        provider.available_in.add(world["site_2"])
        moved = api.patch(f"{SERVICES}{service['id']}/", {"version": 1, "location": world["site_2"].pk},
                          format="json")
        assert moved.status_code == 200, moved.json()
        changed = api.patch(f"{SERVICES}{service['id']}/", {"version": 2, "provider": None}, format="json")
        assert changed.status_code == 400 and list(changed.json()) == ["provider"]

    def test_the_admin_order_form_gives_the_same_answer(self, admin_client, world):
        data = {"service_identifier": "DI-ADMIN-P", "account_reference": "", "tenant": world["acme"].pk,
                "location": world["site_1"].pk, "description": "", "attr_bandwidth": "1000",
                "attr_ip_package": "small", "attr_port_type": "1000BASE-T", "attr_monitoring_profile": ""}
        response = admin_client.post(reverse("admin:services_service_add") + "?service_type=dedicated-internet",
                                     data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert "is available at" in str(errors["location"])


class TestAvailabilityAndAuthorization:
    def test_the_owner_makes_it_available_to_its_subtree_only(self, world):
        client = client_for(member(world["operator"], "admin"))
        url = f"{PROVIDERS}{world['provider'].pk}/"
        ok = client.patch(url, {"available_to": [world["acme"].pk, world["acme_paris"].pk],
                                "available_in": [world["site_1"].pk]}, format="json")
        assert ok.status_code == 200, ok.json()
        assert {t["id"] for t in ok.json()["available_to"]} == {world["acme"].pk, world["acme_paris"].pk}
        outside = client.patch(url, {"available_to": [world["outsider"].pk]}, format="json")
        assert outside.status_code == 400 and "available_to" in outside.json()  # out of reach

    def test_availability_outside_the_owner_subtree_is_refused_even_for_a_superuser(self, api, world):
        response = api.patch(f"{PROVIDERS}{world['provider'].pk}/", {"available_to": [world["outsider"].pk]},
                             format="json")
        assert response.status_code == 400
        assert response.json()["available_to"] == [
            "A provider is made available to its owner Operator and its sub-tenants only; not to Outsider."]

    def test_an_editor_of_the_owner_cannot_manage_it(self, world):
        client = client_for(member(world["operator"], "editor"))
        response = client.patch(f"{PROVIDERS}{world['provider'].pk}/", {"description": "x"}, format="json")
        assert response.status_code == 403

    def test_only_an_admin_of_the_tenant_authorizes_and_revokes(self, world):
        world["provider"].available_to.add(world["acme"])
        body = {"provider": world["provider"].pk, "tenant": world["acme"].pk, "scope": "subtree"}
        assert client_for(member(world["acme"], "editor")).post(AUTHORIZATIONS, body, format="json").status_code \
            == 403
        assert client_for(member(world["globex"], "admin")).post(AUTHORIZATIONS, body, format="json").status_code \
            == 400  # Acme is not within Globex's reach: "not found"
        admin = client_for(member(world["acme"], "admin"))
        created = admin.post(AUTHORIZATIONS, body, format="json")
        assert created.status_code == 201, created.json()
        moved = admin.patch(f"{AUTHORIZATIONS}{created.json()['id']}/", {"tenant": world["acme_paris"].pk},
                            format="json")
        assert moved.status_code == 400 and "tenant" in moved.json()
        assert admin.delete(f"{AUTHORIZATIONS}{created.json()['id']}/").status_code == 204
        assert not ProviderAuthorization.objects.exists()

    def test_a_tenant_authorizes_only_a_provider_available_to_it(self, world):
        admin = client_for(member(world["acme"], "admin"))
        response = admin.post(AUTHORIZATIONS, {"provider": world["provider"].pk, "tenant": world["acme"].pk},
                              format="json")
        assert response.status_code == 400  # not available to Acme: Acme does not even see it
        world["provider"].available_to.add(world["acme"])
        response = admin.post(AUTHORIZATIONS, {"provider": world["provider"].pk, "tenant": world["acme_paris"].pk},
                              format="json")
        assert response.status_code == 400
        assert response.json() == {"tenant": ["Operator Internet is not available to Acme Paris: its owner has not "
                                              "made it so."]}

    def test_who_sees_a_provider_and_its_authorizations(self, world):
        provider = world["provider"]
        provider.available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope="subtree")
        seen = {name: client_for(member(world[name], "viewer")).get(PROVIDERS).json()["count"]
                for name in ("operator", "acme", "acme_paris", "globex", "outsider")}
        assert seen == {"operator": 1, "acme": 1, "acme_paris": 0, "globex": 0, "outsider": 0}
        owner_view = client_for(get_user_model().objects.get(username="viewer-operator")).get(AUTHORIZATIONS)
        assert owner_view.json()["count"] == 1  # the owner sees who authorized its provider
        assert client_for(get_user_model().objects.get(username="viewer-globex-p")).get(
            AUTHORIZATIONS).json()["count"] == 0

    def test_revoking_stops_new_orders_and_shows_on_existing_services(self, api, admin_client, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"])
        authorization = ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"])
        service = order(api, world["acme"], world["site_1"]).json()
        authorization.delete()
        assert order(api, world["acme"], world["site_1"], "DI-P2").status_code == 400
        read = api.get(f"{SERVICES}{service['id']}/").json()
        assert read["provider"]["id"] == provider.pk and read["provider_authorized"] is False
        assert api.get(SERVICES, {"provider_authorized": "false"}).json()["count"] == 1
        assert api.get(SERVICES, {"provider_authorized": "true"}).json()["count"] == 0
        page = admin_client.get(reverse("admin:services_service_change", args=[service["id"]])).content.decode()
        assert "lost its authorization" in page


class TestServiceAccount:
    def test_created_with_the_provider_without_membership_and_removed_with_it(self, api, world):
        created = api.post(PROVIDERS, {"name": "Fresh", "slug": "fresh", "owner": world["operator"].pk},
                           format="json")
        assert created.status_code == 201, created.json()
        account = get_user_model().objects.get(pk=created.json()["service_account"]["id"])
        assert account.username == "provider-fresh" and not account.has_usable_password()
        assert not account.is_staff and not account.memberships.exists()
        refused = api.post("/api/tenancy/memberships/", {"user": account.pk, "tenant": world["acme"].pk,
                                                        "role": "admin"}, format="json")
        assert refused.status_code == 400 and "user" in refused.json()
        taken = api.post(PROVIDERS, {"name": "Fresh 2", "slug": "fresh", "owner": world["operator"].pk},
                         format="json")
        assert taken.status_code == 400 and "slug" in taken.json()
        assert api.delete(f"{PROVIDERS}{created.json()['id']}/").status_code == 204
        assert not get_user_model().objects.filter(pk=account.pk).exists()

    def test_its_reach_is_the_subtrees_that_authorized_it(self, world):
        provider = world["provider"]
        provider.available_to.add(world["acme"], world["globex"])
        account = access.for_user(provider.service_account)
        assert account.ranks == {}
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope="subtree")
        ProviderAuthorization.objects.create(provider=provider, tenant=world["globex"], scope="tenant")
        child = Tenant.objects.create(name="Globex Labs", slug="globex-labs-p", parent=world["globex"])
        reach = access.for_user(provider.service_account).ranks
        assert reach == {world["acme"].pk: access.EDITOR, world["acme_paris"].pk: access.EDITOR,
                         world["globex"].pk: access.EDITOR}
        assert child.pk not in reach and world["operator"].pk not in reach
        # Through the API with a token of its own, it sees what its reach allows.
        Service.objects.create(service_identifier="DI-SEEN", service_type=dedicated_internet(),
                               tenant=world["acme_paris"], location=world["site_1"])
        Service.objects.create(service_identifier="DI-HIDDEN", service_type=dedicated_internet(),
                               tenant=child, location=world["site_1"])
        listed = client_for(provider.service_account).get(SERVICES).json()
        assert [row["service_identifier"] for row in listed["results"]] == ["DI-SEEN"]

    def test_an_admin_of_the_owner_issues_it_a_token(self, world):
        provider = world["provider"]
        url = f"{PROVIDERS}{provider.pk}/tokens/"
        assert client_for(member(world["operator"], "editor")).post(url, {}, format="json").status_code == 403
        assert client_for(member(world["acme"], "admin")).post(url, {}, format="json").status_code == 404
        issued = client_for(member(world["operator"], "admin")).post(url, {"description": "monitoring"},
                                                                     format="json")
        assert issued.status_code == 201, issued.json()
        assert issued.json()["user"]["id"] == provider.service_account_id and len(issued.json()["key"]) == 40
        assert client_for(provider.service_account).get(SERVICES).status_code == 200
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['key']}")
        assert own.get(PROVIDERS).json()["count"] == 0  # it reaches no tenant until one authorizes it
        bad = client_for(member(world["operator"], "admin", "second-admin")).post(
            url, {"expires": "2000-01-01T00:00:00Z", "colour": 1}, format="json")
        assert bad.status_code == 400 and set(bad.json()) == {"expires", "colour"}

    def test_it_reports_statuses_on_the_services_of_the_tenants_that_authorized_it(self, api, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"], world["globex"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope="subtree")
        ProviderAuthorization.objects.create(provider=provider, tenant=world["globex"])
        mine = order(api, world["acme_paris"], world["site_1"]).json()
        other = Service.objects.create(service_identifier="DI-OTHER", service_type=dedicated_internet(),
                                       tenant=world["outsider"], location=world["site_1"])
        account = client_for(provider.service_account)
        body = {"object_type": "services.service", "namespace": "operator.example.com", "source": "generator",
                "data": {"port": "up"}}
        reported = account.post("/api/core/statuses/", {**body, "object_id": mine["id"]}, format="json")
        assert reported.status_code == 201, reported.json()
        refused = account.post("/api/core/statuses/", {**body, "object_id": other.pk}, format="json")
        assert refused.status_code == 400 and list(refused.json()) == ["object_id"]
        ProviderAuthorization.objects.filter(tenant=world["acme"]).delete()  # revoked: out of its reach
        assert account.get("/api/core/statuses/").json()["count"] == 0

    def test_deleting_a_provider_that_fulfils_services_is_refused(self, api, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"])
        order(api, world["acme"], world["site_1"])
        assert api.delete(f"{PROVIDERS}{provider.pk}/").status_code == 409
        assert Provider.objects.filter(pk=provider.pk).exists()


# -- the scope of a provider's runs ------------------------------------------------------------------

SCRIPTS = {}


class ScriptedGenerator(Generator):
    """Does what the test registered for its service; some scripts misbehave on purpose."""

    def generate(self):
        SCRIPTS[self.identifier](self)


SCRIPTED_TYPE = {"slug": "scripted", "name": "Scripted",
                 "generator": "tests.services.test_providers.ScriptedGenerator",
                 "attributes": [{"name": "size", "kind": "integer", "modifier": "rw+"}]}


@pytest.fixture
def scripted(world):
    service_type = services.service_type_save(definition=SCRIPTED_TYPE)[0]
    provider = world["provider"]
    provider.service_types.add(service_type)
    provider.available_in.add(world["site_1"])
    provider.available_to.add(world["acme"], world["globex"])
    ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope="subtree")
    NumberPool.objects.create(name="Scripted numbers", start=100, end=199)
    return service_type


def scripted_service(service_type, world, script, tenant="acme", identifier="S-1"):
    service = services.service_create(service_type=service_type, service_identifier=identifier,
                                      tenant=world[tenant], location=world["site_1"], attributes={"size": 1})
    Service.objects.filter(pk=service.pk).update(status="active")
    SCRIPTS[identifier] = script
    return service


def reconcile(service):
    return runs.execute_run(runs._new_run(service, "reconcile").pk)


def domain():
    return L2Domain.get_default()


class TestScopedRuns:
    def test_a_run_writes_within_the_authorized_subtree(self, scripted, world):
        def script(generator):
            generator.allocate_number("Scripted numbers", role="number")
            generator.upsert(VLAN, {"l2domain": domain(), "vid": 10}, {"name": "mine", "tenant": world["acme_paris"]},
                             role="vlan")

        service = scripted_service(scripted, world, script)
        run = reconcile(service)
        assert run.status == "succeeded", run.error
        assert VLAN.objects.get(vid=10).tenant == world["acme_paris"]

    @pytest.mark.parametrize("misdeed", ["create", "update", "delete", "bypass_framework"])
    def test_a_generator_touching_another_tenant_fails_and_leaves_nothing(self, scripted, world, misdeed):
        foreign = VLAN.objects.create(l2domain=domain(), vid=20, name="globex-vlan", tenant=world["globex"])

        def script(generator):
            generator.allocate_number("Scripted numbers", role="number")
            generator.upsert(VLAN, {"l2domain": domain(), "vid": 10}, {"name": "mine", "tenant": world["acme"]},
                             role="vlan")
            if misdeed == "create":
                generator.upsert(VLAN, {"l2domain": domain(), "vid": 30}, {"name": "x", "tenant": world["globex"]},
                                 role="other")
            elif misdeed == "update":
                generator.upsert(VLAN, {"l2domain": domain(), "vid": 20}, {"name": "taken over"}, role="other")
            elif misdeed == "delete":
                VLAN.objects.get(pk=foreign.pk).delete()
            else:  # straight through the ORM, around the framework's helpers
                foreign.name = "renamed"
                foreign.save()

        service = scripted_service(scripted, world, script)
        run = reconcile(service)
        assert run.status == "failed"
        assert run.error.startswith("Provider Operator Internet (run of S-1) may not ")
        assert ("VLAN x (30):" if misdeed == "create" else "VLAN globex-vlan (20) (#") in run.error
        assert "belongs to Globex, outside the tenants that authorized Operator Internet" in run.error
        assert set(VLAN.objects.values_list("name", flat=True)) == {"globex-vlan"}
        assert not NumberAllocation.objects.exists() and not ServiceResource.objects.exists()
        assert run.changes == []

    def test_moving_an_object_into_reach_is_refused_too(self, scripted, world):
        foreign = VLAN.objects.create(l2domain=domain(), vid=20, name="globex-vlan", tenant=world["globex"])

        def script(generator):
            generator.upsert(VLAN, {"l2domain": domain(), "vid": 20}, {"tenant": world["acme"]}, role="stolen")

        run = reconcile(scripted_service(scripted, world, script))
        assert run.status == "failed" and "may not change VLAN" in run.error
        foreign.refresh_from_db()
        assert foreign.tenant == world["globex"]

    def test_after_a_revocation_the_service_can_still_be_given_back(self, scripted, world):
        def script(generator):
            generator.upsert(VLAN, {"l2domain": domain(), "vid": 10}, {"name": "mine", "tenant": world["acme"]},
                             role="vlan")

        service = scripted_service(scripted, world, script)
        assert reconcile(service).status == "succeeded"
        ProviderAuthorization.objects.filter(tenant=world["acme"]).delete()
        service.refresh_from_db()
        service = services.service_transition(service=service, to="in-decommissioning", version=service.version)
        run = runs.execute_run(latest_run(service).pk)
        assert run.status == "succeeded", run.error
        assert not VLAN.objects.exists()

    def test_without_a_provider_a_run_stays_within_its_own_tenant(self, scripted, world):
        other = make_tenant()
        foreign = VLAN.objects.create(l2domain=domain(), vid=20, name="other-vlan", tenant=other)
        service = scripted_service(scripted, world, lambda g: g.upsert(
            VLAN, {"l2domain": domain(), "vid": 20}, {"name": "renamed"}, role="vlan"))
        Service.objects.filter(pk=service.pk).update(provider=None)
        service.refresh_from_db()
        run = reconcile(service)
        assert run.status == "failed" and run.error.startswith("The run of S-1 may not change VLAN other-vlan (20)")
        foreign.refresh_from_db()
        assert foreign.name == "other-vlan"

    def test_the_scope_ends_with_the_run(self, scripted, world):
        with providers.run_scope(scripted_service(scripted, world, lambda g: None)), \
                pytest.raises(providers.RunScopeError):
            VLAN.objects.create(l2domain=domain(), vid=40, name="x", tenant=world["globex"])
        VLAN.objects.create(l2domain=domain(), vid=40, name="x", tenant=world["globex"])  # outside a run: allowed


def latest_run(service):
    return service.generator_runs.order_by("-pk").first()


class TestAdmin:
    def test_providers_show_their_availability_authorizations_and_services(self, admin_client, api, world):
        provider = world["provider"]
        provider.available_in.add(world["site_1"])
        provider.available_to.add(world["acme"], world["globex"])
        ProviderAuthorization.objects.create(provider=provider, tenant=world["acme"], scope="subtree")
        service = order(api, world["acme"], world["site_1"]).json()
        listing = admin_client.get(reverse("admin:services_provider_changelist")).content.decode()
        assert "Operator Internet" in listing and "Acme (subtree)" in listing and "Globex" in listing
        page = admin_client.get(reverse("admin:services_provider_change", args=[provider.pk])).content.decode()
        assert "provider-operator-internet" in page and "DI-P1" in page and "Acme" in page
        service_page = admin_client.get(reverse("admin:services_service_change", args=[service["id"]]))
        assert "Operator Internet, authorized by the tenant." in service_page.content.decode()

    def test_the_admin_refuses_availability_outside_the_owner_subtree(self, admin_client, world):
        provider = world["provider"]
        data = {"name": provider.name, "slug": provider.slug, "owner": world["operator"].pk,
                "service_types": [t.pk for t in provider.service_types.all()], "description": "",
                "available_to": [world["outsider"].pk], "available_in": [], "annotations": "{}",
                "finalizers": "[]", "providerauthorization_set-TOTAL_FORMS": "0",
                "authorizations-TOTAL_FORMS": "0", "authorizations-INITIAL_FORMS": "0"}
        response = admin_client.post(reverse("admin:services_provider_change", args=[provider.pk]), data)
        assert response.status_code == 200
        assert "not to Outsider" in str(response.context["adminform"].form.errors["available_to"])
        assert not provider.available_to.exists()

    def test_an_editor_of_another_tenant_sees_neither_provider_nor_authorization(self, client, world):
        world["provider"].available_to.add(world["acme"])
        ProviderAuthorization.objects.create(provider=world["provider"], tenant=world["acme"])
        user = member(world["globex"], "admin")
        user.is_staff = True
        user.save()
        client.force_login(user)
        assert "Operator Internet" not in client.get(reverse("admin:services_provider_changelist")).content.decode()
        assert client.get(reverse("admin:services_provider_change", args=[world["provider"].pk])).status_code \
            in (302, 404)
