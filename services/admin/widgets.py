"""Widgets of the service admin."""

from django import forms


class SuggestionInput(forms.TextInput):
    """A text (or number) input with a ``<datalist>`` of suggestions.

    The browser offers the suggestions as the user types; any other value is still accepted, since
    suggested values suggest and do not restrict.
    """

    template_name = "services/widgets/suggestion_input.html"

    def __init__(self, suggestions=(), input_type: str = "text", attrs=None):
        super().__init__(attrs)
        self.suggestions = list(suggestions)
        self.input_type = input_type

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        list_id = f"{context['widget']['attrs'].get('id') or name}_suggestions"
        context["widget"]["attrs"]["list"] = list_id
        context["widget"]["attrs"].setdefault("autocomplete", "off")
        context["widget"]["list_id"] = list_id
        context["widget"]["suggestions"] = self.suggestions
        return context


class ItemTable(forms.Widget):
    """A list attribute as a table: one row per item, an input per item field, a "Remove" box per row.

    Rows post as ``<name>-<row>-<field>`` with ``<name>-TOTAL`` rows, like a formset, so the table
    works without JavaScript (one blank row is there to add an item per save); ``item-table.js``
    adds an "Add a row" button. What a user may not change is shown read-only: the ``rw`` fields of
    an item stored already (they are posted back, so the service layer can match the item by its
    key), and ``r`` fields (shown, not posted: the service layer keeps them from the stored item).
    """

    template_name = "services/widgets/item_table.html"
    # Who sets an item field, by modifier, in the words of the people who order services.
    item_help = {"r": "Set by the system.", "rw": "Set when the item is added, cannot be changed.",
                 "rw+": "Can be changed later."}
    max_rows = 500  # a posted TOTAL is the user's: never loop further than this

    class Media:
        js = ("services/item-table.js",)
        css = {"all": ("services/item-table.css",)}

    def __init__(self, attribute: dict, *, stored=None, show_generated: bool = True, suggestions=None, attrs=None):
        super().__init__(attrs)
        self.attribute = attribute
        self.suggestions = {name: list(values) for name, values in (suggestions or {}).items() if values}
        key = attribute["item_key"]
        self.stored_keys = {str(item.get(key)) for item in stored or [] if isinstance(item, dict)}
        self.columns = [field for field in attribute["item_attributes"]
                        if show_generated or field["modifier"] != "r"]
        self.read_only = False

    def posted_fields(self) -> list[str]:
        return [field["name"] for field in self.attribute["item_attributes"] if field["modifier"] != "r"]

    def value_from_datadict(self, data, files, name):
        try:
            total = min(max(int(data.get(f"{name}-TOTAL") or 0), 0), self.max_rows)
        except (TypeError, ValueError):
            total = 0
        rows = []
        for index in range(total):
            if data.get(f"{name}-{index}-DELETE"):
                continue
            row = {field: data.get(f"{name}-{index}-{field}", "") for field in self.posted_fields()}
            row = {field: value for field, value in row.items() if value not in (None, "")}
            if row:
                rows.append(row)
        return rows

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-TOTAL" not in data

    def _cell(self, name: str, index, field: dict, value, *, stored: bool) -> dict:
        generated = field["modifier"] == "r"
        read_only = self.read_only or generated or (stored and field["modifier"] == "rw")
        shown = "" if value is None else ("true" if value is True else "false" if value is False else str(value))
        labels = {str(c["value"]): c["label"] for c in field["choices"]} | {"true": "Yes", "false": "No"}
        return {
            "name": field["name"], "label": field["label"], "kind": field["kind"],
            "input_name": f"{name}-{index}-{field['name']}", "value": shown,
            "display": labels.get(shown, shown) if field["kind"] in ("choice", "boolean") else shown,
            "read_only": read_only, "posted": not generated,
            "choices": [(str(c["value"]), c["label"]) for c in field["choices"]],
            "min_value": field.get("min_value"), "max_value": field.get("max_value"),
            "required": field["required"],
            "list_id": f"{name}_{field['name']}_suggestions" if field["name"] in self.suggestions else "",
        }

    def _row(self, name: str, index, item: dict, *, blank: bool = False) -> dict:
        key = str(item.get(self.attribute["item_key"]))
        stored = not blank and key in self.stored_keys
        return {"index": index, "stored": stored,
                "cells": [self._cell(name, index, field, item.get(field["name"]), stored=stored)
                          for field in self.columns]}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        items = [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
        rows = [self._row(name, index, item) for index, item in enumerate(items)]
        if not self.read_only:
            rows.append(self._row(name, len(rows), {}, blank=True))
        context["widget"].update({
            "suggestions": [{"list_id": f"{name}_{field}_suggestions", "values": values}
                            for field, values in self.suggestions.items()],
            "columns": [{**field, "help": " ".join(part for part in (field["description"],
                                                                     self.item_help[field["modifier"]]) if part)}
                        for field in self.columns], "rows": rows, "total": len(rows), "read_only": self.read_only,
            "template_row": None if self.read_only else self._row(name, "__prefix__", {}, blank=True),
        })
        return context
