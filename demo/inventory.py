"""The demo inventory: it mirrors the Infrahub service-catalog demo (DESIGN section 8).

Every function here is idempotent: objects are looked up by their natural key and created only when
missing, so ``load_demo`` can run any number of times.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from dcim.models import Device, DeviceRole, DeviceType, Interface, Location, Manufacturer
from ipam.models import (
    IPAddressPool,
    IPAddressPoolResource,
    L2Domain,
    Namespace,
    NumberPool,
    Prefix,
    PrefixPool,
    PrefixPoolResource,
)
from services import services
from services.catalog_loader import load_catalog
from services.generators.l2vpn import ID_POOL as L2VPN_ID_POOL
from services.generators.l2vpn import site_l2domain
from services.models import Parameter, Provider, ProviderAuthorization, Service, ServiceType
from tenancy.models import Membership, Tenant

# country -> metro -> site
GEOGRAPHY = {
    ("France", "fr"): {("Paris", "par"): ("Paris 1", "par1")},
    ("Belgium", "be"): {("Brussels", "bru"): ("Brussels 1", "bru1")},
    ("United States", "us"): {
        ("New York", "nyc"): ("New York 1", "nyc1"),
        ("Dallas", "dal"): ("Dallas 1", "dal1"),
        ("Atlanta", "atl"): ("Atlanta 1", "atl1"),
    },
}

TENANTS = {
    ("Demo Telecom", "demo-telecom"): [("Acme Corp", "acme"), ("Globex", "globex")],
    ("Initech", "initech"): [],
}

# The two customers a newcomer can log in as (``load_demo`` prints their passwords). Each is a tenant
# under Demo Telecom with one sub-tenant and an editor; draft services on both tenants show what the
# customer sees of the catalog (its own services, those of its sub-tenant, nobody else's). Devices,
# locations and pools stay shared infrastructure, without a tenant.
CUSTOMERS = [
    {
        "tenant": "acme",
        "sub_tenant": ("Acme Paris", "acme-paris"),
        "username": "acme",
        # (identifier, tenant, site, bandwidth, ip_package)
        "services": [("DI-ACME-001", "acme", "bru1", 1000, "small"),
                     ("DI-ACME-002", "acme-paris", "par1", 100, "small")],
    },
    {
        "tenant": "globex",
        "sub_tenant": ("Globex Labs", "globex-labs"),
        "username": "globex",
        "services": [("DI-GLOBEX-001", "globex", "dal1", 10000, "medium"),
                     ("DI-GLOBEX-002", "globex-labs", "nyc1", 1000, "small")],
    },
]

# One L2VPN for Acme between two of its sites (a draft, like the other demo services):
# (identifier, tenant, topology, bandwidth, [(site, VLAN handed over there)]).
L2VPNS = [("L2VPN-ACME-001", "acme", "point-to-point", 1000, [("bru1", 100), ("par1", 200)])]

# The MTUs offered for an L2VPN (the parameter its ``mtu`` attribute suggests values from).
L2VPN_MTUS = ("l2vpn-mtus", [1500, 9000])

# The provider of Dedicated Internet and L2VPN (name, slug), owned by Demo Telecom.
DEMO_PROVIDER = ("Demo Telecom Internet", "demo-telecom-internet")

CUSTOMER_PORTS_1G = [f"Ethernet{n}" for n in range(4, 10)]
CUSTOMER_PORTS_10G = ["Ethernet10", "Ethernet11"]

# use -> ((manufacturer name, slug), (model, slug, part number, height in rack units))
DEVICE_TYPES = {
    "switch": (("Arista", "arista"), ("7050SX3-48YC8", "7050sx3-48yc8", "DCS-7050SX3-48YC8", 1)),
    "router": (("Juniper", "juniper"), ("MX204", "mx204", "MX204-HW-BASE", 1)),
}
# slug -> (name, colour): the roles the demo's devices have (the migration creates them too).
DEVICE_ROLES = {DeviceRole.CORE: ("Core", "1e88e5"), DeviceRole.EDGE: ("Edge", "43a047")}


def _location(name: str, slug: str, kind: str, parent=None) -> Location:
    location = Location.objects.filter(slug=slug).first()
    if location is None:
        location = Location(name=name, slug=slug, kind=kind, parent=parent)
        location.full_clean()
        location.save()
    return location


def _interface(device: Device, name: str, **fields) -> Interface:
    interface, _ = Interface.objects.get_or_create(device=device, name=name, defaults=fields)
    return interface


def load_tenants() -> list[Tenant]:
    tenants = []
    for (name, slug), children in TENANTS.items():
        parent, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": name})
        tenants.append(parent)
        for child_name, child_slug in children:
            child, _ = Tenant.objects.get_or_create(slug=child_slug, defaults={"name": child_name, "parent": parent})
            tenants.append(child)
    for customer in CUSTOMERS:
        name, slug = customer["sub_tenant"]
        sub_tenant, _ = Tenant.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": Tenant.objects.get(slug=customer["tenant"])}
        )
        tenants.append(sub_tenant)
    return tenants


def load_sites() -> list[Location]:
    sites = []
    for (country, country_slug), metros in GEOGRAPHY.items():
        country_loc = _location(country, country_slug, Location.Kind.COUNTRY)
        for (metro, metro_slug), (site, site_slug) in metros.items():
            metro_loc = _location(metro, metro_slug, Location.Kind.METRO, country_loc)
            sites.append(_location(site, site_slug, Location.Kind.SITE, metro_loc))
    return sites


def load_device_types() -> dict[str, DeviceType]:
    """The demo's device types by use ("switch", "router"), with their manufacturers."""
    types = {}
    for use, ((maker, maker_slug), (model, slug, part_number, u_height)) in DEVICE_TYPES.items():
        manufacturer, _ = Manufacturer.objects.get_or_create(slug=maker_slug, defaults={"name": maker})
        types[use], _ = DeviceType.objects.get_or_create(
            manufacturer=manufacturer, slug=slug,
            defaults={"model": model, "part_number": part_number, "u_height": u_height},
        )
    return types


