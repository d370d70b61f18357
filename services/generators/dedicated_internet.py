"""The Dedicated Internet generator: a customer port on a core switch, a VLAN, a prefix and its gateway.

For service DI-12345 at a site, with a bandwidth and an IP package, the desired state is:

- VLAN ``vlan__DI-12345`` with an id from the "Customer vlan pool";
- a prefix of the package's length (small /29, medium /28, large /27) from the "Customer prefixes pool";
- a free customer port on one of the site's core switches that can carry the bandwidth: the service's
  own port while it still can, otherwise the switch with the most free capable ports, then the lowest
  index, then the first port by name; enabled, active, access mode, untagged in the VLAN;
- on the edge router with the switch's index, the layer-3 interface ``vlan_<vid>`` in the VLAN, holding
  the prefix's first host (with the prefix length) as the prefix's gateway;
- the documentation attribute: markdown with a mermaid diagram and links to each object's admin page.
"""


import netaddr

from dcim.choices import InterfaceType
from dcim.models import Device, DeviceRole, Interface
from ipam.addressing import pack
from ipam.models import VLAN, IPAddress, L2Domain, NumberPool

from .base import Generator, GeneratorError
from .markdown import md_link, md_text, mermaid_text
from .ports import FREE_PORT, choose_port, customer_port

__all__ = ["FREE_PORT", "DedicatedInternetGenerator", "choose_port"]

VLAN_POOL = "Customer vlan pool"
PREFIX_POOL = "Customer prefixes pool"

class DedicatedInternetGenerator(Generator):
    """Provisions a Dedicated Internet service (see the module docstring for the desired state)."""

    def generate(self) -> None:
        service, identifier = self.service, self.identifier
        site = service.location
        bandwidth = int(self.attributes["bandwidth"])
        prefix_length = self.choice_annotation("ip_package", "prefix_length")

        vid = self.allocate_number(VLAN_POOL, role="vlan_id")
        l2domain = self.pool(NumberPool, VLAN_POOL).l2domain or L2Domain.get_default()
        vlan = self.upsert(VLAN, {"l2domain": l2domain, "vid": vid},
                           {"name": f"vlan__{identifier}", "status": VLAN.Status.ACTIVE, "tenant": service.tenant,
                            "description": f"Dedicated Internet {identifier}"}, role="vlan")
        self.log(f"VLAN {vlan.vid} ({vlan.name}).")

        prefix = self.allocate_prefix(PREFIX_POOL, role="prefix", prefix_length=prefix_length, fields={
            "status": "active", "tenant": service.tenant, "location": site, "vlan": vlan,
            "description": f"Dedicated Internet {identifier}"})
        self.log(f"Prefix {prefix.prefix}.")

        port = self.customer_port(bandwidth)
        self.claim(port, role="dedicated_interfaces", give_back=FREE_PORT, changes={
            "status": Interface.Status.ACTIVE, "enabled": True, "mode": Interface.Mode.ACCESS,
            "untagged_vlan": vlan, "description": f"{identifier} ({bandwidth} Mbps)"})
        self.log(f"Customer port {port.device.name} {port.name} ({port.speed} Mbps).")

        router = Device.objects.filter(location=site, role__slug=DeviceRole.EDGE, index=port.device.index).first()
        if router is None:
            raise GeneratorError(f"{site.name} has no edge router with index {port.device.index}, "
                                 f"the pair of {port.device.name}.")
        router_interface = self.upsert(Interface, {"device": router, "name": f"vlan_{vid}"}, {
            "type": InterfaceType.VIRTUAL, "layer": Interface.Layer.L3, "role": Interface.Role.CUSTOMER,
            "status": Interface.Status.ACTIVE, "enabled": True, "mode": "", "untagged_vlan": vlan,
            "description": f"Dedicated Internet {identifier}",
        }, role="gateway_interface")

        first_host = netaddr.IPNetwork(prefix.prefix)[1]
        gateway = self.upsert(
            IPAddress,
            {"namespace_id": prefix.namespace_id, "family": prefix.family, "host": pack(int(first_host))},
            {"address": f"{first_host}/{prefix.prefix_length}", "status": IPAddress.Status.ACTIVE,
             "role": IPAddress.Role.GATEWAY, "interface": router_interface, "tenant": service.tenant,
             "description": f"Gateway of {identifier}"},
            role="gateway_ip_address",
        )
        self.update(prefix, {"gateway": gateway})
        self.log(f"Gateway {gateway.address} on {router.name} {router_interface.name}.")

        self.set_attributes(documentation=self.documentation(
            port=port, vlan=vlan, router=router, router_interface=router_interface, gateway=gateway, prefix=prefix))

    def customer_port(self, bandwidth: int) -> Interface:
        """The service's port if it can still carry ``bandwidth``, else a free capable one of the site."""
        return customer_port(self, site=self.service.location, bandwidth=bandwidth, role="dedicated_interfaces")

    def documentation(self, *, port, vlan, router, router_interface, gateway, prefix) -> str:
        """The service's documentation: a summary, a table of resources with admin links, a mermaid diagram."""
        service, site = self.service, self.service.location
        rows = [
            ("Site", site, site.name),
            ("Customer port", port, f"{port.device.name} {port.name} ({port.speed} Mbps)"),
            ("VLAN", vlan, f"{vlan.name} ({vlan.vid})"),
            ("Router interface", router_interface, f"{router.name} {router_interface.name}"),
            ("Gateway", gateway, gateway.address),
            ("Prefix", prefix, prefix.prefix),
        ]
        table = "\n".join(f"| {label} | {md_link(text, obj)} |" for label, obj, text in rows)
        package = self.attributes.get("ip_package")
        nodes = [
            ("site", f"Site {site.name}"),
            ("port", f"{port.device.name} {port.name}<br/>{self.attributes['bandwidth']} Mbps"),
            ("vlan", f"VLAN {vlan.vid}<br/>{vlan.name}"),
            ("l3", f"{router.name} {router_interface.name}"),
            ("gateway", f"Gateway {gateway.address}"),
            ("prefix", f"Prefix {prefix.prefix}"),
        ]
        diagram = "\n".join(f'  {key}["{mermaid_text(label)}"]' for key, label in nodes)
        edges = "\n".join(f"  {a} --- {b}" for (a, _), (b, _) in zip(nodes, nodes[1:], strict=False))
        return (
            f"# Dedicated Internet {md_text(service.service_identifier)}\n\n"
            f"Customer {md_text(service.tenant.name)} at {md_text(site.name)}: "
            f"{self.attributes['bandwidth']} Mbps, IP package {md_text(str(package))} (/{prefix.prefix_length}).\n\n"
            f"| Resource | Value |\n|----------|-------|\n{table}\n\n"
            f"```mermaid\ngraph LR\n{diagram}\n{edges}\n```\n"
        )

