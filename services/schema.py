"""The shape of a service type definition and of attribute values.

A definition (from a YAML file or the API) is checked and normalised here, with errors that name
the attribute and the reason. ``clean_value`` checks one attribute value against its definition;
the service layer uses it for every write, whoever makes it.
"""

import re

from django.core.validators import slug_re

from .lifecycle import LIFECYCLES

KINDS = ("text", "integer", "boolean", "choice", "markdown", "site", "list")
# The kinds an item of a list may have: plain values only, so that an item reads as one table row.
ITEM_KINDS = ("text", "integer", "choice", "boolean", "site")
MODIFIERS = ("r", "rw", "rw+")
PRESENTATIONS = ("documentation",)
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DOTTED_PATH_RE = re.compile(r"^([A-Za-z_]\w*)(\.[A-Za-z_]\w*)+$")

TYPE_KEYS = {"slug", "name", "description", "icon", "lifecycle", "generator", "attributes", "annotations",
             "requires_approval"}
ATTRIBUTE_KEYS = {"name", "label", "kind", "description", "modifier", "required", "default", "choices",
                  "annotations", "min_value", "max_value"}
LIST_KEYS = {"item_key", "min_items", "max_items", "item_attributes"}
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


class ValueErrors(ValueError):
    """Several problems of one value (the items of a list); ``messages`` lists them, one per problem."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


def error_messages(exc: ValueError) -> list[str]:
    """The messages of a ``clean_value`` refusal: several for a list, else the one."""
    return list(exc.messages) if isinstance(exc, ValueErrors) else [str(exc)]


def item_label(attribute: dict, index: int, item) -> str:
    """How an error names an item of a list: its place (from 1) and, when it has one, its key."""
    key = attribute["item_key"]
    value = item.get(key) if isinstance(item, dict) else None
    return f"item {index + 1} ({key} {value})" if _is_scalar(value) and value != "" else f"item {index + 1}"


def clean_item(attribute: dict, index: int, item) -> tuple[dict, list[str]]:
    """One item of a list attribute, cleaned field by field (defaults applied), and the problems found."""
    label = item_label(attribute, index, item)
    if not isinstance(item, dict):
        return {}, [f"{label}: Expected an object of item fields, got {type(item).__name__}."]
    fields = {field["name"]: field for field in attribute["item_attributes"]}
    problems = [f"{label}: {name}: Not a field of the items of {attribute['label']}."
                for name in item if name not in fields]
    cleaned = {}
    for name, field in fields.items():
        try:
            value = clean_value(field, item.get(name))
        except ValueError as exc:
            problems.append(f"{label}: {name}: {exc}")
            continue
        if value is None:
            value = field["default"]
        if value is None and field["required"]:
            problems.append(f"{label}: {name}: This field is required.")
        elif value is not None:
            cleaned[name] = value
    return cleaned, problems


def clean_list(attribute: dict, value) -> list[dict] | None:
    """A list attribute's value: a list of items, each cleaned, keys unique, within min/max items."""
    if not isinstance(value, list):
        raise ValueError(f"Expected a list of items, got {type(value).__name__}.")
    if not value:
        return None
    items, problems, seen = [], [], {}
    key = attribute["item_key"]
    for index, raw in enumerate(value):
        item, item_problems = clean_item(attribute, index, raw)
        problems.extend(item_problems)
        if key in item:
            if item[key] in seen:
                problems.append(f"{item_label(attribute, index, item)}: {key}: {item[key]!r} is already the "
                                f"{key} of item {seen[item[key]] + 1}; each item needs its own.")
            else:
                seen[item[key]] = index
        items.append(item)
    low, high = attribute.get("min_items"), attribute.get("max_items")
    if low is not None and len(items) < low:
        problems.append(f"Needs at least {low} item(s), got {len(items)}.")
    if high is not None and len(items) > high:
        problems.append(f"Takes at most {high} item(s), got {len(items)}.")
    if problems:
        raise ValueErrors(problems)
    return items


