"""Fields of the ipam API that speak NetBox's names over our own relations (issue 10).

- ``vrf`` (prefixes, addresses): the namespace, read as a brief VRF and written by id. "Global", the
  default namespace, is NetBox's global table: it reads as ``null``, and ``null`` written means it.
- ``group`` (VLANs): the L2 domain, read as a brief VLAN group and written by id; ``null`` written
  means the "default" domain, which is a group like any other.
- ``site`` (prefixes, VLANs, addresses): the site the object's location is or lies in, read as a
  brief site. Written (prefixes, VLANs), it places the object at that site, unless its location
  already lies in it (a building keeps its building).
- ``assigned_object_type``/``assigned_object_id`` (addresses): the interface, the way NetBox assigns
  an address to any object; only ``dcim.interface`` exists here.
- ``enforce_unique`` (VRFs): always true.

An alias and the field it stands for may both be written (a body read by GET and sent back has
both): they must then agree. ``NetBoxFieldsMixin`` folds the aliases into the model's fields.
"""

from rest_framework import serializers
from rest_framework.fields import empty

from catalog_site import access
from catalog_site.api.serializers import RelatedObjectField
from catalog_site.filtersets import MAX_ID
from dcim.models import Interface
from dcim.selectors import site_of, sites

SITE_SERIALIZER = "dcim.api.serializers.SiteSerializer"
INTERFACE_TYPE = "dcim.interface"
NOT_FOUND = "Not found: no such object is within your reach."


class AliasRelatedField(RelatedObjectField):
    """A relation of ours under NetBox's name: ``target`` is the model field it reads and writes.

    ``hidden``: values that read as ``null`` (the default namespace); ``null_value``: what ``null``
    written means (a callable; without it ``null`` clears the relation).
    """

    def __init__(self, *, target: str, hidden=None, null_value=None, **kwargs):
        self.target, self.hidden, self.null_value = target, hidden, null_value
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = getattr(instance, self.target)
        if value is None or (self.hidden is not None and self.hidden(value)):
            return None
        return value if self.access.can_see(value) else None

    def run_validation(self, data=empty):
        value = super().run_validation(data)
        return self.null_value() if value is None and self.null_value is not None else value


class SiteField(RelatedObjectField):
    """NetBox's ``site``: the site of the location found along ``location_path`` (read as a brief site)."""

    def __init__(self, *, location_path: str = "location", **kwargs):
        self.location_path = location_path.split(".")
        kwargs.setdefault("help_text", "The site the location is or lies in (NetBox's site).")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", sites())
            kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(serializer=SITE_SERIALIZER, **kwargs)

    def get_attribute(self, instance):
        location = instance
        for name in self.location_path:  # each hop visible: a hidden interface tells nothing of its device
            location = getattr(location, name, None)
            if location is None or not self.access.can_see(location):
                return None
        site = site_of(location)
        return site if site is not None and self.access.can_see(site) else None


