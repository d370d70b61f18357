"""The admin is tenant-scoped: a user of tenant A sees and changes nothing of tenant B, on every admin page.

The world: tenant A with a sub-tenant, tenant B, and shared infrastructure (no tenant). Every model
the admin registers that can carry a tenant has an object in A and one in B; everything of B
carries "zzbeta" in its name (or lies in 198.51.100.0/24), so that a page leaks B if that text is
in it. The walks go over ``admin.site._registry``: a new admin is checked without a new test.
"""

import json
import re
import types

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from catalog_site import access
from catalog_site.models import ObjectChange, ObjectStatus, Webhook, WebhookDelivery
from dcim.models import Device, Interface, Location
from ipam import allocation
from ipam.models import (
    VLAN,
    IPAddress,
    IPAddressPool,
    L2Domain,
    Namespace,
    NumberPool,
    Prefix,
    PrefixPool,
    PrefixPoolResource,
)
from services.models import Approval, GeneratorRun, Provider, ProviderAuthorization, Service
from tenancy.models import Membership, Tenant
from tests.dcim.factories import make_device, make_device_type, make_interface, make_location
from tests.services.factories import dedicated_internet, offer, order_service
from tests.services.generator_fixtures import (
    committed,
    eager_tasks_fixture,  # noqa: F401 - the fixture "eager_tasks"
    inventory_fixture,  # noqa: F401 - the fixture "inventory": the demo inventory
    last_run,
)

pytestmark = pytest.mark.django_db

B_MARKERS = ("zzbeta", "198.51.100.")
ORDER = reverse("admin:services_service_add") + "?service_type=dedicated-internet"


def leaks_b(html: str) -> list[str]:
    return [marker for marker in B_MARKERS if marker in html.lower()]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def tenant_objects(tenant, marker: str, *, site, shared_pool, prefix: str, address: str, vid: int) -> dict:
    """One object of every tenant-carrying model, in ``tenant``, each named with ``marker``."""
    location = make_location("site", parent=site.parent, tenant=tenant, name=f"{marker}-site")
    device = make_device(location=location, name=f"{marker}-device", tenant=tenant)
    namespace = Namespace.objects.create(name=f"{marker}-ns", tenant=tenant)
    l2domain = L2Domain.objects.create(name=f"{marker}-l2", tenant=tenant)
    vlan = VLAN.objects.create(vid=vid, name=f"{marker}-vlan", l2domain=l2domain, tenant=tenant)
    service = order_service(
        service_type=dedicated_internet(), service_identifier=f"DI-{marker.upper()}", tenant=tenant,
        location=location, attributes={"bandwidth": 1000, "ip_package": "small"},
    )
    pools = {
        NumberPool: NumberPool.objects.create(name=f"{marker}-numbers", start=100, end=200, tenant=tenant),
        PrefixPool: PrefixPool.objects.create(name=f"{marker}-prefixes", tenant=tenant, default_prefix_length=28),
        IPAddressPool: IPAddressPool.objects.create(name=f"{marker}-addresses", tenant=tenant),
    }
    allocation.allocate_prefix(pool=shared_pool, identifier=f"DI-{marker.upper()}-LEDGER", data={"tenant": tenant.pk})
    # A status has no tenant: it is seen through its device only (the status list, the device's page).
    ObjectStatus.objects.create(object=device, namespace="monitoring.example.com", source="probe",
                                data={"note": marker})
    webhook = Webhook.objects.create(name=f"{marker}-webhook", payload_url=f"https://{marker}.example.com/hook",
                                     events=["run.failed"], tenant=tenant)
    return {
        Location: location,
        Device: device,
        Interface: make_interface(device, name=f"{marker}-eth0"),
        Namespace: namespace,
        Prefix: Prefix.objects.create(prefix=prefix, tenant=tenant, description=marker),
        IPAddress: IPAddress.objects.create(address=address, tenant=tenant, dns_name=f"{marker}.example.com"),
        L2Domain: l2domain,
        VLAN: vlan,
        Service: service,
        GeneratorRun: GeneratorRun.objects.create(service=service, action="plan", status="succeeded"),
        Approval: Approval.objects.create(service=service, from_status="draft", service_version=1, comment=marker),
        # order_service made the provider that serves the tenant (owned by its root) and its authorization.
        Provider: service.provider,
        ProviderAuthorization: service.provider.authorizations.get(tenant=tenant),
        # The change log: the record of the VLAN's creation carries the VLAN's tenant.
        ObjectChange: ObjectChange.objects.filter(object_type=ContentType.objects.get_for_model(VLAN),
                                                  object_id=vlan.pk).latest("pk"),
        Webhook: webhook,
        WebhookDelivery: WebhookDelivery.objects.create(webhook=webhook, event="run.failed", payload={"note": marker}),
        **pools,
    }