def load_device_roles() -> dict[str, DeviceRole]:
    """The core and edge roles (a flushed database no longer has those the migration created)."""
    roles = {}
    for slug, (name, color) in DEVICE_ROLES.items():
        roles[slug], _ = DeviceRole.objects.get_or_create(slug=slug, defaults={"name": name, "color": color})
    return roles


def load_devices(site: Location, types: dict[str, DeviceType], roles: dict[str, DeviceRole]) -> None:
    """Two core switches with customer ports and two edge routers per site."""
    for index in (1, 2):
        switch, _ = Device.objects.get_or_create(
            location=site,
            name=f"sw0{index}",
            defaults={"role": roles[DeviceRole.CORE], "index": index, "device_type": types["switch"]},
        )
        for uplink in ("Ethernet1", "Ethernet2"):
            _interface(switch, uplink, type="100gbase-x-qsfp28", role=Interface.Role.UPLINK,
                       status=Interface.Status.ACTIVE, speed=100000)
        for name, speed, type_ in ([(n, 1000, "1000base-x-sfp") for n in CUSTOMER_PORTS_1G]
                                   + [(n, 10000, "10gbase-x-sfpp") for n in CUSTOMER_PORTS_10G]):
            _interface(switch, name, type=type_, role=Interface.Role.CUSTOMER, status=Interface.Status.FREE,
                       enabled=False, speed=speed)
        router, _ = Device.objects.get_or_create(
            location=site,
            name=f"rb0{index}",
            defaults={"role": roles[DeviceRole.EDGE], "index": index, "device_type": types["router"]},
        )
        for name, role in (("et-0/0/0", Interface.Role.BACKBONE), ("et-0/0/1", Interface.Role.UPSTREAM)):
            _interface(router, name, type="100gbase-x-qsfp28", layer=Interface.Layer.L3, role=role,
                       status=Interface.Status.ACTIVE, speed=100000)


def load_ipam() -> None:
    namespace = Namespace.get_default()
    L2Domain.get_default()
    for prefix, description in (
        ("203.0.113.0/24", "Customer public addresses"),
        ("100.64.0.0/16", "Customer shared address space"),
        ("172.16.1.0/24", "Management"),
    ):
        Prefix.objects.get_or_create(
            namespace=namespace,
            prefix=prefix,
            defaults={"status": Prefix.Status.CONTAINER, "description": description},
        )


def load_pools() -> None:
    """The three pools of the Dedicated Internet scenario and the L2VPN id pool."""
    namespace = Namespace.get_default()
    NumberPool.objects.get_or_create(
        name="Customer vlan pool", defaults={"start": 1000, "end": 2000, "l2domain": L2Domain.get_default()}
    )
    NumberPool.objects.get_or_create(name=L2VPN_ID_POOL, defaults={"start": 10000, "end": 19999})
    prefixes, _ = PrefixPool.objects.get_or_create(
        name="Customer prefixes pool", defaults={"namespace": namespace, "default_prefix_length": 28}
    )
    for position, text in enumerate(("203.0.113.0/24", "100.64.0.0/16")):
        PrefixPoolResource.objects.get_or_create(
            pool=prefixes, prefix=Prefix.objects.get(namespace=namespace, prefix=text), defaults={"position": position}
        )
    management, _ = IPAddressPool.objects.get_or_create(name="Management IP pool")
    IPAddressPoolResource.objects.get_or_create(
        pool=management, prefix=Prefix.objects.get(namespace=namespace, prefix="172.16.1.0/24")
    )


