"""NetBox's choice values where NetBox clients send them (interface types, site statuses).

The values are NetBox's own, so that a script written for NetBox sends values we accept; the lists
are a subset (the interfaces a service provider's switches and routers have).
"""

from django.db import models


class InterfaceType:
    """The physical or logical kind of an interface, by NetBox's values (``1000base-t``, ``virtual``)."""

    VIRTUAL = "virtual"
    BRIDGE = "bridge"
    LAG = "lag"
    OTHER = "other"

    CHOICES = [
        ("Virtual interfaces", [
            (VIRTUAL, "Virtual"),
            (BRIDGE, "Bridge"),
            (LAG, "Link Aggregation Group (LAG)"),
        ]),
        ("Ethernet (fixed)", [
            ("100base-tx", "100BASE-TX (10/100ME)"),
            ("1000base-t", "1000BASE-T (1GE)"),
            ("2.5gbase-t", "2.5GBASE-T (2.5GE)"),
            ("5gbase-t", "5GBASE-T (5GE)"),
            ("10gbase-t", "10GBASE-T (10GE)"),
            ("10gbase-cx4", "10GBASE-CX4 (10GE)"),
        ]),
        ("Ethernet (modular)", [
            ("1000base-x-gbic", "GBIC (1GE)"),
            ("1000base-x-sfp", "SFP (1GE)"),
            ("10gbase-x-sfpp", "SFP+ (10GE)"),
            ("10gbase-x-xfp", "XFP (10GE)"),
            ("25gbase-x-sfp28", "SFP28 (25GE)"),
            ("50gbase-x-sfp56", "SFP56 (50GE)"),
            ("40gbase-x-qsfpp", "QSFP+ (40GE)"),
            ("50gbase-x-sfp28", "QSFP28 (50GE)"),
            ("100gbase-x-cfp", "CFP (100GE)"),
            ("100gbase-x-cfp2", "CFP2 (100GE)"),
            ("100gbase-x-cfp4", "CFP4 (100GE)"),
            ("100gbase-x-qsfp28", "QSFP28 (100GE)"),
            ("200gbase-x-qsfp56", "QSFP56 (200GE)"),
            ("400gbase-x-qsfpdd", "QSFP-DD (400GE)"),
            ("400gbase-x-osfp", "OSFP (400GE)"),
            ("800gbase-x-qsfpdd", "QSFP-DD (800GE)"),
            ("800gbase-x-osfp", "OSFP (800GE)"),
        ]),
        ("Wireless", [
            ("ieee802.11ac", "IEEE 802.11ac"),
            ("ieee802.11ax", "IEEE 802.11ax"),
        ]),
        ("Cellular", [
            ("lte", "LTE"),
        ]),
        ("SONET", [
            ("sonet-oc3", "OC-3/STM-1"),
            ("sonet-oc12", "OC-12/STM-4"),
            ("sonet-oc48", "OC-48/STM-16"),
            ("sonet-oc192", "OC-192/STM-64"),
        ]),
        ("Serial", [
            ("t1", "T1 (1.544 Mbps)"),
            ("e1", "E1 (2.048 Mbps)"),
            ("t3", "T3 (45 Mbps)"),
            ("e3", "E3 (34 Mbps)"),
        ]),
        ("Other", [
            (OTHER, "Other"),
        ]),
    ]
    VALUES = frozenset(value for _, group in CHOICES for value, _ in group)
    # The types that are no port of the chassis (NetBox's VIRTUAL_IFACE_TYPES).
    VIRTUAL_TYPES = frozenset({VIRTUAL, BRIDGE, LAG})


class SiteStatus(models.TextChoices):
    """NetBox's site statuses, kept on every location."""

    PLANNED = "planned", "Planned"
    STAGING = "staging", "Staging"
    ACTIVE = "active", "Active"
    DECOMMISSIONING = "decommissioning", "Decommissioning"
    RETIRED = "retired", "Retired"