@pytest.fixture
def world(django_user_model):
    """Tenants A (with a sub-tenant) and B, shared infrastructure, users of A and a superuser."""
    country = make_location("country", name="Shared country")
    metro = make_location("metro", parent=country, name="Shared metro")
    site = make_location("site", parent=metro, name="Shared site")
    switch = make_device(location=site, name="shared-switch", device_type=make_device_type())
    Prefix.objects.create(prefix="198.0.0.0/8", status="container", description="shared container")
    container = Prefix.objects.create(prefix="100.64.0.0/16", status="container")
    shared_pool = PrefixPool.objects.create(name="Shared prefixes", default_prefix_length=28)
    PrefixPoolResource.objects.create(pool=shared_pool, prefix=container)

    tenant_a = Tenant.objects.create(name="Zzalpha Corp", slug="zzalpha")
    sub_a = Tenant.objects.create(name="Zzalpha Branch", slug="zzalpha-branch", parent=tenant_a)
    tenant_b = Tenant.objects.create(name="Zzbeta Holdings", slug="zzbeta")
    a = tenant_objects(sub_a, "zzalpha", site=site, shared_pool=shared_pool, prefix="198.18.0.0/24",
                       address="198.18.0.5/24", vid=10)
    b = tenant_objects(tenant_b, "zzbeta", site=site, shared_pool=shared_pool, prefix="198.51.100.0/24",
                       address="198.51.100.77/24", vid=20)
    a[Tenant], b[Tenant] = sub_a, tenant_b

    # Shared objects pointing at B: a visible object must not show B through them.
    make_interface(switch, name="Ethernet5", mode="access", untagged_vlan=b[VLAN])
    IPAddress.objects.create(address="198.18.9.1/24", interface=b[Interface], description="shared address")

    def user(name, **flags):
        return django_user_model.objects.create_user(name, password="pw", is_staff=True, **flags)

    editor, viewer = user("alpha-editor"), user("alpha-viewer")
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    a[Membership] = Membership.objects.create(user=editor, tenant=tenant_a, role="editor")
    Membership.objects.create(user=viewer, tenant=tenant_a, role="viewer")
    b[Membership] = Membership.objects.create(user=user("zzbeta-user"), tenant=tenant_b, role="admin")
    return types.SimpleNamespace(a=a, b=b, tenant_a=tenant_a, sub_a=sub_a, tenant_b=tenant_b, site=site,
                                 switch=switch, shared_pool=shared_pool, editor=editor, viewer=viewer,
                                 superuser=superuser)



def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def test_every_tenant_carrying_admin_model_is_in_the_world(world):
    """The walks below are only as good as the world: a new scoped admin model needs an object here."""
    scoped = {model for model, _ in registered() if access.is_scoped(model)}
    assert scoped == set(world.b), scoped ^ set(world.b)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_changelists_show_a_and_nothing_of_b(world, as_user, role):
    user = getattr(world, role)
    client = as_user(user)
    for model, model_admin in registered():
        response = client.get(url(model, "changelist"))
        assert response.status_code in (200, 403), model
        assert not leaks_b(response.content.decode()), (model, leaks_b(response.content.decode()))
        if not access.is_scoped(model):
            continue
        assert response.status_code == 200, model
        changelist = response.context["cl"]
        shown = {obj.pk for obj in changelist.result_list}
        assert world.a[model].pk in shown, model
        assert world.b[model].pk not in shown, model
        expected = access.for_user(user).restrict(model._default_manager.all())
        assert changelist.result_count == expected.count(), model
        # Searching for B by name finds nothing either.
        if model_admin.search_fields:
            searched = client.get(url(model, "changelist"), {"q": "zzbeta"})
            assert searched.context["cl"].result_count == 0, model


