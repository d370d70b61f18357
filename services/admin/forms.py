"""The order and change forms of a service, built from its service type's attribute metadata.

Each attribute becomes a field: a choice a select whose options show label and description, a
suggested-values attribute a text input with a ``<datalist>`` (literal values, or the parameter's
values read at each form), a description the help text, followed by who sets the value in plain
words ("Set when ordered, cannot be changed", "Can be changed later", "Set by the system"), not the
modifier's code. Whatever a user may not write now (``r`` always, ``rw`` after ordering, ``rw+``
outside the update states) is read-only; the service layer decides, the form only shows it.

The form does not save the model itself: its validation step calls ``service_create`` or
``service_update``, which check everything under the service's row lock and save. The errors
they raise land on the form's fields, with the same messages the API answers.
"""

import copy

from django import forms
from django.contrib.admin.widgets import AdminTextareaWidget, AdminTextInputWidget

from catalog_site import access, finalizers
from catalog_site.admin import AccessCheckedForm

from .. import services
from ..lifecycle import Status
from ..models import Service, ServiceType
from ..schema import is_documentation, item_label
from ..selectors import suggested_values
from .widgets import ItemTable, SuggestionInput

ATTRIBUTE_PREFIX = "attr_"
BASE_FIELDS = ("service_identifier", "account_reference", "tenant", "location", "description")


# Who sets an attribute, by modifier, in the words of the people who order services.
MODIFIER_HELP = {
    "r": "Set by the system.",
    "rw": "Set when ordered, cannot be changed.",
    "rw+": "Can be changed later.",
}


def status_words(status: str) -> str:
    return Status(status).label.lower() if status in Status.values else status


def modifier_help(attribute: dict, service: Service | None = None) -> str:
    """Who sets ``attribute`` and when it can change, for people; with ``service``, as things stand for it."""
    modifier = attribute["modifier"]
    text = MODIFIER_HELP.get(modifier, "")
    if modifier != "rw+" or service is None:
        return text
    lifecycle = service.lifecycle
    if not lifecycle.allows_update(service.status):
        return f"Can be changed later, but not while the service is {status_words(service.status)}."
    if lifecycle.update_path[service.status] == Status.IN_DELIVERY:
        return "Can be changed later; a change delivers the service again."
    return text


def identity_help(service: Service) -> str:
    """Why the identifier, tenant or site of ``service`` are read-only, for people."""
    editable = " or ".join(status_words(status) for status in sorted(service.lifecycle.identity_editable))
    return f"Set when ordered; can be changed only while the service is {editable or 'never'}."


def choice_label(choice: dict) -> str:
    return f"{choice['label']} — {choice['description']}" if choice["description"] else choice["label"]


class ItemListField(forms.Field):
    """A list attribute: the rows of an ``ItemTable``, each read into an item of typed values.

    Only the form's own conversions happen here (a number typed as text); every rule of the
    items (required fields, bounds, unique keys, modifiers) is the service layer's, as for the API.
    """

    def __init__(self, attribute: dict, *, stored=None, show_generated: bool = True, **kwargs):
        self.attribute = attribute
        suggestions = {field["name"]: suggested_values(field) for field in attribute["item_attributes"]}
        kwargs.setdefault("widget", ItemTable(attribute, stored=stored, show_generated=show_generated,
                                              suggestions=suggestions))
        super().__init__(**kwargs)
        self.widget.read_only = self.disabled

    def to_python(self, value):
        if not value:
            return None
        if not isinstance(value, list):
            raise forms.ValidationError("Expected a list of items.")
        kinds = {field["name"]: field["kind"] for field in self.attribute["item_attributes"]}
        items, problems = [], []
        for index, row in enumerate(value):
            item = {}
            for name, raw in (row.items() if isinstance(row, dict) else ()):
                try:
                    item[name] = self.convert(kinds.get(name), raw)
                except ValueError as exc:
                    problems.append(f"{item_label(self.attribute, index, row)}: {name}: {exc}")
            items.append(item)
        if problems:
            raise forms.ValidationError(problems)
        return items

    @staticmethod
    def convert(kind: str | None, raw):
        """A posted text as the value of an item field of ``kind``; typed values (the initial list) pass."""
        if not isinstance(raw, str):
            return raw
        raw = raw.strip()
        if kind == "integer":
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"Expected a whole number, got {raw!r}.") from None
        if kind == "boolean":
            return {"true": True, "false": False}.get(raw.lower(), raw)
        return raw


