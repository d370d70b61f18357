"""The L2VPN generator: a VPLS (or, between two sites, a pseudowire) id, and per termination a port and a VLAN.

For service L2VPN-1 with terminations at Paris 1 (VLAN 100) and Brussels 1 (VLAN 200), the desired
state is:

- the VPLS/pseudowire id, a number from the "L2VPN id pool" (the same one on every run);
- per termination, a free customer port on one of the site's core switches that can carry the
  bandwidth (``ports.customer_port``, the same choice as Dedicated Internet: the termination's own
  port while it still can); enabled, active, access mode, untagged in the termination's VLAN;
- per termination, VLAN ``l2vpn__L2VPN-1__par1`` with the customer's VLAN id, in the site's L2 domain;
- the port of each termination (its ``port`` field) and the documentation attribute: markdown with a
  table of the terminations and a mermaid diagram of the VPLS and its terminations.

VLAN ids: the customer chooses the VLAN id handed over at each site, so two customers (or two sites of
one customer) may well choose the same id. The VLANs of a site's customer ports therefore live in an
L2 domain of that site, "Customer VLANs of <site slug>" (``site_l2domain``): an id is unique per
site, as on the site's switches, and VLAN 100 at Paris 1 never clashes with VLAN 100 at Brussels 1.
The domain is shared infrastructure: the demo inventory creates one per site, and the generator
creates a missing one without owning it (it outlives every service). An id already in use at the
site, by another service's VLAN in that domain or by any VLAN on the site's devices (a Dedicated
Internet VLAN of the global pool), fails the run with the reason.

The service's own ``location`` (every service has one; the demo orders at the first termination's
site) only says where the order was placed and which provider takes it: the generator works from the
terminations.

Ownership is per termination: the roles carry the site (``port:par1``, ``vlan:par1``), so that
removing a termination (an ``rw+`` change while active) gives back exactly its port and deletes
exactly its VLAN, and the framework leaves the other terminations alone.
"""

from catalog_site.locks import advisory_lock
from dcim.models import Interface, Location
from ipam.models import VLAN, L2Domain

from .base import Generator, GeneratorError
from .markdown import md_link, md_text, mermaid_text
from .ports import FREE_PORT, customer_port

ID_POOL = "L2VPN id pool"
L2DOMAIN_NAME = "Customer VLANs of {slug}"
POINT_TO_POINT = "point-to-point"
ROLE_LENGTH = 50  # ServiceResource.role


def site_l2domain(site: Location) -> tuple[L2Domain, bool]:
    """The L2 domain of the customer VLANs of ``site`` (created when missing) and whether it was created."""
    return L2Domain.objects.get_or_create(name=L2DOMAIN_NAME.format(slug=site.slug))


def termination_role(kind: str, site: Location) -> str:
    """The ownership role of a termination's ``kind`` (port, vlan): the site in it keeps terminations apart."""
    role = f"{kind}:{site.slug}"
    return role if len(role) <= ROLE_LENGTH else f"{kind}:#{site.pk}"


