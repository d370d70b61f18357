"""Import and export of the inventory from the admin's list pages (``catalog_site.importexport``).

Every inventory model imports from a file (CSV, JSON and YAML each at least once), a file with a bad
row writes nothing and shows the row's errors by column, an export imports back unchanged, and
everything is scoped: another tenant's objects are neither exported, nor found by an import, nor
changed by one; a viewer exports but does not import.
"""

import io
import json
import types

import pytest
import tablib
import yaml
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog_site.importexport import INVENTORY, resource_for
from dcim.models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer
from ipam.models import VLAN, IPAddress, L2Domain, Namespace, Prefix
from tenancy.models import Membership, Tenant
from tests.dcim.factories import make_device, make_device_role, make_interface, make_location

pytestmark = pytest.mark.django_db

FORMATS = {"csv": 0, "json": 1, "yaml": 2}


def url(model, view):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def encode(rows: list[dict], fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(rows).encode()
    if fmt == "yaml":
        return yaml.safe_dump(rows).encode()
    dataset = tablib.Dataset(headers=list(rows[0]))
    for row in rows:
        dataset.append([row.get(header, "") for header in dataset.headers])
    return dataset.export("csv").encode()


def preview(client, model, content: bytes, fmt: str = "csv"):
    upload = SimpleUploadedFile(f"data.{fmt}", content)
    return client.post(url(model, "import"), {"format": FORMATS[fmt], "import_file": upload, "resource": 0})


def confirm(client, model, response):
    form = response.context["confirm_form"]
    return client.post(url(model, "process_import"), {name: form.initial[name] for name in form.initial})


def import_rows(client, model, rows: list[dict], fmt: str = "csv"):
    """Preview, then confirm: the import of ``rows`` as a user does it; the confirmation's response."""
    response = preview(client, model, encode(rows, fmt), fmt)
    assert response.status_code == 200
    assert response.context.get("confirm_form") is not None, row_errors(response)
    return confirm(client, model, response)


def row_errors(response) -> list[tuple[int, str, str]]:
    """(row number, column, message) of every error the preview shows."""
    if "result" not in response.context:
        return [(0, name, str(errors)) for name, errors in response.context["form"].errors.items()]
    result = response.context["result"]
    found = [(row.number, field, str(message)) for row in result.invalid_rows
             for field, messages in row.error_dict.items() for message in messages]
    found += [(number, "", str(error.error)) for number, errors in result.row_errors() for error in errors]
    return found


def export(client, model, fmt: str = "csv", **filters) -> str:
    """The file the export page gives with every column ticked (its default), the list's ``filters`` applied."""
    resource = resource_for(model)
    columns = {f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()}
    query = "?" + "&".join(f"{key}={value}" for key, value in filters.items()) if filters else ""
    response = client.post(url(model, "export") + query, {"format": FORMATS[fmt], "resource": 0, **columns})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment")
    return response.content.decode()


def csv_rows(text: str) -> list[dict]:
    return list(tablib.Dataset().load(io.StringIO(text).read(), format="csv").dict)


@pytest.fixture
def world(django_user_model):
    """Tenant A (with a branch) and tenant B; a shared site; an editor and a viewer of A; a superuser."""
    tenant_a = Tenant.objects.create(name="Alpha", slug="alpha")
    branch = Tenant.objects.create(name="Alpha branch", slug="alpha-branch", parent=tenant_a)
    tenant_b = Tenant.objects.create(name="Beta", slug="beta")
    site = make_location("site", parent=make_location("metro", parent=make_location("country")), name="Shared site")
    site_b = make_location("site", parent=site.parent, tenant=tenant_b, name="Beta site")
    device_a = make_device(location=site, name="alpha-1", tenant=tenant_a)
    device_b = make_device(location=site, name="beta-1", tenant=tenant_b)
    shared = make_device(location=site, name="shared-1")
    staff = {"is_staff": True}
    editor = django_user_model.objects.create_user("editor", password="pw", **staff)
    viewer = django_user_model.objects.create_user("viewer", password="pw", **staff)
    Membership.objects.create(user=editor, tenant=tenant_a, role="editor")
    Membership.objects.create(user=viewer, tenant=tenant_a, role="viewer")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    return types.SimpleNamespace(tenant_a=tenant_a, branch=branch, tenant_b=tenant_b, site=site, site_b=site_b,
                                 device_a=device_a, device_b=device_b, shared=shared, editor=editor,
                                 viewer=viewer, root=root)



# -- every model -----------------------------------------------------------------------------------

def test_every_inventory_model_imports(world, as_user):
    """One import per model, in the order a new network is loaded, the three formats in turn."""
    client = as_user(world.root)
    steps = [
        (Tenant, "csv", [{"slug": "gamma", "name": "Gamma", "parent": ""},
                         {"slug": "gamma-eu", "name": "Gamma EU", "parent": "gamma"}]),
        (Location, "json", [{"slug": "fr", "name": "France", "kind": "country", "parent": "", "tenant": ""},
                            {"slug": "par1", "name": "Paris 1", "kind": "site", "parent": "fr", "tenant": "gamma",
                             "status": "planned"}]),
        (Manufacturer, "yaml", [{"slug": "arista", "name": "Arista"}]),
        (DeviceType, "csv", [{"manufacturer": "arista", "slug": "7050sx", "model": "7050SX", "u_height": "1"}]),
        (DeviceRole, "json", [{"slug": "leaf", "name": "Leaf", "color": "00ff00"}]),
        (Device, "yaml", [{"location": "par1", "name": "leaf-1", "device_type": "7050sx", "role": "leaf",
                           "status": "staged", "tenant": "gamma-eu", "annotations": {"example.com/rack": "R1"}}]),
        (Namespace, "csv", [{"name": "gamma-vrf", "rd": "65000:1", "tenant": "gamma"}]),
        (L2Domain, "json", [{"name": "Gamma fabric", "slug": "gamma-fabric", "tenant": "gamma"}]),
        (VLAN, "yaml", [{"l2domain": "gamma-fabric", "vid": 100, "name": "users", "tenant": "gamma"}]),
        (Interface, "csv", [{"device": "leaf-1", "name": "Ethernet1/1", "type": "10gbase-x-sfpp", "layer": "2",
                             "mode": "tagged", "untagged_vlan": "gamma-fabric/100",
                             "tagged_vlans": "gamma-fabric/100"}]),
        (Prefix, "json", [{"namespace": "gamma-vrf", "prefix": "10.1.0.0/24", "status": "active", "tenant": "gamma",
                           "location": "par1", "vlan": "gamma-fabric/100"}]),
        (IPAddress, "yaml", [{"namespace": "gamma-vrf", "address": "10.1.0.1/24", "device": "leaf-1",
                              "interface": "Ethernet1/1", "tenant": "gamma", "role": "gateway"}]),
    ]
    assert {model._meta.label for model, _, _ in steps} == set(INVENTORY)
    for model, fmt, rows in steps:
        response = import_rows(client, model, rows, fmt)
        assert response.status_code == 302, (model, response.content[:1000])

    assert Tenant.objects.get(slug="gamma-eu").parent.slug == "gamma"
    assert Location.objects.get(slug="par1").parent.slug == "fr"
    device = Device.objects.get(name="leaf-1")
    assert (device.device_type.model, device.role.slug, device.tenant.slug, device.status) == \
        ("7050SX", "leaf", "gamma-eu", "staged")
    assert device.annotations == {"example.com/rack": "R1"}
    interface = Interface.objects.get(device=device, name="Ethernet1/1")
    assert interface.untagged_vlan.vid == 100
    assert [vlan.vid for vlan in interface.tagged_vlans.all()] == [100]
    prefix = Prefix.objects.get(prefix="10.1.0.0/24")
    assert (prefix.namespace.name, prefix.vlan.name, prefix.location.slug) == ("gamma-vrf", "users", "par1")
    assert IPAddress.objects.get(address="10.1.0.1/24").interface == interface


def test_a_row_with_a_known_key_updates_its_object(world, as_user):
    client = as_user(world.root)
    response = import_rows(client, Device, [{"location": world.site.slug, "name": "alpha-1", "status": "offline"}])
    assert response.status_code == 302
    world.device_a.refresh_from_db()
    assert world.device_a.status == "offline"
    assert Device.objects.filter(name="alpha-1").count() == 1


# -- errors: a preview, and nothing written ----------------------------------------------------------

def test_a_bad_row_is_shown_by_column_and_nothing_is_written(world, as_user):
    client = as_user(world.root)
    before = Device.objects.count()
    rows = [{"location": world.site.slug, "name": "good-1", "device_type": "test-model", "role": "core",
             "status": "active"},
            {"location": world.site.slug, "name": "bad-1", "device_type": "nope", "role": "core", "status": "sideways"}]
    response = preview(client, Device, encode(rows, "csv"))
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    errors = row_errors(response)
    assert (2, "device_type", "Not found: no device type 'nope' within your reach.") in errors
    assert any(number == 2 and column == "status" and "sideways" in message for number, column, message in errors)
    assert all(number == 2 for number, _, _ in errors)
    html = response.content.decode()
    assert "Nothing was written" in html and "device_type" in html
    assert Device.objects.count() == before


def test_the_confirmation_is_all_or_nothing(world, as_user):
    """A row taken between the preview and the confirmation fails the import: no row is written."""
    client = as_user(world.root)
    make_device_role(slug="lab-only")
    rows = [{"location": world.site.slug, "name": "new-1", "device_type": "test-model", "role": "core"},
            {"location": world.site.slug, "name": "new-2", "device_type": "test-model", "role": "lab-only"}]
    response = preview(client, Device, encode(rows, "csv"))
    assert response.context["confirm_form"] is not None
    DeviceRole.objects.filter(slug="lab-only").delete()  # meanwhile
    confirmed = confirm(client, Device, response)
    assert confirmed.status_code == 200
    assert "Nothing was imported" in confirmed.content.decode()
    assert not Device.objects.filter(name="new-1").exists()


@pytest.mark.parametrize("cell, problem", [
    ("{not json", "Not valid JSON"),
    ('{"owner": "noc"}', "has no prefix"),
    ('["a list"]', "Expected a JSON object"),
])
def test_annotations_are_json_and_validated(world, as_user, cell, problem):
    client = as_user(world.root)
    response = preview(client, Manufacturer, encode([{"slug": "acme", "name": "Acme", "annotations": cell}], "csv"))
    errors = row_errors(response)
    assert [column for _, column, message in errors if problem in message] == ["annotations"], errors
    assert not Manufacturer.objects.filter(slug="acme").exists()


def test_finalizers_are_checked_like_the_form(world, as_user):
    client = as_user(world.root)
    response = preview(client, Manufacturer, encode([{"slug": "acme", "name": "Acme",
                                                     "finalizers": '["catalog/decommission"]'}], "csv"))
    errors = row_errors(response)
    assert [column for _, column, _ in errors] == ["finalizers"], errors


# -- round trip ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json", "yaml"])
def test_an_export_imports_back_unchanged(world, as_user, fmt):
    client = as_user(world.root)
    vlan = VLAN.objects.create(vid=42, name="v42", l2domain=L2Domain.get_default(), tenant=world.tenant_a)
    interface = make_interface(world.device_a, name="xe-0/0/1", mode="tagged", untagged_vlan=vlan,
                               annotations={"example.com/circuit": "C-1"})
    interface.tagged_vlans.set([vlan])
    world.device_a.annotations = {"example.com/owner": {"team": "noc", "on_call": True}}
    world.device_a.save()
    for model in (Device, Interface, VLAN, Location):
        fields = [name for name in resource_for(model)().fields if name not in ("tagged_vlans", "device")]
        before = list(model.objects.order_by("pk").values_list("pk", *fields))
        exported = export(client, model, fmt)
        response = preview(client, model, exported.encode(), fmt)
        assert response.context.get("confirm_form") is not None, row_errors(response)
        assert {row.import_type for row in response.context["result"].valid_rows()} == {"update"}
        assert confirm(client, model, response).status_code == 302
        assert list(model.objects.order_by("pk").values_list("pk", *fields)) == before, model
    assert list(interface.tagged_vlans.all()) == [vlan]


def test_export_columns_are_natural_keys(world, as_user):
    client = as_user(world.root)
    interface = make_interface(world.device_a, name="eth9")
    IPAddress.objects.create(address="192.0.2.9/24", interface=interface, tenant=world.tenant_a)
    rows = csv_rows(export(client, IPAddress))
    assert rows == [{"namespace": "Global", "address": "192.0.2.9/24", "device": "alpha-1", "interface": "eth9",
                     "status": "active", "role": "", "tenant": "alpha", "dns_name": "", "description": "",
                     "annotations": "{}", "finalizers": "[]"}]


# -- scoping ----------------------------------------------------------------------------------------------

def test_export_holds_only_what_the_viewer_sees(world, as_user):
    for user in (world.editor, world.viewer):
        names = {row["name"] for row in csv_rows(export(as_user(user), Device))}
        assert names == {"alpha-1", "shared-1"}, user


def test_export_follows_the_list_filters(world, as_user):
    names = {row["name"] for row in csv_rows(export(as_user(world.root), Device, q="beta"))}
    assert names == {"beta-1"}


def test_a_relation_to_a_hidden_object_exports_empty_and_is_kept(world, as_user):
    vlan_b = VLAN.objects.create(vid=7, name="beta-vlan", l2domain=L2Domain.get_default(), tenant=world.tenant_b)
    prefix = Prefix.objects.create(prefix="192.0.2.0/24", tenant=world.tenant_a, vlan=vlan_b)
    client = as_user(world.editor)
    exported = export(client, Prefix)
    assert "beta" not in exported
    assert csv_rows(exported)[0]["vlan"] == ""
    response = preview(client, Prefix, exported.encode())
    assert confirm(client, Prefix, response).status_code == 302
    prefix.refresh_from_db()
    assert prefix.vlan == vlan_b


def test_another_tenants_objects_cannot_be_referenced(world, as_user):
    client = as_user(world.editor)
    rows = [{"location": world.site_b.slug, "name": "sneaky", "device_type": "test-model", "role": "core",
             "tenant": "beta"}]
    errors = row_errors(preview(client, Device, encode(rows, "csv")))
    assert (1, "location", f"Not found: no location '{world.site_b.slug}' within your reach.") in errors
    assert (1, "tenant", "Not found: no tenant 'beta' within your reach.") in errors
    assert not Device.objects.filter(name="sneaky").exists()


def test_another_tenants_objects_cannot_be_updated(world, as_user):
    """B's device is not found, so the row would make a new one, which its key already names: refused."""
    client = as_user(world.editor)
    rows = [{"location": world.site.slug, "name": "beta-1", "device_type": "test-model", "role": "core",
             "status": "offline", "tenant": "alpha"}]
    response = preview(client, Device, encode(rows, "csv"))
    assert response.context.get("confirm_form") is None
    assert [column for _, column, _ in row_errors(response)] == ["name"]
    world.device_b.refresh_from_db()
    assert (world.device_b.status, world.device_b.tenant) == ("active", world.tenant_b)


def test_an_update_needs_the_right_to_write_the_object(world, as_user):
    """The shared switch is visible to A's editor, not theirs to change; moving A's device to B is refused."""
    client = as_user(world.editor)
    rows = [{"location": world.site.slug, "name": "shared-1", "status": "offline"}]
    errors = row_errors(preview(client, Device, encode(rows, "csv")))
    assert len(errors) == 1 and "shared infrastructure" in errors[0][2], errors
    world.shared.refresh_from_db()
    assert world.shared.status == "active"


def test_a_new_object_goes_only_where_the_user_may_write(world, as_user):
    client = as_user(world.editor)
    rows = [{"slug": "gamma", "name": "Gamma", "parent": ""}]
    errors = row_errors(preview(client, Tenant, encode(rows, "csv")))
    assert [(number, column) for number, column, _ in errors] == [(1, "__all__")], errors
    assert "You may not add a top-level tenant" in errors[0][2]
    assert not Tenant.objects.filter(slug="gamma").exists()
    response = import_rows(client, Tenant, [{"slug": "alpha-lab", "name": "Alpha lab", "parent": "alpha"}])
    assert response.status_code == 302
    assert Tenant.objects.get(slug="alpha-lab").parent == world.tenant_a


def test_a_viewer_exports_but_does_not_import(world, as_user):
    client = as_user(world.viewer)
    page = client.get(url(Device, "changelist")).content.decode()
    assert url(Device, "export") in page
    assert url(Device, "import") not in page
    assert client.get(url(Device, "import")).status_code == 403
    rows = [{"location": world.site.slug, "name": "alpha-1", "status": "offline"}]
    upload = SimpleUploadedFile("data.csv", encode(rows, "csv"))
    assert client.post(url(Device, "import"), {"format": 0, "import_file": upload}).status_code == 403
    assert client.post(url(Device, "process_import"), {}).status_code == 403


def test_an_editor_sees_both_buttons_on_lists_and_trees(world, as_user):
    client = as_user(world.editor)
    for model in (Device, Location, Tenant):
        page = client.get(url(model, "changelist")).content.decode()
        assert url(model, "import") in page and url(model, "export") in page, model


def test_models_outside_the_inventory_have_no_import_or_export(world, as_user):
    client = as_user(world.root)
    page = client.get(reverse("admin:tenancy_membership_changelist")).content.decode()
    assert "/import/" not in page and "/export/" not in page
    assert client.get("/admin/tenancy/membership/import/").status_code in (302, 404)


def test_export_queries_do_not_grow_with_rows(world, as_user, django_assert_max_num_queries):
    client = as_user(world.editor)
    for n in range(30):
        interface = make_interface(world.device_a, name=f"eth{n}")
        IPAddress.objects.create(address=f"192.0.2.{n + 1}/24", interface=interface, tenant=world.branch)
    Permission.objects.get(codename="view_ipaddress")  # the permission cache is not part of the count
    with django_assert_max_num_queries(12):
        rows = csv_rows(export(client, IPAddress))
    assert len(rows) == 30


def test_the_import_page_says_how_to_write_each_column(world, as_user):
    html = as_user(world.root).get(url(IPAddress, "import")).content.decode()
    assert "How to write each column" in html
    assert "The interface&#x27;s name, among those of the row&#x27;s device." in html
    assert "Names the row&#x27;s object, with namespace and address." in html
    html = as_user(world.root).get(url(Interface, "import")).content.decode()
    assert "The VLAN&#x27;s l2domain slug/vid, separated by commas." in html


def test_a_file_too_long_is_refused_whole(world, as_user, settings):
    settings.MAX_BULK_OBJECTS = 2
    rows = [{"slug": f"maker-{n}", "name": f"Maker {n}"} for n in range(3)]
    response = preview(as_user(world.root), Manufacturer, encode(rows, "csv"))
    assert "A file holds at most 2 rows; this one has 3." in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert response.context.get("confirm_form") is None
    assert not Manufacturer.objects.filter(slug__startswith="maker-").exists()


def test_a_confirmation_posted_twice_or_tampered_is_answered_not_failed(world, as_user):
    client = as_user(world.root)
    rows = [{"slug": "acme", "name": "Acme"}]
    response = preview(client, Manufacturer, encode(rows, "csv"))
    data = dict(response.context["confirm_form"].initial)
    assert client.post(url(Manufacturer, "process_import"), {**data, "format": "7"}).status_code == 302
    assert not Manufacturer.objects.filter(slug="acme").exists()
    assert client.post(url(Manufacturer, "process_import"), data).status_code == 302
    again = client.post(url(Manufacturer, "process_import"), data, follow=True)
    assert "already imported, or has expired" in again.content.decode()
    assert Manufacturer.objects.filter(slug="acme").count() == 1
    gone = client.post(url(Manufacturer, "process_import"), {**data, "import_file_name": "../../etc/passwd"})
    assert gone.status_code == 302
