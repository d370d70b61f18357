"""The shape of a service type definition and of attribute values.

A definition (from a YAML file or the API) is checked and normalised here, with errors that name
the attribute and the reason. ``clean_value`` checks one attribute value against its definition;
the service layer uses it for every write, whoever makes it.
"""

import re

from django.core.validators import slug_re

from .lifecycle import LIFECYCLES

KINDS = ("text", "integer", "boolean", "choice", "markdown")
MODIFIERS = ("r", "rw", "rw+")
PRESENTATIONS = ("documentation",)
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DOTTED_PATH_RE = re.compile(r"^([A-Za-z_]\w*)(\.[A-Za-z_]\w*)+$")

TYPE_KEYS = {"slug", "name", "description", "icon", "lifecycle", "generator", "attributes", "annotations",
             "requires_approval"}
ATTRIBUTE_KEYS = {"name", "label", "kind", "description", "modifier", "required", "default", "choices",
                  "annotations", "min_value", "max_value"}
CHOICE_KEYS = {"value", "label", "description", "colour", "annotations"}
SCALARS = (str, int, float, bool)


class DefinitionError(Exception):
    """One problem of a definition: the field of the type, the attribute (if any), the reason."""

    def __init__(self, reason: str, *, field: str = "attributes", attribute: str | None = None):
        self.reason, self.field, self.attribute = reason, field, attribute
        super().__init__(reason)

    def __str__(self):
        where = f"attribute {self.attribute!r}: " if self.attribute else f"{self.field}: "
        return where + self.reason


class DefinitionErrors(Exception):
    """Every problem found in one definition."""

    def __init__(self, errors: list[DefinitionError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))

    def by_field(self) -> dict[str, list[str]]:
        """Field-keyed messages (``{"attributes": ["bandwidth: ..."]}``) for a ValidationError."""
        result: dict[str, list[str]] = {}
        for error in self.errors:
            message = f"{error.attribute}: {error.reason}" if error.attribute else error.reason
            result.setdefault(error.field, []).append(message)
        return result


def _is_scalar(value) -> bool:
    return isinstance(value, SCALARS) and value is not None


def normalise_suggestion_values(values) -> list[dict]:
    """Suggested values as ``[{"value", "label"}]``; items are plain scalars or ``{label, value}``."""
    if not isinstance(values, list):
        raise DefinitionError("must be a list of values or {label, value} objects")
    items = []
    for value in values:
        if isinstance(value, dict):
            if set(value) - {"label", "value"} or "value" not in value or not _is_scalar(value["value"]):
                raise DefinitionError(f"{value!r} must be a plain value or an object with 'value' and 'label'")
            items.append({"value": value["value"], "label": str(value.get("label") or value["value"])})
        elif _is_scalar(value):
            items.append({"value": value, "label": str(value)})
        else:
            raise DefinitionError(f"{value!r} must be a plain value or an object with 'value' and 'label'")
    return items


def _check_suggestions(spec, attribute: str) -> dict:
    if not isinstance(spec, dict) or spec.get("type") not in ("literal", "parameters"):
        raise DefinitionError("web_suggested_values must be {type: literal, values: [...]} or "
                              "{type: parameters, parameter_name: NAME}", attribute=attribute)
    if spec["type"] == "literal":
        if set(spec) != {"type", "values"}:
            raise DefinitionError("web_suggested_values of type literal takes only 'values'", attribute=attribute)
        try:
            normalise_suggestion_values(spec["values"])
        except DefinitionError as exc:
            raise DefinitionError(f"web_suggested_values: {exc.reason}", attribute=attribute) from exc
    else:
        name = spec.get("parameter_name")
        if set(spec) != {"type", "parameter_name"} or not isinstance(name, str) or not slug_re.match(name):
            raise DefinitionError("web_suggested_values of type parameters needs a parameter_name (a slug)",
                                  attribute=attribute)
    return spec


def clean_value(attribute: dict, value):
    """``value`` checked and normalised against ``attribute``'s kind and choices.

    ``None`` (and an empty string) means "not set". Raises ``ValueError`` with a message that does
    not repeat the attribute's name (callers key it by name).
    """
    if value is None or value == "":
        return None
    kind = attribute["kind"]
    if kind in ("text", "markdown"):
        if not isinstance(value, str):
            raise ValueError(f"Expected text, got {type(value).__name__}.")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"Expected true or false, got {value!r}.")
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Expected an integer, got {value!r}.")
        if attribute.get("min_value") is not None and value < attribute["min_value"]:
            raise ValueError(f"Must be at least {attribute['min_value']}.")
        if attribute.get("max_value") is not None and value > attribute["max_value"]:
            raise ValueError(f"Must be at most {attribute['max_value']}.")
        return value
    # A choice matches on its text, so that "1000" from a form selects the choice 1000.
    if _is_scalar(value):
        for choice in attribute["choices"]:
            if str(choice["value"]) == str(value):
                return choice["value"]
    options = ", ".join(f"{choice['value']} ({choice['label']})" for choice in attribute["choices"])
    raise ValueError(f"{value!r} is not one of the choices: {options}.")


