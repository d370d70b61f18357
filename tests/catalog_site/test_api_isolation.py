"""Tenant isolation of the whole API, route by route.

Two customers: Alpha (a tree four levels deep) and Bravo. Every object of Bravo carries the
marker ``bravoleak`` in a name, a slug or a description. A user of Alpha walks every route the API
has (found from the URL configuration, so a new endpoint is walked without being listed here):
lists, details, detail actions, free-space views, the browsable API, with and without filters
and ``?q=``. Nothing of Bravo may show: no marker in any body, no Bravo id in any list, a 404 for
every Bravo detail. A route over a scoped model with no Bravo object to probe fails the test, so
that a new model cannot slip past it.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from catalog_site import access
from catalog_site.models import ObjectChange, ObjectStatus, Token, Webhook, WebhookDelivery
from dcim.models import Device, Interface, Location
from demo.inventory import load_inventory
from ipam.models import (
    VLAN,
    IPAddress,
    IPAddressPool,
    IPAddressPoolResource,
    L2Domain,
    Namespace,
    NumberPool,
    Prefix,
    PrefixPool,
    PrefixPoolResource,
)
from services import services
from services.models import Approval, GeneratorRun, Provider, ProviderAuthorization, Service
from tenancy.models import Membership, Tenant

from ..dcim.factories import default_device_type, device_role
from ..services.factories import dedicated_internet

MARKER = "bravoleak"
pytestmark = pytest.mark.django_db


def make_world(tag: str, tenant: Tenant) -> dict:
    """One object of every tenant-scoped model, owned by ``tenant``, each carrying ``tag``."""
    site = Location.objects.create(name=f"{tag} site", slug=f"{tag}-site", kind="site", tenant=tenant,
                                   parent=Location.objects.get(slug="par1").parent)
    region = Location.objects.create(name=f"{tag} metro", slug=f"{tag}-metro", kind="metro", tenant=tenant,
                                     parent=Location.objects.get(slug="par1").parent.parent)
    device = Device.objects.create(name=f"{tag}-sw", location=site, role=device_role("core"), tenant=tenant,
                                   device_type=default_device_type())
    interface = Interface.objects.create(device=device, name=f"{tag}-et0", description=tag)
    namespace = Namespace.objects.create(name=f"{tag} vrf", tenant=tenant)
    l2domain = L2Domain.objects.create(name=f"{tag} domain", tenant=tenant)
    vlan = VLAN.objects.create(l2domain=l2domain, vid=10, name=f"{tag}-vlan", tenant=tenant)
    prefix = Prefix.objects.create(prefix="10.99.0.0/16", namespace=namespace, tenant=tenant, description=tag,
                                   status="container")
    address = IPAddress.objects.create(address="10.99.0.1/16", namespace=namespace, tenant=tenant, description=tag)
    number_pool = NumberPool.objects.create(name=f"{tag} numbers", start=1, end=10, tenant=tenant)
    prefix_pool = PrefixPool.objects.create(name=f"{tag} prefixes", namespace=namespace, tenant=tenant,
                                            default_prefix_length=24)
    PrefixPoolResource.objects.create(pool=prefix_pool, prefix=prefix, position=0)
    ip_pool = IPAddressPool.objects.create(name=f"{tag} addresses", tenant=tenant)
    IPAddressPoolResource.objects.create(pool=ip_pool, prefix=prefix, position=0)
    provider = Provider.objects.create(name=f"{tag} provider", slug=f"{tag}-provider", owner=tenant,
                                       description=tag)
    provider.service_types.add(dedicated_internet())
    provider.available_to.add(tenant)
    provider.available_in.add(Location.objects.get(slug="par1"), site)
    authorization = ProviderAuthorization.objects.create(provider=provider, tenant=tenant, scope="subtree")
    service = services.service_create(
        service_type=dedicated_internet(), service_identifier=f"DI-{tag}", tenant=tenant,
        location=Location.objects.get(slug="par1"), attributes={"bandwidth": 1000, "ip_package": "small"},
        description=tag,
    )
    run = GeneratorRun.objects.create(service=service, action=GeneratorRun.Action.PLAN, error=tag)
    approval = Approval.objects.create(service=service, plan_run=run, from_status="draft", service_version=1,
                                       comment=tag)
    # Statuses have no tenant: the walk below checks that another tenant's never show.
    status = ObjectStatus.objects.create(object=device, namespace="monitoring.example.com", source="probe",
                                         data={"note": tag})
    member = get_user_model().objects.create_user(f"{tag}-user")
    membership = Membership.objects.create(user=member, tenant=tenant, role=Membership.Role.VIEWER)
    webhook = Webhook.objects.create(name=f"{tag} webhook", payload_url=f"https://{tag}.example.com/hook",
                                     events=["run.failed"], tenant=tenant)
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="run.failed", payload={"note": tag})
    return {
        Tenant: tenant, Location: site, Device: device, Interface: interface, Namespace: namespace,
        L2Domain: l2domain, VLAN: vlan, Prefix: prefix, IPAddress: address, NumberPool: number_pool,
        PrefixPool: prefix_pool, IPAddressPool: ip_pool, Service: service, GeneratorRun: run, Approval: approval,
        Membership: membership, Provider: provider, ProviderAuthorization: authorization,
        ObjectStatus: status, "region": region, Webhook: webhook, WebhookDelivery: delivery,
        # The change log: the record of the device's creation carries the device's tenant.
        ObjectChange: ObjectChange.objects.filter(object_type__model="device", object_id=device.pk).latest("pk"),
    }


@pytest.fixture
def world(db):
    load_inventory()
    alpha = Tenant.objects.create(name="Alpha", slug="alpha")
    alpha_1 = Tenant.objects.create(name="Alpha 1", slug="alpha-1", parent=alpha)
    alpha_2 = Tenant.objects.create(name="Alpha 2", slug="alpha-2", parent=alpha_1)
    alpha_3 = Tenant.objects.create(name="Alpha 3", slug="alpha-3", parent=alpha_2)  # a great-grandchild
    bravo = Tenant.objects.create(name=f"Bravo {MARKER}", slug=f"bravo-{MARKER}")
    bravo_1 = Tenant.objects.create(name=f"Bravo 1 {MARKER}", slug=f"bravo-1-{MARKER}", parent=bravo)
    return {
        "alpha": alpha, "alpha_3": alpha_3, "bravo": bravo,
        "a": make_world("alphaok", alpha_3), "b": make_world(MARKER, bravo_1),
    }


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.issue(user=user)[1]}")
    return client


def user_with(role: str, tenant: Tenant, name: str | None = None):
    user = get_user_model().objects.create_user(name or f"{role}-of-{tenant.slug}")
    Membership.objects.create(user=user, tenant=tenant, role=role)
    return user


def api_routes():
    """(name, pattern, view class) of every DRF route under /api/, from the URL configuration."""
    found = []

    def walk(patterns, prefix="", namespace=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern) and entry.name:
                cls = getattr(entry.callback, "cls", None)
                route = prefix + str(entry.pattern)
                if cls is not None and route.startswith("api/") and "format" not in route:
                    found.append((f"{namespace}{entry.name}", route, cls, getattr(entry.callback, "actions", None)))

    walk(get_resolver().url_patterns)
    return found


# Routes over a subset of a model's rows probe with an object of that subset: NetBox's regions are the
# countries and metros among the locations (the world's Location is a site).
SUBSET_PROBES = {"dcim-api:region": "region"}


def probe_key(name: str, model):
    """The key of the world's object that a route's probe uses."""
    return SUBSET_PROBES.get(name.rsplit("-", 1)[0], model)


def route_model(cls):
    queryset = getattr(cls, "queryset", None)
    model = getattr(cls, "parent_model", None) or (queryset.model if queryset is not None else None)
    return model


def body_of(response) -> str:
    """The body as text; JSON re-encoded, so that escaped characters cannot hide a marker."""
    content = response.content.decode()
    if response.get("Content-Type", "").startswith("application/json") and content:
        return json.dumps(json.loads(content), ensure_ascii=False)
    return content


class TestEveryRoute:
    """An admin of Alpha (at its root) walks the whole API and meets nothing of Bravo."""

    def test_nothing_of_bravo_on_any_get_route(self, world):
        user = user_with("admin", world["alpha"])
        client = client_for(user)
        a, b = world["a"], world["b"]
        walked, missing = [], []
        for name, route, cls, actions in api_routes():
            model = route_model(cls)
            needs_pk = "pk>" in route
            if actions is not None and "get" not in actions:
                continue
            if model is None or not access.is_scoped(model):
                if not needs_pk:
                    response = client.get(reverse(name))
                    assert response.status_code < 500, (route, response.status_code)
                    assert MARKER not in body_of(response), route
                    walked.append(route)
                continue
            key = probe_key(name, model)
            if key not in b:
                missing.append(f"{route} ({model._meta.label})")
                continue
            if needs_pk:
                hidden = client.get(reverse(name, kwargs={"pk": b[key].pk}))
                assert hidden.status_code == 404, (route, hidden.status_code)
                assert MARKER not in body_of(hidden), route
                seen = client.get(reverse(name, kwargs={"pk": a[key].pk}))
                if hidden.request["REQUEST_METHOD"] == "GET" and seen.status_code != 405:
                    assert seen.status_code == 200, (route, seen.status_code, body_of(seen)[:300])
                    assert MARKER not in body_of(seen), route
            else:
                url = reverse(name)
                for params in ({}, {"q": MARKER}, {"q": "bravo"}, {"tenant_id": world["bravo"].pk},
                               {"limit": 1000}, {"format": "api"}):
                    response = client.get(url, params)
                    assert response.status_code in (200, 400), (route, params, response.status_code)
                    assert MARKER not in body_of(response), (route, params)
                    if response.status_code == 200 and params.get("format") != "api":
                        ids = {row["id"] for row in response.json()["results"]}
                        assert b[key].pk not in ids, (route, params)
                        filterset = getattr(cls, "filterset_class", None)
                        if "tenant_id" in params and filterset and "tenant_id" in filterset.base_filters:
                            assert response.json()["count"] == 0, (route, params)
                listed = client.get(url, {"limit": 1000}).json()
                assert a[key].pk in {row["id"] for row in listed["results"]}, route
            walked.append(route)
        assert not missing, f"routes over scoped models with no Bravo object to probe: {missing}"
        assert len(walked) > 30

    def test_counts_never_include_bravo(self, world):
        client = client_for(user_with("viewer", world["alpha"]))
        response = client.get("/api/services/service-types/")
        entry = next(row for row in response.json()["results"] if row["slug"] == "dedicated-internet")
        assert entry["service_count"] == Service.objects.filter(tenant__slug__startswith="alpha").count()
        services_seen = client.get("/api/services/services/").json()
        assert services_seen["count"] == 1

    def test_a_user_without_membership_sees_only_shared_objects(self, world):
        client = client_for(get_user_model().objects.create_user("nobody"))
        assert client.get("/api/tenancy/tenants/").json()["count"] == 0
        assert client.get("/api/services/services/").json()["count"] == 0
        devices = client.get("/api/dcim/devices/", {"limit": 1000}).json()
        assert devices["count"] == Device.objects.filter(tenant__isnull=True).count() > 0
        assert client.get("/api/dcim/manufacturers/").json()["count"] > 0  # shared: readable by all

    def test_inherited_access_reaches_a_great_grandchild(self, world):
        client = client_for(user_with("viewer", world["alpha"]))
        response = client.get(f"/api/services/services/{world['a'][Service].pk}/")
        assert response.status_code == 200
        assert response.json()["tenant"]["id"] == world["alpha_3"].pk
        tenants = {row["slug"] for row in client.get("/api/tenancy/tenants/").json()["results"]}
        assert tenants == {"alpha", "alpha-1", "alpha-2", "alpha-3"}

    def test_a_membership_low_in_the_tree_does_not_reach_up(self, world):
        client = client_for(user_with("admin", world["alpha_3"]))
        tenants = {row["slug"] for row in client.get("/api/tenancy/tenants/").json()["results"]}
        assert tenants == {"alpha-3"}

    def test_superuser_sees_everything(self, world, api):
        assert api.get("/api/tenancy/tenants/", {"limit": 1000}).json()["count"] == Tenant.objects.count()
        assert api.get(f"/api/services/services/{world['b'][Service].pk}/").status_code == 200


class TestSharedContainers:
    """Bravo's prefixes and addresses inside a shared container stay hidden in the container's listings."""

    def test_child_listings_of_a_shared_prefix(self, world):
        container = Prefix.objects.get(prefix="100.64.0.0/16", tenant__isnull=True)
        Prefix.objects.create(prefix="100.64.99.0/24", tenant=world["bravo"], description=MARKER)
        IPAddress.objects.create(address="100.64.99.1/24", tenant=world["bravo"], description=MARKER)
        Prefix.objects.create(prefix="100.64.98.0/24", tenant=world["alpha_3"], description="alphaok")
        client = client_for(user_with("viewer", world["alpha"]))
        for action, expected in (("child-prefixes", {"100.64.98.0/24"}), ("child-ip-addresses", set())):
            response = client.get(f"/api/ipam/prefixes/{container.pk}/{action}/")
            assert response.status_code == 200
            assert MARKER not in response.content.decode()
            assert {row.get("prefix", row.get("address")) for row in response.json()["results"]} == expected
            assert response.json()["count"] == len(expected)


class TestNestedObjects:
    """A visible object that points at a hidden one shows ``null`` (or leaves it out of a list)."""

    def test_a_shared_interface_hides_a_hidden_vlan(self, world):
        port = Interface.objects.filter(device__tenant__isnull=True, role="customer").first()
        port.mode, port.untagged_vlan = "tagged", world["b"][VLAN]
        port.save()
        port.tagged_vlans.set([world["b"][VLAN], world["a"][VLAN]])
        client = client_for(user_with("viewer", world["alpha"]))
        response = client.get(f"/api/dcim/interfaces/{port.pk}/")
        assert response.status_code == 200
        assert response.json()["untagged_vlan"] is None
        assert [vlan["id"] for vlan in response.json()["tagged_vlans"]] == [world["a"][VLAN].pk]
        assert MARKER not in response.content.decode()


class TestWrites:
    """Roles: viewer reads, editor writes in reach, admin manages memberships; nothing out of reach."""

    def device_payload(self, world, tenant):
        return {"name": "new-sw", "location": world["a"][Location].pk, "role": device_role("core").pk,
                "device_type": default_device_type().pk, "tenant": tenant.pk}

    @pytest.mark.parametrize("role, status", [("viewer", 403), ("editor", 201), ("admin", 201)])
    def test_create_in_own_tenant(self, world, role, status):
        client = client_for(user_with(role, world["alpha"]))
        response = client.post("/api/dcim/devices/", self.device_payload(world, world["alpha_3"]), format="json")
        assert response.status_code == status, response.json()
        assert Device.objects.filter(name="new-sw").exists() == (status == 201)

    def test_create_in_a_foreign_tenant_is_a_400_naming_the_field(self, world):
        client = client_for(user_with("admin", world["alpha"]))
        response = client.post("/api/dcim/devices/", self.device_payload(world, world["bravo"]), format="json")
        assert response.status_code == 400
        assert "tenant" in response.json()
        assert MARKER not in response.content.decode()
        assert not Device.objects.filter(name="new-sw").exists()

    def test_a_bulk_create_with_one_foreign_item_writes_nothing(self, world):
        client = client_for(user_with("editor", world["alpha"]))
        payload = [self.device_payload(world, world["alpha"]), {**self.device_payload(world, world["bravo"]),
                                                                "name": "other-sw"}]
        response = client.post("/api/dcim/devices/", payload, format="json")
        assert response.status_code == 400
        assert "tenant" in response.json()["1"]
        assert not Device.objects.filter(name__in=["new-sw", "other-sw"]).exists()

    def test_move_into_a_foreign_tenant_is_refused(self, world):
        client = client_for(user_with("editor", world["alpha"]))
        device = world["a"][Device]
        response = client.patch(f"/api/dcim/devices/{device.pk}/", {"tenant": world["bravo"].pk}, format="json")
        assert response.status_code == 400
        assert "tenant" in response.json()
        device.refresh_from_db()
        assert device.tenant == world["alpha_3"]

    def test_a_hidden_object_cannot_be_changed_or_deleted(self, world):
        client = client_for(user_with("admin", world["alpha"]))
        device = world["b"][Device]
        assert client.patch(f"/api/dcim/devices/{device.pk}/", {"name": "x"}, format="json").status_code == 404
        assert client.delete(f"/api/dcim/devices/{device.pk}/").status_code == 404
        assert Device.objects.filter(pk=device.pk, name=device.name).exists()

    def test_shared_objects_need_the_model_permission(self, world):
        from django.contrib.auth.models import Permission

        user = user_with("admin", world["alpha"])
        client = client_for(user)
        shared = Device.objects.filter(tenant__isnull=True).first()
        assert client.patch(f"/api/dcim/devices/{shared.pk}/", {"serial": "X1"}, format="json").status_code == 403
        user.user_permissions.add(Permission.objects.get(codename="change_device"))
        assert client.patch(f"/api/dcim/devices/{shared.pk}/", {"serial": "X1"}, format="json").status_code == 200

    def test_a_refused_deletion_names_only_visible_dependents(self, world):
        from django.contrib.auth.models import Permission

        user = user_with("admin", world["alpha"])
        user.user_permissions.add(Permission.objects.get(codename="delete_location"))
        site = Location.objects.get(slug="par1")  # shared; both customers' services stand there
        response = client_for(user).delete(f"/api/dcim/locations/{site.pk}/")
        assert response.status_code == 409
        assert "DI-alphaok" in response.json()["dependent_objects"]
        assert MARKER not in response.content.decode()
        assert Location.objects.filter(pk=site.pk).exists()

    def test_an_editor_cannot_grant_memberships_an_admin_can(self, world):
        newcomer = get_user_model().objects.create_user("newcomer")
        payload = {"user": newcomer.pk, "tenant": world["alpha_3"].pk, "role": "viewer"}
        editor = client_for(user_with("editor", world["alpha"], "alpha-editor"))
        assert editor.post("/api/tenancy/memberships/", payload, format="json").status_code == 403
        admin = client_for(user_with("admin", world["alpha"], "alpha-admin"))
        assert admin.post("/api/tenancy/memberships/", payload, format="json").status_code == 201
        foreign = {**payload, "tenant": world["bravo"].pk}
        response = admin.post("/api/tenancy/memberships/", foreign, format="json")
        assert response.status_code == 400 and "tenant" in response.json()
        assert not Membership.objects.filter(user=newcomer, tenant=world["bravo"]).exists()

    def test_tenants_in_reach_can_be_made_and_not_moved_out(self, world):
        client = client_for(user_with("editor", world["alpha"]))
        made = client.post("/api/tenancy/tenants/", {"name": "Alpha 4", "slug": "alpha-4",
                                                     "parent": world["alpha_3"].pk}, format="json")
        assert made.status_code == 201, made.json()
        moved = client.patch(f"/api/tenancy/tenants/{made.json()['id']}/", {"parent": world["bravo"].pk},
                             format="json")
        assert moved.status_code == 400 and "parent" in moved.json()
        root = client.post("/api/tenancy/tenants/", {"name": "Root", "slug": "root"}, format="json")
        assert root.status_code == 403
        # The tenant a membership sits on cannot be deleted from below it.
        assert client.delete(f"/api/tenancy/tenants/{world['alpha'].pk}/").status_code == 403

    def test_an_editor_orders_and_decommissions_a_service(self, world):
        client = client_for(user_with("editor", world["alpha"]))
        payload = {"service_identifier": "DI-ALPHA-2", "service_type": "dedicated-internet",
                   "tenant": world["alpha_3"].pk, "location": Location.objects.get(slug="par1").pk,
                   "attributes": {"bandwidth": 1000, "ip_package": "small"}}
        response = client.post("/api/services/services/", payload, format="json")
        assert response.status_code == 201, response.json()
        foreign = client.post("/api/services/services/", {**payload, "service_identifier": "DI-X",
                                                          "tenant": world["bravo"].pk}, format="json")
        assert foreign.status_code == 400 and "tenant" in foreign.json()
        service = response.json()
        deleted = client.delete(f"/api/services/services/{service['id']}/")
        assert deleted.status_code == 204

    def test_pool_ledgers_show_only_visible_allocations(self, world):
        from ipam import allocation

        pool = PrefixPool.objects.get(name="Customer prefixes pool")
        allocation.allocate_prefix(pool=pool, identifier="alpha-1", prefix_length=29,
                                   data={"tenant": world["alpha_3"].pk})
        allocation.allocate_prefix(pool=pool, identifier=f"{MARKER}-1", prefix_length=29,
                                   data={"tenant": world["bravo"].pk})
        client = client_for(user_with("viewer", world["alpha"]))
        response = client.get(f"/api/ipam/prefix-pools/{pool.pk}/allocations/")
        assert response.status_code == 200
        assert [row["identifier"] for row in response.json()["results"]] == ["alpha-1"]
        assert MARKER not in response.content.decode()


class TestQueryCounts:
    """The access check reads the caller's rights once per request, however many rows are listed."""

    @pytest.mark.parametrize("url", ["/api/dcim/devices/", "/api/ipam/prefixes/", "/api/services/services/",
                                     "/api/dcim/interfaces/", "/api/tenancy/tenants/"])
    def test_one_rights_query_per_request_and_flat(self, world, url, django_assert_max_num_queries):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = client_for(user_with("viewer", world["alpha"]))
        client.get(url)  # warm-up (token bookkeeping)
        with CaptureQueriesContext(connection) as few:
            assert client.get(url).status_code == 200
        for n in range(5):
            make_world(f"alphamore{n}", world["alpha_3"]) if url != "/api/tenancy/tenants/" else \
                Tenant.objects.create(name=f"Alpha x{n}", slug=f"alpha-x{n}", parent=world["alpha_3"])
        with CaptureQueriesContext(connection) as many:
            assert client.get(url).status_code == 200
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
        rights = [q for q in few.captured_queries if "tenancy_membership" in q["sql"]]
        assert len(rights) == 1, [q["sql"] for q in few.captured_queries]


def test_a_write_is_checked_against_what_the_object_pointed_at_before(world):
    """Moving bravo's interface onto alpha's device needs the editor role on bravo too, not only on alpha.

    (The stored object must not see the new relation: a serializer's trial copy once shared its cache.)
    """
    user = user_with("editor", world["alpha"], name="alpha-editor-bravo-viewer")
    Membership.objects.create(user=user, tenant=world["bravo"], role=Membership.Role.VIEWER)
    interface = world["b"][Interface]
    response = client_for(user).patch(f"/api/dcim/interfaces/{interface.pk}/",
                                      {"device": world["a"][Device].pk}, format="json")
    assert response.status_code == 403, response.json()
    interface.refresh_from_db()
    assert interface.device == world["b"][Device]
