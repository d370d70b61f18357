"""Service types as YAML: validation with file/attribute/reason, idempotence, and no stranded services."""

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from services.catalog_loader import CATALOG_DIR, CatalogError, load_catalog
from services.models import Parameter, ServiceType

from .factories import dedicated_internet, make_service

pytestmark = pytest.mark.django_db

BUILTIN = yaml.safe_load((CATALOG_DIR / "dedicated-internet.yaml").read_text())


def write_type(directory: Path, definition: dict, name: str = "type.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(definition, allow_unicode=True))
    return path


def minimal(**changes) -> dict:
    definition = {"slug": "l2-circuit", "name": "L2 circuit", "description": "A layer-2 circuit.", "attributes": [
        {"name": "speed", "kind": "choice", "modifier": "rw+", "required": True, "choices": [100, 1000]},
        {"name": "vlan", "kind": "integer", "min_value": 2, "max_value": 4094},
    ]}
    definition.update(changes)
    return definition


def attributes_of(definition: dict) -> dict:
    return {attribute["name"]: attribute for attribute in definition["attributes"]}


def test_migrate_loaded_the_builtin_type():
    service_type = ServiceType.objects.get(slug="dedicated-internet")
    assert service_type.name == "Dedicated Internet"
    assert service_type.description == "A dedicated physical port with complete internet connectivity."
    attributes = service_type.attribute_map()
    assert list(attributes) == ["bandwidth", "ip_package", "port_type", "monitoring_profile", "documentation"]
    bandwidth = attributes["bandwidth"]
    assert bandwidth["modifier"] == "rw+" and bandwidth["kind"] == "choice"
    assert [(c["value"], c["label"]) for c in bandwidth["choices"]] == [
        (100, "Hundred Megabits"), (1000, "One Gigabit"), (10000, "Ten Gigabits")]
    assert all(c["description"] for c in bandwidth["choices"])
    ip_package = attributes["ip_package"]
    assert ip_package["modifier"] == "rw"
    assert [(c["value"], c["annotations"]["prefix_length"], c["annotations"]["customer_ips"])
            for c in ip_package["choices"]] == [("small", 29, 6), ("medium", 28, 14), ("large", 27, 30)]
    documentation = attributes["documentation"]
    assert (documentation["kind"], documentation["modifier"]) == ("markdown", "r")
    assert documentation["annotations"]["web_presentation"] == "documentation"
    assert documentation["annotations"]["web_title"]
    assert attributes["port_type"]["modifier"] == "rw" and attributes["port_type"]["annotations"][
        "web_suggested_values"]["type"] == "literal"
    # The parameter behind a suggestion list exists (empty) so that it can be filled through the API.
    assert Parameter.objects.filter(name="monitoring-profiles").exists()


def test_loading_twice_changes_nothing():
    dedicated_internet()
    before = ServiceType.objects.get(slug="dedicated-internet").last_updated
    summary = load_catalog()
    assert summary.unchanged == ["dedicated-internet", "l2vpn"] and not summary.created and not summary.updated
    assert ServiceType.objects.get(slug="dedicated-internet").last_updated == before
    assert ServiceType.objects.filter(slug="dedicated-internet").count() == 1


def test_new_file_is_created_then_updated(tmp_path):
    write_type(tmp_path, minimal())
    assert load_catalog(tmp_path).created == ["l2-circuit"]
    write_type(tmp_path, minimal(description="Changed."))
    summary = load_catalog(tmp_path)
    assert summary.updated == ["l2-circuit"]
    assert "dedicated-internet" in summary.not_in_files
    service_type = ServiceType.objects.get(slug="l2-circuit")
    assert service_type.description == "Changed."
    assert service_type.attribute_map()["speed"]["choices"][1]["label"] == "1000"
    assert service_type.attribute_map()["vlan"]["modifier"] == "rw"  # the default modifier


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ({"name": "speed", "kind": "float"}, "attribute 'speed': kind 'float' is not one of"),
        ({"name": "speed", "modifier": "w"}, "attribute 'speed': modifier 'w' is not one of r, rw, rw+"),
        ({"name": "speed", "kind": "choice"}, "attribute 'speed': a choice attribute needs a non-empty list"),
        ({"name": "speed", "kind": "choice", "choices": [1, 1]}, "attribute 'speed': choice 1 is listed twice"),
        ({"name": "speed", "kind": "text", "choices": ["a"]}, "attribute 'speed': only a choice attribute has"),
        ({"name": "speed", "kind": "integer", "default": "fast"}, "attribute 'speed': default: Expected an integer"),
        ({"name": "speed", "kind": "choice", "choices": [1], "default": 2}, "attribute 'speed': default: 2 is not"),
        ({"name": "speed", "modifier": "r", "required": True}, "attribute 'speed': an r attribute is set by the"),
        ({"name": "speed", "colour": "red"}, "attribute 'speed': unknown key(s) ['colour']"),
        ({"name": "Speed"}, "attribute 'Speed': attribute name 'Speed' must be lower case"),
        ({"name": "speed", "annotations": {"web_presentation": "documentation"}},
         "attribute 'speed': a documentation attribute must be of kind markdown"),
        ({"name": "speed", "annotations": {"web_suggested_values": {"type": "literal", "values": [[1]]}}},
         "attribute 'speed': web_suggested_values: [1] must be a plain value"),
        ({"name": "speed", "annotations": {"web_suggested_values": {"type": "parameters"}}},
         "attribute 'speed': web_suggested_values of type parameters needs a parameter_name"),
        ({"name": "speed", "annotations": {"web_suggested_values": ["a"]}},
         "attribute 'speed': web_suggested_values must be"),
    ],
)
def test_malformed_attribute_is_refused_naming_file_attribute_and_reason(tmp_path, attribute, expected):
    path = write_type(tmp_path, minimal(attributes=[attribute]), name="broken.yaml")
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(tmp_path)
    assert str(excinfo.value).startswith(f"{path}: ")
    assert expected in str(excinfo.value)
    assert not ServiceType.objects.filter(slug="l2-circuit").exists()