def test_filters_of_b_are_neither_offered_nor_obeyed(world, as_user):
    client = as_user(world.editor)
    for model, filter_, b_value in ((NumberPool, "tenant__id__exact", world.tenant_b.pk),
                                    (Prefix, "namespace__id__exact", world.b[Namespace].pk),
                                    (VLAN, "l2domain__id__exact", world.b[L2Domain].pk),
                                    (Prefix, "parent_prefix", world.b[Prefix].pk)):
        response = client.get(url(model, "changelist"), {filter_: b_value})
        assert response.status_code == 200, model
        assert not leaks_b(response.content.decode()), model
        if filter_ != "parent_prefix":  # an unknown parent is ignored, as a bogus id is
            assert response.context["cl"].result_count == 0, model
    html = client.get(url(NumberPool, "changelist")).content.decode()
    assert "Zzalpha Branch" in html  # the tenant filter offers A's tenants


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_change_pages_of_b_answer_like_missing_objects(world, as_user, role):
    client = as_user(getattr(world, role))
    for model, b_object in world.b.items():
        for view in ("change", "delete", "history"):
            response = client.get(url(model, view, b_object.pk), follow=True)
            missing = client.get(url(model, view, 10**9), follow=True)
            # As for an id that does not exist: redirected to the index ("doesn't exist"), or a 403
            # where the user may delete nothing of the kind at all.
            assert ([hop[1] for hop in response.redirect_chain], response.status_code) == (
                [hop[1] for hop in missing.redirect_chain], missing.status_code), (model, view)
            assert view != "change" or response.redirect_chain[0][1] == 302
            assert not leaks_b(response.content.decode()), (model, view)
        before = {field.attname: getattr(b_object, field.attname) for field in model._meta.concrete_fields}
        tampered = {"name": "taken", "description": "taken"}
        response = client.post(url(model, "change", b_object.pk), tampered)
        assert response.status_code == client.post(url(model, "change", 10**9), tampered).status_code, model
        b_object.refresh_from_db()
        assert {field.attname: getattr(b_object, field.attname) for field in model._meta.concrete_fields} == before


def autocomplete_fields():
    """(source model, field name) of every autocomplete field of every admin and inline."""
    fields = set()
    for model, model_admin in registered():
        fields.update((model, name) for name in model_admin.autocomplete_fields)
        for inline in model_admin.inlines:
            fields.update((inline.model, name) for name in inline.autocomplete_fields)
    return sorted(fields, key=lambda item: (item[0]._meta.label, item[1]))


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_autocomplete_offers_nothing_of_b(world, as_user, role):
    client = as_user(getattr(world, role))
    fields = autocomplete_fields()
    assert (Service, "tenant") in fields and (Device, "location") in fields and (Interface, "device") in fields
    for model, name in fields:
        for term in ("", "zz", "198"):
            response = client.get(reverse("admin:autocomplete"), {
                "app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": name,
                "term": term})
            assert response.status_code in (200, 403), (model, name)
            assert not leaks_b(response.content.decode()), (model, name, term)
            if response.status_code == 200:
                target = model._meta.get_field(name).related_model
                ids = {int(result["id"]) for result in json.loads(response.content)["results"]}
                b_object = world.b.get(target)
                assert b_object is None or b_object.pk not in ids, (model, name)


