"""The admin side of import and export: the Import and Export buttons on the inventory's list pages.

The base admin mixes ``ImportExportAdminMixin`` in; the files, their columns and the checks of every
row are ``catalog_site.importexport``'s. Other models keep their list page as it is.
"""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV

from . import access
from .importexport import (
    INVENTORY,
    METADATA_FIELDS,
    HelperColumn,
    JSONObjects,
    ReferenceField,
    YAMLObjects,
    is_inventory,
    resource_for,
)


def column_help(model) -> list[tuple[str, str]]:
    """(column, how to write it) for each column of ``model``'s files, shown on the import page."""
    resource = resource_for(model)
    key = INVENTORY[model._meta.label]
    rows = []
    for name, field in resource.fields.items():
        if isinstance(field, HelperColumn):
            text = "Only to find the relation that follows: the device's name."
        elif isinstance(field, ReferenceField):
            related = field.django_field.related_model._meta
            text = f"The {related.verbose_name}'s {field.widget.syntax}"
            if field.widget.context:
                text += f", among those of the row's {field.widget.context[1]}"
            text += ", separated by commas." if field.django_field.many_to_many else "."
        elif name in METADATA_FIELDS:
            text = "JSON: " + ('an object, {"example.com/owner": "noc"}.' if name == "annotations"
                               else 'a list of names, ["example.com/backup"].')
        else:
            django_field = model._meta.get_field(name)
            text = capfirst(django_field.help_text or django_field.verbose_name)
            if django_field.choices:
                text += " (one of: " + ", ".join(str(value) for value, _ in django_field.flatchoices) + ")"
        text = text.rstrip(".") + "."
        if name in key:
            text += " Names the row's object" + (f", with {' and '.join(key)}." if len(key) > 1 else ".")
        rows.append((name, text))
    return rows


class ImportExportAdminMixin(ImportExportMixin):
    """Import and Export on the list pages of the inventory models (the base admin mixes it in).

    Other models keep their list page as it is: no buttons, no URLs. Export needs the view
    permission; import the right to add or change some object of the model, and every row is then
    checked on its own (``InventoryResource``). The list page keeps the template it would have had
    (an app's own ``change_list.html``), with the buttons added.
    """

    import_error_display = ("message",)

    @property
    def formats(self):
        return [CSV, JSONObjects, YAMLObjects]

    @property
    def imports_exports(self) -> bool:
        return is_inventory(self.model)

    def init_change_list_template(self):
        self.own_change_list_template = self.change_list_template
        if self.imports_exports:
            self.change_list_template = self.import_export_change_list_template

    @property
    def ie_base_change_list_template(self):
        if not self.imports_exports:
            return "admin/change_list.html"  # unused: the list page keeps its own template
        opts = self.opts
        names = [self.own_change_list_template] if self.own_change_list_template else [
            f"admin/{opts.app_label}/{opts.model_name}/change_list.html",
            f"admin/{opts.app_label}/change_list.html",
            "admin/change_list.html",
        ]
        return select_template(names)

    def get_urls(self):
        urls = super().get_urls()
        if self.imports_exports:
            return urls
        info = self.get_model_info()
        own = {f"{info[0]}_{info[1]}_{view}" for view in ("import", "process_import", "export")}
        return [url for url in urls if getattr(url, "name", None) not in own]

    def has_import_permission(self, request):
        return self.imports_exports and (self.has_add_permission(request) or self.has_change_permission(request))

    def has_export_permission(self, request):
        return self.imports_exports and self.has_view_permission(request)

    def get_resource_classes(self, request):
        return [resource_for(self.model)]

    def get_import_context_data(self, **kwargs):
        return {**super().get_import_context_data(**kwargs), "column_help": column_help(self.model)}

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "viewer": access.for_request(request)}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "viewer": access.for_request(request)}

    def get_import_data_kwargs(self, **kwargs):
        # All or nothing: a row refused by validation rolls the whole import back, not only itself.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def process_import(self, request, **kwargs):
        problem = self.confirmation_problem(request)
        if problem:
            messages.error(request, problem)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))
        return super().process_import(request, **kwargs)

    def confirmation_problem(self, request) -> str | None:
        """Why a posted confirmation cannot be carried out (a file already imported or expired, a tampered
        format), checked before the library reads it; None when it can, or when the library answers."""
        if request.method != "POST" or not self.has_import_permission(request):
            return None
        form = self.create_confirm_form(request)
        if not form.is_valid():
            return None
        formats = self.get_import_formats()
        index = form.cleaned_data["format"]
        if not (index.isdigit() and int(index) < len(formats)):
            return "Unknown file format: upload the file again."
        storage = self.get_tmp_storage_class()(name=form.cleaned_data["import_file_name"],
                                               **self.get_tmp_storage_class_kwargs())
        if storage.read() is None:
            return "This upload was already imported, or has expired: upload the file again."
        return None

    def process_result(self, result, request):
        if not (result.has_errors() or result.has_validation_errors()):
            return super().process_result(result, request)
        # Something changed since the preview (a row taken meanwhile): nothing was written; say why.
        messages.error(request, "Nothing was imported: some rows failed. Correct them and upload the file again.")
        form = self.get_import_form_class(request)(self.get_import_formats(), self.get_import_resource_classes(request))
        context = {**self.admin_site.each_context(request), "title": "Import", "opts": self.opts, "form": form,
                   "result": result, "import_error_display": self.import_error_display,
                   "media": self.media + form.media, "fields_list": []}
        return TemplateResponse(request, [self.import_template_name], context)