def test_every_problem_of_a_file_is_reported(tmp_path):
    write_type(tmp_path, minimal(slug="Not a slug", lifecycle="agile", attributes=[
        {"name": "a", "kind": "nope"}, {"name": "b"}, {"name": "b"}]))
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(tmp_path)
    problems = excinfo.value.problems
    assert "slug: must be a slug (letters, digits, dashes, underscores)" in problems
    assert "lifecycle: unknown lifecycle 'agile'" in problems
    assert any(p.startswith("attribute 'a': kind 'nope'") for p in problems)
    assert "attribute 'b': is declared twice" in problems


def test_invalid_yaml_and_wrong_shapes(tmp_path):
    (tmp_path / "bad.yaml").write_text("slug: [unclosed\n")
    with pytest.raises(CatalogError, match=r"bad\.yaml: is not valid YAML"):
        load_catalog(tmp_path)
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    with pytest.raises(CatalogError, match="a service type must be a mapping"):
        load_catalog(tmp_path)
    (tmp_path / "bad.yaml").write_text("slug: x\nname: X\nattributes: {a: 1}\n")
    with pytest.raises(CatalogError, match="attributes: must be a list of attribute definitions"):
        load_catalog(tmp_path)
    with pytest.raises(CatalogError, match="no such file or directory"):
        load_catalog(tmp_path / "missing")


def test_a_bad_file_loads_nothing_at_all(tmp_path):
    write_type(tmp_path, minimal(), name="a-good.yaml")
    write_type(tmp_path, minimal(slug="other", name="Other", attributes=[{"name": "x", "kind": "?"}]),
               name="b-bad.yaml")
    with pytest.raises(CatalogError):
        load_catalog(tmp_path)
    assert not ServiceType.objects.filter(slug__in=["l2-circuit", "other"]).exists()


def test_slug_declared_twice(tmp_path):
    write_type(tmp_path, minimal(), name="a.yaml")
    write_type(tmp_path, minimal(name="Other name"), name="b.yaml")
    with pytest.raises(CatalogError, match="slug 'l2-circuit' is already declared by"):
        load_catalog(tmp_path)


def builtin_with(tmp_path, change) -> Path:
    definition = yaml.safe_load(yaml.safe_dump(BUILTIN))
    change(attributes_of(definition), definition)
    return write_type(tmp_path, definition, name="dedicated-internet.yaml")


def test_removing_an_attribute_in_use_is_refused(tmp_path):
    service = make_service(port_type="1000BASE-T")
    builtin_with(tmp_path, lambda attrs, d: d["attributes"].remove(attrs["port_type"]))
    with pytest.raises(CatalogError) as excinfo:
        load_catalog(tmp_path)
    message = str(excinfo.value)
    assert "dedicated-internet.yaml: attribute port_type: is removed but still set on 1 service(s)" in message
    assert service.service_identifier in message
    assert "port_type" in ServiceType.objects.get(slug="dedicated-internet").attribute_map()


def test_removing_an_unused_attribute_is_accepted(tmp_path):
    make_service()  # no port_type
    builtin_with(tmp_path, lambda attrs, d: d["attributes"].remove(attrs["port_type"]))
    assert load_catalog(tmp_path).updated == ["dedicated-internet"]
    assert "port_type" not in ServiceType.objects.get(slug="dedicated-internet").attribute_map()


def test_dropping_a_choice_in_use_is_refused(tmp_path):
    make_service(bandwidth=10000)
    # The approval rule names 10 Gbps too: it goes with the choice.
    builtin_with(tmp_path, lambda attrs, d: (attrs["bandwidth"]["choices"].pop(), d.pop("requires_approval")))
    with pytest.raises(CatalogError, match=r"attribute bandwidth: no longer accepts the value 10000 of 1 service"):
        load_catalog(tmp_path)
    # An unused choice may go.
    builtin_with(tmp_path, lambda attrs, d: attrs["bandwidth"]["choices"].pop(0))
    assert load_catalog(tmp_path).updated == ["dedicated-internet"]


def test_new_required_attribute_needs_a_default_when_services_exist(tmp_path):
    make_service()
    new = {"name": "sla", "kind": "choice", "required": True, "choices": ["gold", "silver"]}
    builtin_with(tmp_path, lambda attrs, d: d["attributes"].append(dict(new)))
    with pytest.raises(CatalogError, match="attribute sla: is required without a default, and is missing on 1"):
        load_catalog(tmp_path)
    builtin_with(tmp_path, lambda attrs, d: d["attributes"].append(dict(new, default="silver")))
    assert load_catalog(tmp_path).updated == ["dedicated-internet"]


def test_changing_a_kind_in_use_is_refused(tmp_path):
    make_service(port_type="10GBASE-LR")
    builtin_with(tmp_path, lambda attrs, d: attrs["port_type"].update(kind="integer"))
    with pytest.raises(CatalogError, match="attribute port_type: no longer accepts the value '10GBASE-LR'"):
        load_catalog(tmp_path)


def test_command_reports_and_refuses(tmp_path):
    out = StringIO()
    call_command("load_catalog", stdout=out)
    assert "unchanged: dedicated-internet" in out.getvalue()
    write_type(tmp_path, minimal(attributes=[{"name": "speed", "kind": "float"}]), name="broken.yaml")
    with pytest.raises(CommandError, match=r"broken\.yaml: attribute 'speed': kind 'float'"):
        call_command("load_catalog", str(tmp_path), stdout=StringIO())
