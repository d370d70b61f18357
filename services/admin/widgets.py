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