def test_tenant_choices_need_the_editor_role(world, as_user):
    def tenant_choices(client):
        response = client.get(reverse("admin:autocomplete"), {
            "app_label": "dcim", "model_name": "device", "field_name": "tenant", "term": ""})
        return {result["text"] for result in json.loads(response.content)["results"]}

    assert tenant_choices(as_user(world.editor)) == {"Zzalpha Corp", "Zzalpha Branch"}
    assert tenant_choices(as_user(world.viewer)) == set()
    # A membership needs the admin role: the editor may pick no tenant for one.
    response = as_user(world.editor).get(reverse("admin:autocomplete"), {
        "app_label": "tenancy", "model_name": "membership", "field_name": "tenant", "term": ""})
    assert json.loads(response.content)["results"] == []


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_add_pages_offer_nothing_of_b(world, as_user, role):
    client = as_user(getattr(world, role))
    for model, _ in registered():
        response = client.get(ORDER if model is Service else url(model, "add"))
        assert response.status_code in (200, 403), model
        assert not leaks_b(response.content.decode()), model
        read_only = (GeneratorRun, ObjectChange, WebhookDelivery, Approval)
        if access.is_scoped(model) and model not in read_only and access.write_rank(model) == access.EDITOR:
            assert response.status_code == (200 if role == "editor" else 403), model


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_pages_of_a_and_of_shared_objects_show_nothing_of_b(world, as_user, role):
    client = as_user(getattr(world, role))
    port = Interface.objects.get(device=world.switch, name="Ethernet5")
    pages = [url(model, "change", obj.pk) for model, obj in world.a.items()]
    pages += [url(Interface, "change", port.pk), url(Device, "change", world.switch.pk),
              url(PrefixPool, "change", world.shared_pool.pk),
              url(Prefix, "change", Prefix.objects.get(prefix="198.0.0.0/8").pk),
              url(IPAddress, "change", IPAddress.objects.get(address="198.18.9.1/24").pk)]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert not leaks_b(response.content.decode()), (page, leaks_b(response.content.decode()))
    container = client.get(url(Prefix, "change", Prefix.objects.get(prefix="198.0.0.0/8").pk)).content.decode()
    assert "198.18.0.0/24" in container and "198.18.0.5/24" in container
    ledger = client.get(url(PrefixPool, "change", world.shared_pool.pk)).content.decode()
    assert "DI-ZZALPHA-LEDGER" in ledger


def test_the_viewer_reads_but_cannot_write(world, as_user):
    client = as_user(world.viewer)
    for model, obj in world.a.items():
        response = client.get(url(model, "change", obj.pk))
        assert response.status_code == 200, model
        assert 'name="_save"' not in response.content.decode(), model
        assert client.post(url(model, "change", obj.pk), {"description": "changed"}).status_code == 403, model
        assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403, model
    service = world.a[Service]
    for action in ("transition", "reconcile", "plan"):
        response = client.post(reverse(f"admin:services_service_{action}", args=[service.pk]),
                               {"to": "in-delivery", "version": 1})
        assert response.status_code == 403, action
    assert client.post(reverse("admin:ipam_prefixpool_allocate", args=[world.a[PrefixPool].pk]),
                       {"identifier": "X"}).status_code == 403
    service.refresh_from_db()
    assert service.status == "draft" and not service.generator_runs.exclude(action="plan").exists()


def test_b_services_and_pools_are_not_found_by_the_custom_pages(world, as_user):
    client = as_user(world.editor)
    for action in ("transition", "reconcile", "plan"):
        response = client.post(reverse(f"admin:services_service_{action}", args=[world.b[Service].pk]),
                               {"to": "in-delivery", "version": 1})
        assert response.status_code == 404, action
    response = client.post(reverse("admin:ipam_prefixpool_allocate", args=[world.b[PrefixPool].pk]),
                           {"identifier": "X"})
    assert response.status_code == 404
    # A shared pool is visible, but allocating from it needs the model permission.
    response = client.post(reverse("admin:ipam_prefixpool_allocate", args=[world.shared_pool.pk]),
                           {"identifier": "X"})
    assert response.status_code == 403


def device_form(device, **changes):
    data = {"name": device.name, "location": device.location_id, "role": device.role_id, "status": device.status,
            "device_type": device.device_type_id, "tenant": device.tenant_id or "", "description": "",
            "annotations": "{}", "serial": "",
            "interfaces-TOTAL_FORMS": "0", "interfaces-INITIAL_FORMS": "0"}
    data.update(changes)
    return data