class EnforceUniqueField(serializers.BooleanField):
    """NetBox's ``enforce_unique``: a namespace always holds each prefix and address once, so it reads
    ``true``; ``true`` is accepted on write and ``false`` refused."""

    default_error_messages = {"always": "A VRF (namespace) always enforces unique prefixes and addresses."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Always true: a namespace holds each prefix and address once.")
        super().__init__(source="*", required=False, **kwargs)

    def to_representation(self, instance) -> bool:
        return True

    def to_internal_value(self, data):
        if not super().to_internal_value(data):
            self.fail("always")
        return {}  # nothing to store


class AssignedObjectTypeField(serializers.ChoiceField):
    """What an address is assigned to: ``dcim.interface`` (the only kind here) or null."""

    default_error_messages = {"invalid_choice": f'"{{input}}" cannot hold an address: only {INTERFACE_TYPE} can.'}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", f"{INTERFACE_TYPE}, or null (with assigned_object_id).")
        super().__init__(choices=[INTERFACE_TYPE], required=False, allow_null=True, **kwargs)

    def get_attribute(self, instance):
        interface = visible_interface(self, instance)
        return INTERFACE_TYPE if interface is not None else None


class AssignedObjectIdField(serializers.IntegerField):
    """The id of the interface an address is assigned to, or null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The interface's id (with assigned_object_type dcim.interface), or null.")
        super().__init__(required=False, allow_null=True, min_value=1, max_value=MAX_ID, **kwargs)

    def get_attribute(self, instance):
        interface = visible_interface(self, instance)
        return interface.pk if interface is not None else None


def visible_interface(field, instance):
    interface = instance.interface
    if interface is None or not access.for_request(field.context.get("request")).can_see(interface):
        return None
    return interface


ASSIGNMENT_FIELDS = ("assigned_object_type", "assigned_object_id")


class AssignmentSerializer(serializers.Serializer):
    """``assigned_object_type`` and ``assigned_object_id`` alone (the ``available-ips`` POSTs)."""

    assigned_object_type = AssignedObjectTypeField()
    assigned_object_id = AssignedObjectIdField()


def assigned_interface(rights: access.Access, attrs: dict, *, current=None):
    """The interface ``assigned_object_type``/``assigned_object_id`` of ``attrs`` name (popped from it).

    Returns ``(given, interface)``: ``given`` is False when neither is in ``attrs``. An id with a
    null type, a type without an id (on an unassigned address), and an interface the caller cannot
    see are a ValidationError naming the field.
    """
    kind = attrs.pop("assigned_object_type", empty)
    pk = attrs.pop("assigned_object_id", empty)
    if kind is empty and pk is empty:
        return False, None
    if pk is None or (kind is None and pk is empty):
        return True, None
    if pk is empty:  # the type alone: the assignment stays as it is, if there is one
        if current is None:
            raise serializers.ValidationError({"assigned_object_id": "Required with assigned_object_type."})
        return True, current
    if kind is None:
        raise serializers.ValidationError({"assigned_object_type": f"Required with assigned_object_id: "
                                                                   f"{INTERFACE_TYPE}."})
    interface = rights.restrict(Interface.objects.select_related("device")).filter(pk=pk).first()
    if interface is None:
        raise serializers.ValidationError({"assigned_object_id": f"{NOT_FOUND} (no interface with id {pk})"})
    return True, interface


class NetBoxFieldsMixin:
    """Folds the NetBox fields of a model serializer into the model's own before validation.

    The aliases (``vrf``, ``group``) into their target, ``site`` into ``location``, and the assigned
    object into ``interface``; each disagreement with the field written beside it is a 400 naming
    the NetBox field.
    """

    def validate(self, attrs):
        instance = self.instance if not isinstance(self.instance, list | tuple) else None
        for name, field in self.fields.items():
            if isinstance(field, AliasRelatedField) and name in attrs:
                self.fold(attrs, name, field.target, attrs.pop(name))
        if "site" in attrs and not self.fields["site"].read_only:
            self.place_at_site(attrs, instance, attrs.pop("site"))
        if "assigned_object_type" in self.fields:
            rights = access.for_request(self.context.get("request"))
            given, interface = assigned_interface(rights, attrs, current=getattr(instance, "interface", None))
            if given:
                self.fold(attrs, "assigned_object_id", "interface", interface)
        return super().validate(attrs)

    @staticmethod
    def fold(attrs, name, target, value):
        if target in attrs and attrs[target] != value:
            raise serializers.ValidationError(
                {name: f"Names {value or 'nothing'}, but {target} names {attrs[target] or 'nothing'}: "
                       f"write one of them, or both alike."})
        attrs[target] = value

    @staticmethod
    def place_at_site(attrs, instance, site):
        """Set ``location`` from ``site``: kept if it lies in the site already, else the site itself."""
        given = "location" in attrs
        location = attrs["location"] if given else getattr(instance, "location", None)
        current_site = site_of(location)
        if current_site == site:
            return
        if given and location is not None:
            raise serializers.ValidationError(
                {"site": f"The location {location} is not in the site {site or 'null'}: write one of them, "
                         f"or both alike."})
        attrs["location"] = site if site is not None else (location if current_site is None else None)