def clean_value(attribute: dict, value):
    """``value`` checked and normalised against ``attribute``'s kind and choices.

    ``None`` (and an empty string, an empty list) means "not set". Raises ``ValueError`` with a
    message that does not repeat the attribute's name (callers key it by name); a list's problems
    come as ``ValueErrors``, one message per problem, each naming the item and its field. A
    ``site`` is checked here as text only: whether the site exists is the service layer's question.
    """
    if value is None or value == "":
        return None
    kind = attribute["kind"]
    if kind == "list":
        return clean_list(attribute, value)
    if kind == "site":
        if not isinstance(value, str):
            raise ValueError(f"Expected the slug of a site, got {type(value).__name__}.")
        return value
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


def _list_keys(raw: dict, name: str) -> dict:
    """The keys of a list attribute: its item attributes (normalised like any attribute), key and bounds."""
    raw_items = raw.get("item_attributes")
    if not isinstance(raw_items, list) or not raw_items:
        raise DefinitionError("a list attribute needs item_attributes: a non-empty list of attribute definitions",
                              attribute=name)
    items, names = [], set()
    for raw_item in raw_items:
        try:
            item = normalise_attribute(raw_item, inside=name)
        except DefinitionError as exc:
            where = f"item attribute {exc.attribute!r}: " if exc.attribute else "item_attributes: "
            raise DefinitionError(where + exc.reason, attribute=name) from exc
        if item["name"] in names:
            raise DefinitionError(f"item attribute {item['name']!r} is declared twice", attribute=name)
        names.add(item["name"])
        items.append(item)
    key = raw.get("item_key")
    if not isinstance(key, str) or not key:
        raise DefinitionError("a list attribute needs an item_key: the item attribute that tells items apart",
                              attribute=name)
    keyed = next((item for item in items if item["name"] == key), None)
    if keyed is None:
        raise DefinitionError(f"item_key {key!r} is not one of its item attributes ({', '.join(sorted(names))})",
                              attribute=name)
    if not keyed["required"]:
        raise DefinitionError(f"item_key {key!r} must name a required item attribute: every item needs one",
                              attribute=name)
    bounds = {}
    for bound in ("min_items", "max_items"):
        value = raw.get(bound)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise DefinitionError(f"{bound} must be a whole number, 0 or more", attribute=name)
        bounds[bound] = value
    if None not in bounds.values() and bounds["min_items"] > bounds["max_items"]:
        raise DefinitionError("min_items is more than max_items", attribute=name)
    return {"item_key": key, **bounds, "item_attributes": items}


def normalise_attribute(raw, *, inside: str | None = None) -> dict:
    """One attribute definition, checked and with every key present.

    ``inside`` names the list attribute whose item attribute this is: it then takes only the
    plain kinds (``ITEM_KINDS``), and no list.
    """
    if not isinstance(raw, dict):
        raise DefinitionError(f"each attribute must be a mapping, not {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DefinitionError(f"attribute name {name!r} must be lower case letters, digits and underscores",
                              attribute=str(name) if name else None)
    unknown = set(raw) - ATTRIBUTE_KEYS - LIST_KEYS
    if unknown:
        raise DefinitionError(f"unknown key(s) {sorted(unknown)}", attribute=name)
    kind = raw.get("kind", "text")
    if inside is not None and kind == "list":
        raise DefinitionError("a list cannot hold a list: an item attribute takes one of "
                              f"{', '.join(ITEM_KINDS)}", attribute=name)
    allowed = ITEM_KINDS if inside is not None else KINDS
    if kind not in allowed:
        raise DefinitionError(f"kind {kind!r} is not one of {', '.join(allowed)}", attribute=name)
    misplaced = sorted(key for key in LIST_KEYS if key in raw) if kind != "list" else []
    if misplaced:
        raise DefinitionError(f"only a list attribute has {', '.join(misplaced)}", attribute=name)
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
    if kind == "list":
        attribute.update(_list_keys(raw, name))
        if raw.get("default") is not None:
            raise DefinitionError("a list attribute has no default", attribute=name)
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
        if attribute["kind"] == "list":
            raise DefinitionError(f"{name}: a list cannot be a condition of approval; name a plain attribute",
                                  field="requires_approval")
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