def _normalise_choices(raw, name: str) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise DefinitionError("a choice attribute needs a non-empty list of choices", attribute=name)
    choices, seen = [], set()
    for item in raw:
        item = item if isinstance(item, dict) else {"value": item}
        unknown = set(item) - CHOICE_KEYS
        if unknown:
            raise DefinitionError(f"unknown key(s) {sorted(unknown)} in a choice", attribute=name)
        value = item.get("value")
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            raise DefinitionError(f"choice value {value!r} must be a non-empty text or an integer", attribute=name)
        if str(value) in seen:
            raise DefinitionError(f"choice {value!r} is listed twice", attribute=name)
        seen.add(str(value))
        annotations = item.get("annotations", {})
        if not isinstance(annotations, dict):
            raise DefinitionError(f"annotations of choice {value!r} must be a mapping", attribute=name)
        choices.append({
            "value": value,
            "label": str(item.get("label") or value),
            "description": str(item.get("description") or ""),
            "colour": str(item.get("colour") or ""),
            "annotations": annotations,
        })
    return choices


def _text(raw: dict, key: str, name: str, default: str = "") -> str:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise DefinitionError(f"{key} must be text", attribute=name)
    return value


def normalise_attribute(raw) -> dict:
    """One attribute definition, checked and with every key present."""
    if not isinstance(raw, dict):
        raise DefinitionError(f"each attribute must be a mapping, not {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DefinitionError(f"attribute name {name!r} must be lower case letters, digits and underscores",
                              attribute=str(name) if name else None)
    unknown = set(raw) - ATTRIBUTE_KEYS
    if unknown:
        raise DefinitionError(f"unknown key(s) {sorted(unknown)}", attribute=name)
    kind = raw.get("kind", "text")
    if kind not in KINDS:
        raise DefinitionError(f"kind {kind!r} is not one of {', '.join(KINDS)}", attribute=name)
    modifier = raw.get("modifier", "rw")
    if modifier not in MODIFIERS:
        raise DefinitionError(f"modifier {modifier!r} is not one of r, rw, rw+", attribute=name)
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise DefinitionError("required must be true or false", attribute=name)
    if required and modifier == "r":
        raise DefinitionError("an r attribute is set by the generator, so it cannot be required", attribute=name)
    annotations = raw.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(key, str) for key in annotations):
        raise DefinitionError("annotations must be a mapping with text keys", attribute=name)
    if "web_suggested_values" in annotations:
        _check_suggestions(annotations["web_suggested_values"], name)
    presentation = annotations.get("web_presentation")
    if presentation is not None and presentation not in PRESENTATIONS:
        raise DefinitionError(f"web_presentation {presentation!r} is not one of {', '.join(PRESENTATIONS)}",
                              attribute=name)
    if presentation == "documentation" and kind != "markdown":
        raise DefinitionError("a documentation attribute must be of kind markdown", attribute=name)
    attribute = {
        "name": name,
        "label": _text(raw, "label", name) or name.replace("_", " ").capitalize(),
        "kind": kind,
        "description": _text(raw, "description", name),
        "modifier": modifier,
        "required": required,
        "default": None,
        "choices": _normalise_choices(raw.get("choices"), name) if kind == "choice" else [],
        "annotations": annotations,
    }
    if kind != "choice" and raw.get("choices"):
        raise DefinitionError("only a choice attribute has choices", attribute=name)
    for bound in ("min_value", "max_value"):
        if raw.get(bound) is not None:
            if kind != "integer" or isinstance(raw[bound], bool) or not isinstance(raw[bound], int):
                raise DefinitionError(f"{bound} must be an integer, on an integer attribute", attribute=name)
            attribute[bound] = raw[bound]
    if raw.get("default") is not None:
        try:
            attribute["default"] = clean_value(attribute, raw["default"])
        except ValueError as exc:
            raise DefinitionError(f"default: {exc}", attribute=name) from exc
    return attribute


