"""Objects for the services tests: tenants, sites, the built-in type and services in any status."""

from dcim.models import Location
from services import services
from services.catalog_loader import load_catalog
from services.models import Provider, ProviderAuthorization, Service, ServiceType
from tenancy.models import Tenant
from tests.api_mixins import next_number

DOC_WITH_DIAGRAM = """# Dedicated Internet {identifier}

Delivered on **sw01** port Ethernet5, routed by the edge routers of the site.

| Resource | Value |
|----------|-------|
| Customer port | sw01 Ethernet5 (1 Gbps) |
| VLAN | 1001 |
| Customer prefix | 203.0.113.16/28 |

```mermaid
graph LR
  customer[Customer] --> sw01[sw01 Ethernet5]
  sw01 --> rb01[rb01 edge]
  sw01 --> rb02[rb02 edge]
  rb01 --> internet((Internet))
  rb02 --> internet
```
"""

def make_tenant(parent=None) -> Tenant:
    n = next_number()
    return Tenant.objects.create(name=f"Customer {n}", slug=f"customer-{n}", parent=parent)


def make_location(kind: str, parent=None) -> Location:
    n = next_number()
    return Location.objects.create(name=f"{kind.title()} {n}", slug=f"{kind}-{n}", kind=kind, parent=parent)


def make_site(parent=None) -> Location:
    return make_location("site", parent=parent)


def dedicated_internet() -> ServiceType:
    load_catalog()  # idempotent; migrate loads it too, but a flushed database may not have it
    return ServiceType.objects.get(slug="dedicated-internet")


def offer(service_type: ServiceType, *, tenant: Tenant, location: Location, scope: str = "tenant") -> Provider:
    """A provider of ``service_type`` (owned by the tenant's root) available to ``tenant`` at ``location``,
    authorized by ``tenant``: what an order there needs."""
    owner = Tenant.objects.get(pk=tenant.pk).get_root()
    provider, _ = Provider.objects.get_or_create(
        slug=f"test-{service_type.slug}-{owner.slug}"[:100],
        defaults={"name": f"{service_type.name} by {owner.name}"[:100], "owner": owner})
    provider.service_types.add(service_type)
    provider.available_to.add(tenant)
    provider.available_in.add(location)
    ProviderAuthorization.objects.get_or_create(provider=provider, tenant=tenant, defaults={"scope": scope})
    return provider


def served(service_type: ServiceType | None = None, *, tenant: Tenant | None = None) -> tuple[Tenant, Location]:
    """A tenant (new unless given) and a new site where a provider of ``service_type`` serves it."""
    tenant, site = tenant or make_tenant(), make_site()
    offer(service_type or dedicated_internet(), tenant=tenant, location=site)
    return tenant, site


def order_service(**fields) -> Service:
    """``services.service_create`` where a provider serves the order (``offer``)."""
    offer(fields["service_type"], tenant=fields["tenant"], location=fields["location"])
    return services.service_create(**fields)


def make_service(status: str = "draft", *, tenant=None, location=None, **attributes) -> Service:
    """A Dedicated Internet service, ordered through the service layer, then put in ``status``."""
    values = {"bandwidth": 1000, "ip_package": "small", **attributes}
    tenant, location = tenant or make_tenant(), location or make_site()
    offer(dedicated_internet(), tenant=tenant, location=location)
    service = services.service_create(
        service_type=dedicated_internet(), service_identifier=f"DI-{next_number():05d}",
        tenant=tenant, location=location, attributes=values,
    )
    if status != service.status:
        # Tests start from any status; the lifecycle itself is tested through the API and admin.
        Service.objects.filter(pk=service.pk).update(status=status)
        service.refresh_from_db()
    return service