def attribute_field(attribute: dict, *, service: Service | None) -> forms.Field:
    """The form field of one attribute, read-only when the service layer would refuse a write."""
    refusal = services.attribute_write_refusal(attribute, service=service)
    help_text = " ".join(part for part in (attribute["description"], modifier_help(attribute, service)) if part)
    suggestions = suggested_values(attribute)
    kind = attribute["kind"]
    options = {"label": attribute["label"], "help_text": help_text, "required": attribute["required"],
               "disabled": refusal is not None}
    if kind == "list":
        stored = service.attributes.get(attribute["name"]) if service else None
        field = ItemListField(attribute, stored=stored, show_generated=service is not None, **options)
    elif kind == "choice":
        choices = [("", "---------")] + [(str(c["value"]), choice_label(c)) for c in attribute["choices"]]
        field = forms.TypedChoiceField(choices=choices, coerce=str, empty_value=None, **options)
    elif kind == "integer":
        widget = SuggestionInput(suggestions, input_type="number") if suggestions else forms.NumberInput
        field = forms.IntegerField(min_value=attribute.get("min_value"), max_value=attribute.get("max_value"),
                                   widget=widget, **options)
    elif kind == "boolean":
        field = forms.NullBooleanField(**options)
    elif kind == "markdown":
        field = forms.CharField(widget=AdminTextareaWidget, **options)
    else:
        widget = SuggestionInput(suggestions, attrs={"class": "vTextField"}) if suggestions else AdminTextInputWidget
        field = forms.CharField(widget=widget, **options)
    field.attribute = attribute
    return field


def form_attributes(service_type: ServiceType, service: Service | None) -> list[dict]:
    """The attributes shown as fields: documentation has its own tab; ``r`` ones only once they exist."""
    return [a for a in service_type.attributes
            if not is_documentation(a) and (service is not None or a["modifier"] != "r")]


class ServiceForm(AccessCheckedForm, forms.ModelForm):
    """Base of the per-type form: identity fields, the version read, and the service-layer save.

    The admin checks the user's rights on the service as it would be (``AccessCheckedForm``) before
    the service layer writes: an order for a tenant out of reach is an error on ``tenant``.
    """

    read_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    service_type: ServiceType
    user = None

    class Meta:
        model = Service
        fields = (*BASE_FIELDS, "annotations")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        service = self.instance if self.instance.pk else None
        if service is not None:
            self.fields["read_version"].initial = service.version
            for name in services.IDENTITY_FIELDS:
                refusal = services.identity_write_refusal(name, service=service)
                if refusal and name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = identity_help(service)
        for field in self.fields.values():
            attribute = getattr(field, "attribute", None)
            if attribute is not None:
                value = service.attributes.get(attribute["name"]) if service else attribute["default"]
                field.initial = str(value) if value is not None and attribute["kind"] == "choice" else value

    def attribute_values(self) -> dict:
        return {field.attribute["name"]: self.cleaned_data.get(name)
                for name, field in self.fields.items() if getattr(field, "attribute", None) is not None}

    def _post_clean(self):
        # Replaces ModelForm's model validation: the service function validates and saves, under the
        # row lock, inside the admin view's transaction. save_model() then has nothing left to do.
        if self.errors:
            return
        empty = {"account_reference": "", "description": "", "annotations": {}, "finalizers": []}
        data = {name: self.cleaned_data.get(name) or empty.get(name)
                for name in (*BASE_FIELDS, "annotations", "finalizers") if name in self.fields}
        if not self.check_access(self.as_written(data)):
            return
        try:
            if self.instance.pk is None:
                self.instance = services.service_create(service_type=self.service_type, user=self.user,
                                                        attributes=self.attribute_values(), **data)
            else:
                self.instance = services.service_update(
                    service=self.instance, version=self.cleaned_data["read_version"], user=self.user,
                    attributes=self.attribute_values(), **data)
        except services.ServiceValidationError as exc:
            self._add_service_errors(exc)
        except services.VersionConflict as exc:
            self.add_error(None, exc.message)
        except finalizers.ObjectDeleting as exc:
            self.add_error(None, exc.message)

    def as_written(self, data: dict) -> Service:
        """The service as this form would write it (unsaved), for the access check."""
        service = copy.copy(self.instance) if self.instance.pk else Service(service_type=self.service_type)
        for name in ("tenant", "location"):
            if name in data:
                setattr(service, name, data[name])
        return service

    def _add_service_errors(self, exc: services.ServiceValidationError) -> None:
        for name, messages in exc.field_errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        for name, messages in exc.attribute_errors.items():
            field = ATTRIBUTE_PREFIX + name
            for message in messages:
                if field in self.fields:
                    self.add_error(field, message)
                else:
                    self.add_error(None, f"{name}: {message}")

    def save(self, commit=True):
        # The service layer saved already (in _post_clean); there are no many-to-many fields.
        if self.errors:
            raise ValueError("The service could not be saved: the form has errors.")
        self.save_m2m = lambda: None
        return self.instance


def build_service_form(service_type: ServiceType, *, service: Service | None, user) -> type[ServiceForm]:
    """A ServiceForm subclass with one declared field per attribute of ``service_type``, writing as ``user``."""
    fields = {ATTRIBUTE_PREFIX + a["name"]: attribute_field(a, service=service)
              for a in form_attributes(service_type, service)}
    return type(f"{service_type.slug.title().replace('-', '')}ServiceForm", (ServiceForm,),
                {**fields, "service_type": service_type, "user": user, "viewer": access.for_user(user)})


def attribute_field_names(service_type: ServiceType, service: Service | None) -> list[str]:
    return [ATTRIBUTE_PREFIX + a["name"] for a in form_attributes(service_type, service)]