def normalise_type_definition(raw) -> dict:
    """A service type definition, checked and normalised; raises ``DefinitionErrors`` listing every problem."""
    if not isinstance(raw, dict):
        raise DefinitionErrors([DefinitionError("a service type must be a mapping", field="non_field_errors")])
    errors: list[DefinitionError] = []
    unknown = set(raw) - TYPE_KEYS
    if unknown:
        errors.append(DefinitionError(f"unknown key(s) {sorted(unknown)}", field="non_field_errors"))
    definition = {}
    for key, limit in (("slug", 100), ("name", 100), ("description", 200), ("icon", 50), ("generator", 200)):
        value = raw.get(key) or ""
        if not isinstance(value, str):
            errors.append(DefinitionError("must be text", field=key))
        elif len(value) > limit:
            errors.append(DefinitionError(f"must be at most {limit} characters", field=key))
        definition[key] = value if isinstance(value, str) else ""
    for key in ("slug", "name"):
        if not definition[key] and not any(error.field == key for error in errors):
            errors.append(DefinitionError("is required", field=key))
    if definition["slug"] and not slug_re.match(definition["slug"]):
        errors.append(DefinitionError("must be a slug (letters, digits, dashes, underscores)", field="slug"))
    if definition["generator"] and not DOTTED_PATH_RE.match(definition["generator"]):
        errors.append(DefinitionError("must be a dotted Python path (package.module.Class)", field="generator"))
    definition["lifecycle"] = raw.get("lifecycle") or "default"
    if definition["lifecycle"] not in LIFECYCLES:
        errors.append(DefinitionError(f"unknown lifecycle {definition['lifecycle']!r}", field="lifecycle"))
    annotations = raw.get("annotations") or {}
    if not isinstance(annotations, dict):
        errors.append(DefinitionError("must be a mapping", field="annotations"))
    definition["annotations"] = annotations if isinstance(annotations, dict) else {}
    attributes, names = [], set()
    raw_attributes = raw.get("attributes") or []
    if not isinstance(raw_attributes, list):
        errors.append(DefinitionError("must be a list of attribute definitions"))
        raw_attributes = []
    for item in raw_attributes:
        try:
            attribute = normalise_attribute(item)
        except DefinitionError as exc:
            errors.append(exc)
            continue
        if attribute["name"] in names:
            errors.append(DefinitionError("is declared twice", attribute=attribute["name"]))
            continue
        names.add(attribute["name"])
        attributes.append(attribute)
    definition["attributes"] = attributes
    try:
        definition["requires_approval"] = normalise_approval_rule(raw.get("requires_approval", False), attributes)
    except DefinitionError as exc:
        errors.append(exc)
    if errors:
        raise DefinitionErrors(errors)
    return definition


def normalise_approval_rule(raw, attributes: list[dict]):
    """``requires_approval`` checked: ``true``/``false``, or ``{"when": {attribute: [values]}}``.

    A rule names attributes of the type and values they can take (a choice's values): an order
    with any one of them needs an approval. A rule that could never match is refused, so that a
    typo does not silently let 10 Gbps orders through.
    """
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    shape = 'must be true, false or {"when": {attribute: [values]}}'
    if not isinstance(raw, dict) or set(raw) != {"when"} or not isinstance(raw["when"], dict) or not raw["when"]:
        raise DefinitionError(shape, field="requires_approval")
    definitions = {attribute["name"]: attribute for attribute in attributes}
    when = {}
    for name, values in raw["when"].items():
        attribute = definitions.get(name)
        if attribute is None:
            raise DefinitionError(f"{name!r} is not an attribute of this type", field="requires_approval")
        if not isinstance(values, list) or not values:
            raise DefinitionError(f"{name}: give a non-empty list of values", field="requires_approval")
        cleaned = []
        for value in values:
            try:
                value = clean_value(attribute, value)
            except ValueError as exc:
                raise DefinitionError(f"{name}: {exc}", field="requires_approval") from exc
            if value is None:
                raise DefinitionError(f"{name}: an empty value never matches", field="requires_approval")
            if value not in cleaned:
                cleaned.append(value)
        when[name] = cleaned
    return {"when": when}


def approval_required(rule, attributes: dict) -> bool:
    """Whether an approval ``rule`` (normalised) asks for one for these attribute values."""
    if isinstance(rule, dict):
        return any(attributes.get(name) in values for name, values in rule.get("when", {}).items())
    return bool(rule)


def suggestion_spec(attribute: dict) -> dict | None:
    """The attribute's ``web_suggested_values`` annotation, if any."""
    return attribute["annotations"].get("web_suggested_values")


def is_documentation(attribute: dict) -> bool:
    return attribute["annotations"].get("web_presentation") == "documentation"