def test_the_editor_writes_in_a_only(world, as_user):
    client = as_user(world.editor)
    device = world.a[Device]
    response = client.post(url(Device, "change", device.pk), device_form(device, description="edited"))
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.description == "edited"

    response = client.post(url(Device, "change", device.pk), device_form(device, tenant=world.tenant_b.pk))
    assert response.status_code == 200
    assert "tenant" in response.context["adminform"].form.errors
    assert not leaks_b(response.content.decode())
    device.refresh_from_db()
    assert device.tenant == world.sub_a

    added = client.post(url(Device, "add"), device_form(device, name="zzalpha-new", tenant=world.tenant_a.pk))
    assert added.status_code == 302
    refused = client.post(url(Device, "add"), device_form(device, name="into-b", tenant=world.tenant_b.pk))
    assert refused.status_code == 200 and "tenant" in refused.context["adminform"].form.errors
    # A shared device (no tenant) needs the model permission, the editor role is not enough.
    shared = client.post(url(Device, "add"), device_form(device, name="shared-new", tenant=""))
    assert shared.status_code == 200
    assert "shared infrastructure" in " ".join(shared.context["adminform"].form.non_field_errors())
    assert not Device.objects.filter(name__in=["into-b", "shared-new"]).exists()

    # Memberships need the admin role.
    assert client.get(url(Membership, "add")).status_code == 403
    assert client.post(url(Membership, "add"), {"user": world.editor.pk, "tenant": world.sub_a.pk,
                                                "role": "admin"}).status_code == 403
    tenant_page = client.get(url(Tenant, "change", world.tenant_a.pk))
    memberships = tenant_page.context["inline_admin_formsets"][0]
    assert not memberships.has_add_permission and not memberships.has_change_permission


def test_a_hidden_relation_is_kept_and_not_shown(world, as_user, django_user_model):
    """An object of A pointing at B: the editor sees the pointer empty, and saving keeps it."""
    device = world.a[Device]
    Device.objects.filter(pk=device.pk).update(location=world.b[Location])
    device.refresh_from_db()
    client = as_user(world.editor)
    page = client.get(url(Device, "change", device.pk))
    assert page.status_code == 200 and not leaks_b(page.content.decode())
    data = device_form(device, description="kept")
    del data["location"]
    assert client.post(url(Device, "change", device.pk), data).status_code == 302
    device.refresh_from_db()
    assert (device.description, device.location) == ("kept", world.b[Location])


def test_delete_page_names_nothing_of_b_and_refuses(world, as_user):
    """Deleting A's L2 domain would meet a VLAN of B in it: the page refuses without naming it."""
    VLAN.objects.create(vid=30, name="zzbeta-vlan-in-a", l2domain=world.a[L2Domain], tenant=world.tenant_b)
    client = as_user(world.editor)
    delete_url = url(L2Domain, "delete", world.a[L2Domain].pk)
    page = client.get(delete_url).content.decode()
    assert "Cannot delete L2 domain" in page and not leaks_b(page)
    client.post(delete_url, {"post": "yes"})
    assert L2Domain.objects.filter(pk=world.a[L2Domain].pk).exists()
    # Without anything of B in the way, the editor deletes A's objects.
    response = client.post(url(IPAddress, "delete", world.a[IPAddress].pk), {"post": "yes"})
    assert response.status_code == 302 and not IPAddress.objects.filter(pk=world.a[IPAddress].pk).exists()


def test_tree_moves_are_checked(world, as_user):
    client = as_user(world.editor)
    changelist = url(Tenant, "changelist")

    def move(node, target, position):
        return client.post(changelist, {"cmd": "move_node", "cut_item": node.pk, "pasted_on": target.pk,
                                        "position": position}).content.decode()

    assert move(world.sub_a, world.tenant_b, "last-child").startswith("FAIL")
    assert move(world.sub_a, world.tenant_a, "left") == "FAIL, no permission."  # to the top level
    world.sub_a.refresh_from_db()
    assert world.sub_a.parent == world.tenant_a
    html = client.get(changelist).content.decode()
    assert "Zzalpha Branch" in html and not leaks_b(html)


def test_catalog_counts_only_visible_services(world, as_user):
    def count(client):
        html = client.get(reverse("admin:services_service_catalog")).content.decode()
        card = html[html.index('data-service-type="dedicated-internet"'):]
        return re.search(r'service-card-count">(\d+) service', card).group(1)

    assert count(as_user(world.superuser)) == "2"
    assert count(as_user(world.editor)) == "1"
    viewer_catalog = as_user(world.viewer).get(reverse("admin:services_service_catalog")).content.decode()
    assert "service-card-order" not in viewer_catalog  # a viewer may not order