def load_l2vpn_support(sites: list[Location]) -> None:
    """What L2VPNs need besides the pools: an L2 domain of customer VLANs per site (the customer picks
    the VLAN id at each site, so ids are unique per site: ``services.generators.l2vpn``) and the MTUs
    the order form suggests (filled in only when the parameter has no values yet, so edits stay)."""
    for site in sites:
        site_l2domain(site)
    name, values = L2VPN_MTUS
    parameter, _ = Parameter.objects.get_or_create(name=name, defaults={
        "values": values, "description": "Suggested values of L2VPN: MTU."})
    if not parameter.values:
        parameter.values = values
        parameter.save()


def builtin_type(slug: str) -> ServiceType:
    """The built-in service type ``slug``, loading the catalog if it is missing."""
    found = ServiceType.objects.filter(slug=slug).first()
    if found is None:  # migrate loads the catalog; a flushed database may not have it
        load_catalog()
        found = ServiceType.objects.get(slug=slug)
    return found


def dedicated_internet() -> ServiceType:
    return builtin_type("dedicated-internet")


def l2vpn() -> ServiceType:
    return builtin_type("l2vpn")


def load_provider() -> Provider:
    """Demo Telecom's provider of Dedicated Internet and L2VPN: available to its customers at every demo
    site, authorized by each customer for its whole subtree (so that their sub-tenants can order too)."""
    owner = Tenant.objects.get(slug="demo-telecom")
    provider = Provider.objects.filter(slug=DEMO_PROVIDER[1]).first()
    if provider is None:
        provider = Provider(name=DEMO_PROVIDER[0], slug=DEMO_PROVIDER[1], owner=owner,
                            description="Delivers Dedicated Internet and L2VPNs at every demo site.")
        provider.full_clean()
        provider.save()
    provider.service_types.add(dedicated_internet(), l2vpn())
    provider.available_in.add(*Location.objects.filter(kind="site"))
    for customer in CUSTOMERS:
        tenant = Tenant.objects.get(slug=customer["tenant"])
        provider.available_to.add(tenant)
        ProviderAuthorization.objects.get_or_create(provider=provider, tenant=tenant,
                                                    defaults={"scope": ProviderAuthorization.Scope.SUBTREE})
    return provider


@transaction.atomic
def load_inventory() -> dict:
    """Load tenants, locations, devices and the IPAM containers; returns counts for the summary."""
    load_tenants()
    types, roles = load_device_types(), load_device_roles()
    sites = load_sites()
    for site in sites:
        load_devices(site, types, roles)
    load_ipam()
    load_pools()
    load_l2vpn_support(sites)
    load_provider()
    return {
        "tenants": Tenant.objects.count(),
        "locations": Location.objects.count(),
        "devices": Device.objects.count(),
        "interfaces": Interface.objects.count(),
        "prefixes": Prefix.objects.count(),
        "pools": NumberPool.objects.count() + PrefixPool.objects.count() + IPAddressPool.objects.count(),
    }


@transaction.atomic
def load_customer_services() -> int:
    """Order the customers' demo services (drafts: nothing allocated); returns the number of services."""
    service_type = dedicated_internet()
    for customer in CUSTOMERS:
        for identifier, tenant, site, bandwidth, ip_package in customer["services"]:
            if not Service.objects.filter(service_identifier=identifier).exists():
                services.service_create(
                    service_type=service_type, service_identifier=identifier,
                    tenant=Tenant.objects.get(slug=tenant), location=Location.objects.get(slug=site),
                    attributes={"bandwidth": bandwidth, "ip_package": ip_package},
                )
    for identifier, tenant, topology, bandwidth, terminations in L2VPNS:
        if not Service.objects.filter(service_identifier=identifier).exists():
            services.service_create(
                service_type=l2vpn(), service_identifier=identifier, tenant=Tenant.objects.get(slug=tenant),
                location=Location.objects.get(slug=terminations[0][0]),  # the first termination's site
                attributes={"topology": topology, "bandwidth": bandwidth,
                            "terminations": [{"site": site, "vlan": vlan} for site, vlan in terminations]},
            )
    return Service.objects.count()


@transaction.atomic
def load_customer_user(customer: dict, password: str):
    """(Re)set a customer's login: staff (so the admin lets them in), no superuser, no model permission.

    All they may see and change comes from one membership: editor of their tenant, which reaches its
    sub-tenant too. Returns the user and the tenant.
    """
    tenant = Tenant.objects.get(slug=customer["tenant"])
    user, _ = get_user_model().objects.get_or_create(username=customer["username"])
    user.is_staff = user.is_active = True
    user.is_superuser = False
    user.set_password(password)
    user.save()
    user.user_permissions.clear()
    user.groups.clear()
    user.memberships.exclude(tenant=tenant).delete()
    Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": Membership.Role.EDITOR})
    return user, tenant
