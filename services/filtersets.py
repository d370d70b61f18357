"""Filters of the services API."""

import contextlib

import django_filters
from django.db.models import Q

from catalog_site.filtersets import BaseFilterSet, RelatedTextFilter, StrictBooleanFilter, TreeNodeFilter
from dcim.models import Location
from tenancy.models import Tenant

from .lifecycle import Status
from .models import GeneratorRun, Parameter, Provider, ProviderAuthorization, Service, ServiceType
from .schema import NAME_RE

ATTRIBUTE_FILTER_PREFIX = "attr_"


class ServiceTypeFilterSet(BaseFilterSet):
    """``?slug=``, ``?name=``, ``?lifecycle=``, ``?q=``."""

    search_fields = ("slug", "name", "description")

    class Meta:
        model = ServiceType
        fields = {"slug": ["exact"], "name": ["exact", "icontains"], "lifecycle": ["exact"]}


class ParameterFilterSet(BaseFilterSet):
    """``?name=``, ``?q=``."""

    search_fields = ("name", "description")

    class Meta:
        model = Parameter
        fields = {"name": ["exact", "icontains"]}


def attribute_value_q(name: str, value: str) -> Q:
    """Services whose attribute ``name`` equals ``value`` given as text (``"1000"`` matches 1000 and "1000")."""
    lookup = f"attributes__{name}"
    query = Q(**{lookup: value})
    if value.lower() in ("true", "false"):
        query |= Q(**{lookup: value.lower() == "true"})
    else:
        with contextlib.suppress(ValueError):
            query |= Q(**{lookup: int(value)})
    return query


class ServiceFilterSet(BaseFilterSet):
    """Filters of services.

    - ``?service_type=<slug>`` and ``?service_type_id=<id>`` (several allowed);
    - ``?status=`` (several allowed);
    - ``?tenant_id=X``: services of tenant X and of its whole subtree; ``?location_id=X`` likewise for
      locations (a country or metro finds the services of its sites);
    - ``?service_identifier=``, ``?account_reference=``, ``?q=`` (identifier, account, description);
    - attribute values, NetBox custom-field style: ``?attr_<name>=<value>``, e.g. ``?attr_bandwidth=1000``.
      Several values of one attribute match any of them; several attributes must all match. The value is
      compared as text, as an integer and as a boolean, so ``1000`` matches the choice 1000. An attribute
      that no service type defines is a 400, as any unknown parameter is.
    """

    service_type = RelatedTextFilter(field_name="service_type__slug", to_field_name="slug",
                                     queryset=ServiceType.objects.all())
    service_type_id = django_filters.ModelMultipleChoiceFilter(
        field_name="service_type", queryset=ServiceType.objects.all()
    )
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    tenant_id = TreeNodeFilter(relation="tenant", queryset=Tenant.objects.all())
    location_id = TreeNodeFilter(relation="location", queryset=Location.objects.all())
    provider_id = django_filters.ModelMultipleChoiceFilter(field_name="provider", queryset=Provider.objects.all())
    provider_authorized = StrictBooleanFilter(label="Whether the provider is still authorized for the tenant")
    search_fields = ("service_identifier", "account_reference", "description")

    class Meta:
        model = Service
        fields = {"service_identifier": ["exact", "icontains"], "account_reference": ["exact", "icontains"]}

    def extra_param_names(self) -> set[str]:
        # ``attr_<name>`` for the attributes some service type defines: a misspelt one is a 400.
        return {
            f"{ATTRIBUTE_FILTER_PREFIX}{attribute['name']}"
            for attributes in ServiceType.objects.values_list("attributes", flat=True)
            for attribute in attributes or ()
            if isinstance(attribute, dict) and "name" in attribute
        }

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        for key in self.data:
            if not key.startswith(ATTRIBUTE_FILTER_PREFIX):
                continue
            name = key[len(ATTRIBUTE_FILTER_PREFIX):]
            if not NAME_RE.match(name):
                return queryset.none()  # no attribute has this name; it must not reach a JSON path either
            values = self.data.getlist(key) if hasattr(self.data, "getlist") else [self.data[key]]
            query = Q()
            for value in values:
                query |= attribute_value_q(name, value)
            queryset = queryset.filter(query)
        return queryset


class ProviderFilterSet(BaseFilterSet):
    """``?owner_id=``, ``?service_type_id=``, ``?available_to_id=``, ``?available_in_id=`` (several allowed
    each; exact objects: availability is never inherited), ``?slug=``, ``?name=``, ``?q=``."""

    owner_id = django_filters.ModelMultipleChoiceFilter(field_name="owner", queryset=Tenant.objects.all())
    service_type_id = django_filters.ModelMultipleChoiceFilter(field_name="service_types",
                                                               queryset=ServiceType.objects.all(), distinct=True)
    available_to_id = django_filters.ModelMultipleChoiceFilter(field_name="available_to",
                                                               queryset=Tenant.objects.all(), distinct=True)
    available_in_id = django_filters.ModelMultipleChoiceFilter(field_name="available_in",
                                                               queryset=Location.objects.all(), distinct=True)
    search_fields = ("name", "slug", "description")

    class Meta:
        model = Provider
        fields = {"slug": ["exact"], "name": ["exact", "icontains"]}


class ProviderAuthorizationFilterSet(BaseFilterSet):
    """``?provider_id=``, ``?tenant_id=`` (several allowed each), ``?scope=``."""

    provider_id = django_filters.ModelMultipleChoiceFilter(field_name="provider", queryset=Provider.objects.all())
    tenant_id = django_filters.ModelMultipleChoiceFilter(field_name="tenant", queryset=Tenant.objects.all())
    scope = django_filters.MultipleChoiceFilter(choices=ProviderAuthorization.Scope.choices)
    search_fields = ("provider__name", "tenant__name")

    class Meta:
        model = ProviderAuthorization
        fields = ()


class GeneratorRunFilterSet(BaseFilterSet):
    """Filters of generator runs: ``?service_id=`` (several allowed), ``?service=<identifier>``, ``?status=``,
    ``?action=`` (several allowed each), ``?q=`` (the error text)."""

    service_id = django_filters.ModelMultipleChoiceFilter(field_name="service", queryset=Service.objects.all())
    service = django_filters.CharFilter(field_name="service__service_identifier", label="Service identifier")
    status = django_filters.MultipleChoiceFilter(choices=GeneratorRun.Status.choices)
    action = django_filters.MultipleChoiceFilter(choices=GeneratorRun.Action.choices)
    search_fields = ("error",)

    class Meta:
        model = GeneratorRun
        fields = ()