def order_form(tenant, site, identifier):
    return {"service_identifier": identifier, "account_reference": "", "tenant": tenant.pk, "location": site.pk,
            "description": "", "attr_bandwidth": "1000", "attr_ip_package": "small",
            "attr_port_type": "1000BASE-T", "attr_monitoring_profile": ""}


def test_the_editor_orders_for_a_sub_tenant_and_not_for_b(world, as_user):
    client = as_user(world.editor)
    catalog = client.get(reverse("admin:services_service_catalog")).content.decode()
    assert "service-card-order" in catalog
    offer(dedicated_internet(), tenant=world.sub_a, location=world.site)
    response = client.post(ORDER, order_form(world.sub_a, world.site, "DI-ORDERED"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    service = Service.objects.get(service_identifier="DI-ORDERED")
    assert (service.tenant, service.status, service.events.get().user) == (world.sub_a, "draft", world.editor)
    assert "DI-ORDERED" in client.get(url(Service, "changelist")).content.decode()

    refused = client.post(ORDER, order_form(world.tenant_b, world.site, "DI-REFUSED"))
    assert refused.status_code == 200
    assert list(refused.context["adminform"].form.errors) == ["tenant"]
    assert not leaks_b(refused.content.decode())
    assert not Service.objects.filter(service_identifier="DI-REFUSED").exists()

    # The editor moves the order on through its lifecycle (the viewer cannot: see above).
    response = client.post(reverse("admin:services_service_transition", args=[service.pk]),
                           {"to": "in-delivery", "version": 1}, follow=True)
    service.refresh_from_db()
    assert service.status == "in-delivery", [str(m) for m in response.context["messages"]]


def test_superuser_sees_everything(world, as_user):
    client = as_user(world.superuser)
    for model, b_object in world.b.items():
        assert client.get(url(model, "change", b_object.pk)).status_code == 200, model
    assert "zzbeta" in client.get(url(Device, "changelist")).content.decode()


def test_tokens_are_listed_to_their_owner_only(world, as_user):
    from django.contrib.auth.models import Permission

    from catalog_site.models import Token

    own, _ = Token.issue(user=world.editor, description="mine")
    Token.issue(user=world.superuser, description="zzbeta root token")
    world.editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_token", "change_token"]))
    client = as_user(world.editor)
    response = client.get(reverse("admin:catalog_site_token_changelist"))
    assert [token.pk for token in response.context["cl"].result_list] == [own.pk]
    assert not leaks_b(response.content.decode())
    page = client.get(reverse("admin:catalog_site_token_change", args=[own.pk])).content.decode()
    assert 'name="user"' not in page  # the owner cannot give a token away


def test_an_ordered_service_is_delivered_for_the_customer(inventory, as_user, django_user_model):
    """On the demo inventory: a customer editor orders and delivers; the generator works from the shared
    pools and ports on the service's behalf, and what it makes is the customer's, unseen by another."""
    acme, globex = Tenant.objects.get(slug="acme"), Tenant.objects.get(slug="globex")
    editor = django_user_model.objects.create_user("acme-editor", password="pw", is_staff=True)
    other = django_user_model.objects.create_user("globex-editor", password="pw", is_staff=True)
    Membership.objects.create(user=editor, tenant=acme, role="editor")
    Membership.objects.create(user=other, tenant=globex, role="editor")
    client = as_user(editor)
    assert client.post(ORDER, order_form(acme, inventory, "DI-ACME-1")).status_code == 302
    service = Service.objects.get(service_identifier="DI-ACME-1")
    with committed():
        client.post(reverse("admin:services_service_transition", args=[service.pk]),
                    {"to": "in-delivery", "version": 1})
    service.refresh_from_db()
    assert service.status == "active", last_run(service).error
    vlan = VLAN.objects.get(name="vlan__DI-ACME-1")
    assert vlan.tenant == acme
    assert "vlan__DI-ACME-1" in client.get(url(VLAN, "changelist")).content.decode()
    client = as_user(other)
    for model in (VLAN, Prefix, Service, GeneratorRun):
        assert "DI-ACME-1" not in client.get(url(model, "changelist")).content.decode(), model
    assert client.get(url(Service, "change", service.pk), follow=True).redirect_chain
