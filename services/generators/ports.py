"""Customer ports on a site's core switches: which one a service gets, and what a free one looks like.

Shared by the generators that hand a customer a port (Dedicated Internet, L2VPN), so that they choose
the same way and a port given back by one is taken again by the other on the same terms.
"""

from catalog_site.locks import advisory_lock
from dcim.models import DeviceRole, Interface, Location

from .base import Generator, GeneratorError

# What a customer port looks like when no service holds it.
FREE_PORT = {"status": Interface.Status.FREE, "enabled": False, "mode": "", "untagged_vlan": None, "description": ""}


def choose_port(candidates: list[Interface]) -> Interface | None:
    """The switch with the most free capable ports, then the lowest index; its first port by name."""
    by_switch: dict[int, list[Interface]] = {}
    for port in candidates:
        by_switch.setdefault(port.device_id, []).append(port)
    if not by_switch:
        return None
    ports = min(by_switch.values(), key=lambda ports: (
        -len(ports), ports[0].device.index if ports[0].device.index is not None else 1 << 16, ports[0].device.name))
    return min(ports, key=lambda port: port.name_key)  # Ethernet4 before Ethernet10


def customer_port(generator: Generator, *, site: Location, bandwidth: int, role: str) -> Interface:
    """The port the service holds under ``role`` if it can still carry ``bandwidth`` at ``site``,
    else a free capable customer port of the site's core switches (``choose_port``).

    Raises ``GeneratorError`` when the site has none left.
    """
    for port in generator.owned(role):
        port = Interface.objects.select_related("device__role").get(pk=port.pk)
        if (port.speed or 0) >= bandwidth and port.device.location_id == site.pk \
                and port.device.role.slug == DeviceRole.CORE:
            return port
        generator.log(f"{port.device.name} {port.name} ({port.speed} Mbps) cannot carry {bandwidth} Mbps any more.")
    # Two services at one site must not pick the same free port: choosing is serialised per site.
    advisory_lock(f"dcim:customer-ports:{site.pk}")
    candidates = list(Interface.objects.filter(
        device__location=site, device__role__slug=DeviceRole.CORE, role=Interface.Role.CUSTOMER,
        status=Interface.Status.FREE, speed__gte=bandwidth,
    ).select_related("device"))
    port = choose_port(candidates)
    if port is None:
        raise GeneratorError(f"No free customer port of {bandwidth} Mbps or more on the core switches of "
                             f"{site.name}.")
    return port