class L2VPNGenerator(Generator):
    """Provisions an L2VPN (see the module docstring for the desired state)."""

    @classmethod
    def validate_attributes(cls, attributes: dict) -> dict[str, list[str]]:
        """Rules across attributes: a point-to-point L2VPN joins exactly two sites."""
        terminations = attributes.get("terminations") or []
        if attributes.get("topology") == POINT_TO_POINT and len(terminations) != 2:
            return {"terminations": [
                f"A point-to-point L2VPN has exactly two terminations; {len(terminations)} given."]}
        return {}

    def generate(self) -> None:
        problems = self.validate_attributes(self.attributes)
        if problems:
            raise GeneratorError(" ".join(message for messages in problems.values() for message in messages))
        bandwidth = int(self.attributes["bandwidth"])
        vpls_id = self.allocate_number(ID_POOL, role="vpls_id")
        self.log(f"VPLS id {vpls_id}.")
        delivered = []
        for termination in self.attributes.get("terminations") or []:
            site = self.site(termination["site"])
            vlan = self.termination_vlan(site, int(termination["vlan"]))
            port = customer_port(self, site=site, bandwidth=bandwidth, role=termination_role("port", site))
            self.claim(port, role=termination_role("port", site), give_back=FREE_PORT, changes={
                "status": Interface.Status.ACTIVE, "enabled": True, "mode": Interface.Mode.ACCESS,
                "untagged_vlan": vlan, "description": f"{self.identifier} VPLS {vpls_id} ({bandwidth} Mbps)"})
            self.log(f"{site.name}: customer port {port.device.name} {port.name} ({port.speed} Mbps), "
                     f"VLAN {vlan.vid}.")
            delivered.append((termination, site, port, vlan))
        self.set_attributes(
            terminations=[{**termination, "port": f"{port.device.name} {port.name}"}
                          for termination, _site, port, _vlan in delivered],
            documentation=self.documentation(vpls_id, delivered),
        )

    def site(self, slug: str) -> Location:
        """The site of a termination; a site deleted or turned into something else since the order fails."""
        site = Location.objects.filter(slug=slug, kind=Location.Kind.SITE).first()
        if site is None:
            raise GeneratorError(f"Termination at {slug}: there is no site {slug!r} (any more).")
        return site

    def termination_vlan(self, site: Location, vid: int) -> VLAN:
        """The termination's VLAN in the site's L2 domain; an id someone else uses at the site fails the run."""
        domain, created = site_l2domain(site)
        if created:
            self._change("created", domain, {"name": [None, domain.name]})
            self.log(f"Created L2 domain {domain.name} (shared: it stays when the service goes).")
        # Two services at one site must not both take a free id: checking and taking is serialised per domain.
        advisory_lock(f"ipam:l2domain-vids:{domain.pk}")
        role = termination_role("vlan", site)
        mine = {vlan.pk for vlan in self.owned(role)}
        existing = VLAN.objects.filter(l2domain=domain, vid=vid).first()
        if existing is not None and existing.pk not in mine:
            raise GeneratorError(f"Termination at {site.name}: VLAN {vid} is already used at {site.name} "
                                 f"({existing.name}); choose another VLAN.")
        used = (Interface.objects.filter(device__location=site, untagged_vlan__vid=vid)
                .exclude(untagged_vlan__l2domain=domain).select_related("device", "untagged_vlan").first())
        if used is not None:
            raise GeneratorError(f"Termination at {site.name}: VLAN {vid} is already used at {site.name} "
                                 f"({used.device.name} {used.name}, {used.untagged_vlan.name}); choose another VLAN.")
        return self.upsert(VLAN, {"l2domain": domain, "vid": vid}, {
            "name": f"l2vpn__{self.identifier}__{site.slug}"[:100], "status": VLAN.Status.ACTIVE,
            "tenant": self.service.tenant, "location": site,
            "description": f"L2VPN {self.identifier} at {site.name}"}, role=role)

    def documentation(self, vpls_id: int, delivered: list) -> str:
        """The service's documentation: a summary, a table of terminations with admin links, a mermaid diagram."""
        service = self.service
        point_to_point = self.attributes.get("topology") == POINT_TO_POINT
        kind = "Pseudowire" if point_to_point else "VPLS"
        bandwidth, mtu = self.attributes["bandwidth"], self.attributes.get("mtu")
        rows = "\n".join(
            f"| {md_link(site.name, site)} | {md_link(f'{port.device.name} {port.name}', port)} ({port.speed} Mbps) "
            f"| {md_link(f'{vlan.vid}', vlan)} |"
            for _termination, site, port, vlan in delivered)
        centre = f'  vpls(("{mermaid_text(f"{kind} {vpls_id}")}"))'
        nodes = "\n".join(
            f'  t{index}["{mermaid_text(f"{site.name}<br/>{port.device.name} {port.name}<br/>VLAN {vlan.vid}")}"]'
            f" --- vpls" for index, (_termination, site, port, vlan) in enumerate(delivered, start=1))
        return (
            f"# L2VPN {md_text(service.service_identifier)}\n\n"
            f"Customer {md_text(service.tenant.name)}: {'point-to-point' if point_to_point else 'multipoint'}, "
            f"{kind.lower()} id {vpls_id}, {bandwidth} Mbps, MTU {mtu if mtu is not None else 'default'}, "
            f"{len(delivered)} terminations.\n\n"
            f"| Site | Customer port | VLAN |\n|------|---------------|------|\n{rows}\n\n"
            f"```mermaid\ngraph LR\n{centre}\n{nodes}\n```\n"
        )
