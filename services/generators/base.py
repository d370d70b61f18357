"""The generator framework: a generator describes a service's desired state; the framework makes it so.

A generator subclasses ``Generator`` and implements ``generate()`` with the helpers below. Each
helper records the object it produces as owned by the service (a ``ServiceResource`` row: role and
object) and notes what it changed. When ``generate()`` returns, ``apply()`` compares with what the
service owned before:

- an owned object not produced again is deleted (a pool ledger entry is released through the pool);
- a shared object the service only claimed (a switch port) is given back with the values recorded
  when it was claimed (status free, no VLAN, ...);
- a generator-owned (``r``) attribute not set again is cleared, and so is an ``r`` field of a list's
  items (a termination's port): the run sets the list back with those fields filled in.

Decommissioning is a run that produces nothing. Objects are compared field by field, so a run that
finds everything in place writes nothing and reports no change. The framework never commits: the
caller (``services.runs``) holds the transaction and decides whether it stands.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse

from catalog_site import changelog
from ipam import allocation
from ipam.models import IPAddressAllocation, IPAddressPool, NumberAllocation, NumberPool, PrefixAllocation, PrefixPool

from .. import services
from ..models import Service, ServiceResource

# Ledger rows are given back through their pool, so that the pool's free list stays right.
LEDGER_MODELS = (NumberAllocation, PrefixAllocation, IPAddressAllocation)


class GeneratorError(Exception):
    """A run that cannot be done (no free port, no such pool); the message is shown to people as is."""


def object_label(obj) -> str:
    """``app_label.model`` of an object, as changes and resources name it."""
    return obj._meta.label_lower


def admin_url(obj) -> str | None:
    """The admin change page of ``obj``, or None if its model has no admin."""
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def _json_value(value):
    """A field value as JSON can hold it (related objects by id; binary columns are not shown)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, bytes | memoryview):
        return None
    return value


def _fill_item_fields(attribute: dict, stored: list[dict], given: list[dict] | None) -> list[dict]:
    """The stored items of a list attribute with their ``r`` fields as the run set them (matched by the
    list's ``item_key``); an item the run set nothing for (decommissioning) loses them. The items and
    their other fields stay as the user left them."""
    key, fields = attribute["item_key"], services.generated_item_fields(attribute)
    produced = {item.get(key): item for item in given or [] if isinstance(item, dict)}
    items = []
    for item in stored:
        values = produced.get(item.get(key), {})
        kept = {name: value for name, value in item.items() if name not in fields}
        items.append(kept | {name: values[name] for name in fields if values.get(name) is not None})
    return items


class Generator:
    """Base class of generators. Subclasses implement ``generate()``; see the module docstring.

    ``service`` is the service's row, locked for the run; ``attributes`` its attribute values.
    """

    def __init__(self, *, service: Service, log=None):
        self.service = service
        self.identifier = service.service_identifier
        self.attributes = dict(service.attributes)
        self.changes: list[dict] = []
        self._write_log = log or (lambda line: None)
        self._pools: dict[tuple[type, str], object] = {}
        self._produced: dict[tuple[str, int, int], dict | None] = {}  # (role, ct, id) -> give_back
        self._produced_order: list[tuple[str, int, int]] = []
        self._set_attributes: dict = {}
        self._owned = list(
            ServiceResource.objects.filter(service=service).select_related("content_type").prefetch_related("object")
        )

    # -- to implement ------------------------------------------------------------------------------
    def generate(self) -> None:
        """Describe the desired state with the helpers. Raise ``GeneratorError`` when it cannot be met."""
        raise NotImplementedError

    # -- reading what the service already has ------------------------------------------------------
    def owned(self, role: str) -> list:
        """The objects the service owned under ``role`` before this run (those that still exist)."""
        return [row.object for row in self._owned if row.role == role and row.object is not None]

    def choice_annotation(self, attribute: str, key: str):
        """An annotation of the chosen value of a choice attribute (``ip_package`` -> ``prefix_length``)."""
        definition = self.service.service_type.attribute_map()[attribute]
        value = self.attributes.get(attribute)
        for choice in definition["choices"]:
            if str(choice["value"]) == str(value):
                return choice["annotations"].get(key)
        raise GeneratorError(f"{attribute} {value!r} is not one of the choices of {self.service.service_type.name}.")

    # -- helpers -----------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        """Write a line to the run's log (visible while the run works)."""
        self._write_log(str(line))

    def upsert(self, model, lookup: dict, defaults: dict | None = None, *, role: str):
        """The object of ``model`` found by its natural key ``lookup``, created or brought to ``defaults``.

        It is recorded as owned under ``role``: when a later run no longer produces it, it is deleted.
        """
        defaults = defaults or {}
        obj = model._default_manager.filter(**lookup).first()
        if obj is None:
            obj = model(**lookup, **defaults)
            self._save(obj, created=True)
            self._change("created", obj, {name: [None, _json_value(value)] for name, value in
                                          (defaults | lookup).items() if _json_value(value) is not None})
        else:
            self.update(obj, defaults)
        self._own(obj, role)
        return obj

    def update(self, obj, fields: dict):
        """Bring ``obj`` (already produced by this run) to ``fields``; only differing fields are written."""
        changed = self._assign(obj, fields)
        if changed:
            self._save(obj, update_fields=[obj._meta.get_field(name).attname for name in changed])
            self._change("updated", obj, changed)
        return obj

    def claim(self, obj, *, role: str, changes: dict, give_back: dict):
        """Take a shared object (a switch port) for the service, setting ``changes``.

        When a later run no longer claims it, ``give_back`` is applied instead of deleting it. An
        object another service holds is refused.
        """
        content_type = ContentType.objects.get_for_model(obj)
        holder = (ServiceResource.objects.filter(content_type=content_type, object_id=obj.pk)
                  .exclude(service=self.service).select_related("service").first())
        if holder is not None:
            raise GeneratorError(f"{obj} is already held by service {holder.service} ({holder.role}).")
        self.update(obj, changes)
        self._own(obj, role, give_back={name: _json_value(value) for name, value in give_back.items()})
        return obj

    def set_attributes(self, **values) -> None:
        """Set generator-owned (``r``) attributes of the service (documentation, allocated values).

        A list attribute whose items have ``r`` fields is set whole, items matched by its ``item_key``:
        only those fields are taken; the items and their other fields stay the user's.
        """
        self._set_attributes.update(values)

    # -- pools -------------------------------------------------------------------------------------
    def pool(self, model, name: str):
        """The pool of ``model`` called ``name`` (looked up once per run)."""
        key = (model, name)
        if key not in self._pools:
            try:
                self._pools[key] = model.objects.get(name=name)
            except model.DoesNotExist:
                raise GeneratorError(f"There is no {model._meta.verbose_name} named {name!r}.") from None
        return self._pools[key]

    # A service's existing ledger entry is read without the pool's lock: the entry is the service's
    # (unique per pool and identifier) and runs of one service are serialised, so re-runs of many
    # services do not queue on a pool lock held to the end of each run. Only a new allocation locks.

    def allocate_number(self, pool_name: str, *, role: str) -> int:
        """A number from the number pool ``pool_name`` for this service (the same one on every run)."""
        pool = self.pool(NumberPool, pool_name)
        entry = NumberAllocation.objects.filter(pool=pool, identifier=self.identifier).first()
        if entry is None:
            value = self._allocate(allocation.allocate_number, pool=pool, identifier=self.identifier).resource
            entry = NumberAllocation.objects.get(pool=pool, identifier=self.identifier)
            self._change("created", entry, {"value": [None, value]})
        self._own(entry, role)
        return entry.value

    def allocate_prefix(self, pool_name: str, *, role: str, prefix_length: int | None = None,
                        fields: dict | None = None):
        """A prefix from the prefix pool ``pool_name`` for this service, brought to ``fields``."""
        pool = self.pool(PrefixPool, pool_name)
        fields = fields or {}
        entry = PrefixAllocation.objects.select_related("prefix").filter(pool=pool, identifier=self.identifier).first()
        length = prefix_length if prefix_length is not None else pool.default_prefix_length
        if entry is not None and entry.prefix.prefix_length == length:
            result = allocation.Allocation(entry.prefix, False)
        else:  # new, or a different length: the allocator decides (and refuses a change of size)
            result = self._allocate(allocation.allocate_prefix, pool=pool, identifier=self.identifier,
                                    prefix_length=prefix_length,
                                    data=self._allocation_data(fields, allocation.PREFIX_DATA_FIELDS))
        return self._allocated(result, fields, allocation.PREFIX_DATA_FIELDS, role)

    def allocate_ip(self, pool_name: str, *, role: str, fields: dict | None = None):
        """An address from the IP address pool ``pool_name`` for this service, brought to ``fields``."""
        pool = self.pool(IPAddressPool, pool_name)
        fields = fields or {}
        entry = IPAddressAllocation.objects.select_related("ip_address").filter(
            pool=pool, identifier=self.identifier).first()
        if entry is not None:
            result = allocation.Allocation(entry.ip_address, False)
        else:
            result = self._allocate(allocation.allocate_ip_address, pool=pool, identifier=self.identifier,
                                    data=self._allocation_data(fields, allocation.IP_DATA_FIELDS))
        return self._allocated(result, fields, allocation.IP_DATA_FIELDS, role)

    # -- the run -----------------------------------------------------------------------------------
    def apply(self, *, produce: bool = True) -> list[dict]:
        """Run ``generate()`` (unless ``produce`` is False: decommissioning), then clean up; the changes."""
        if produce:
            self.generate()
        self._give_back_and_delete()
        if not produce:
            self._release_ledger()
        self._record_ownership()
        self._write_attributes()
        return self.changes

    # -- internals ---------------------------------------------------------------------------------
    def _allocate(self, function, **kwargs):
        try:
            return function(**kwargs)
        except allocation.AllocationError as exc:
            raise GeneratorError(str(exc)) from exc

    @staticmethod
    def _allocation_data(fields: dict, accepted: set[str]) -> dict:
        """``fields`` as the allocator takes them (related objects by id); the rest is set afterwards."""
        return {name: (value.pk if isinstance(value, models.Model) else value) for name, value in fields.items()
                if name in accepted}

    def _allocated(self, result, fields: dict, accepted: set[str], role: str):
        obj = result.resource
        if result.created:
            # The allocator set the fields it knows; the others (a prefix's gateway) are part of the creation.
            extra = {name: value for name, value in fields.items() if name not in accepted}
            changed = self._assign(obj, extra)
            if changed:
                self._save(obj, update_fields=[obj._meta.get_field(name).attname for name in changed])
            self._change("created", obj, {name: [None, _json_value(value)] for name, value in fields.items()
                                          if _json_value(value) is not None})
        else:
            self.update(obj, fields)
        self._own(obj, role)
        return obj

    def _assign(self, obj, fields: dict) -> dict:
        """Set ``fields`` on ``obj``; the ones that differed, as ``{name: [old, new]}``."""
        changed = {}
        for name, value in fields.items():
            field = obj._meta.get_field(name)
            old = getattr(obj, field.attname)
            new = value.pk if isinstance(value, models.Model) else value
            if old != new:
                changed[name] = [_json_value(old), _json_value(new)]
                setattr(obj, name if isinstance(value, models.Model) else field.attname, value)
        return changed

    def _save(self, obj, *, created: bool = False, update_fields=None) -> None:
        # Relations are not checked one query each: the database's foreign keys stand behind them.
        relations = [field.name for field in obj._meta.concrete_fields if field.is_relation]
        obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
        if update_fields is not None and any(f.name == "last_updated" for f in obj._meta.concrete_fields):
            update_fields = [*update_fields, "last_updated"]
        obj.save(update_fields=update_fields)

    def _change(self, action: str, obj, fields: dict | None = None) -> None:
        entry = {"action": action, "model": object_label(obj), "id": obj.pk, "display": str(obj)}
        if fields:
            entry["fields"] = fields
        self.changes.append(entry)

    def _own(self, obj, role: str, give_back: dict | None = None) -> None:
        key = (role, ContentType.objects.get_for_model(obj).pk, obj.pk)
        if key not in self._produced:
            self._produced_order.append(key)
        self._produced[key] = give_back

    def _give_back_and_delete(self) -> None:
        """Give back the claimed objects and delete the owned ones that this run did not produce."""
        leftovers = [row for row in self._owned if (row.role, row.content_type_id, row.object_id) not in self._produced]
        produced_objects = {(ct, pk) for _, ct, pk in self._produced}
        # Shared objects first (a port still pointing at a VLAN about to go); then owned ones, newest first,
        # so that dependants (a gateway address) go before what they hang on (its interface).
        leftovers.sort(key=lambda row: (row.give_back is None, -row.pk))
        for row in leftovers:
            obj = row.object
            if obj is None:
                self.log(f"{row.role}: {row.content_type.app_label}.{row.content_type.model} "
                         f"{row.object_id} is already gone.")
            elif (row.content_type_id, row.object_id) in produced_objects:
                pass  # produced again under another role: nothing to give back
            elif row.give_back is not None:
                self._release_shared(obj, row)
            else:
                self._delete(obj, row)
            row.delete()

    def _release_shared(self, obj, row: ServiceResource) -> None:
        try:
            obj.refresh_from_db()
        except ObjectDoesNotExist:
            return
        changed = self._assign(obj, dict(row.give_back))
        if changed:
            self._save(obj, update_fields=[obj._meta.get_field(name).attname for name in changed])
        self._change("released", obj, changed)
        self.log(f"Gave back {row.role}: {obj}.")

    def _delete(self, obj, row: ServiceResource) -> None:
        if isinstance(obj, LEDGER_MODELS):
            self._change("released", obj, {"identifier": [obj.identifier, None]})
            allocation.release(pool=obj.pool, identifier=obj.identifier)
            self.log(f"Released {row.role}: {obj}.")
            return
        if not type(obj)._default_manager.filter(pk=obj.pk).exists():
            return  # deleted along with something deleted before it
        self._change("deleted", obj)
        obj.delete()
        self.log(f"Deleted {row.role}: {obj}.")

    def _release_ledger(self) -> None:
        """Decommissioning: give back whatever the pools still hold for the service's identifier.

        Owned ledger rows are already released above; this also frees entries made outside the
        generator (through the pool API) with the service's identifier.
        """
        for model in LEDGER_MODELS:
            for entry in model.objects.filter(identifier=self.identifier).select_related("pool"):
                self._change("released", entry, {"identifier": [entry.identifier, None]})
                allocation.release(pool=entry.pool, identifier=entry.identifier)
                self.log(f"Released {entry}.")

    def _record_ownership(self) -> None:
        existing = {(row.role, row.content_type_id, row.object_id): row for row in self._owned}
        new_rows = []
        for key in self._produced_order:
            give_back = self._produced[key]
            row = existing.get(key)
            if row is None:
                role, content_type_id, object_id = key
                new_rows.append(ServiceResource(service=self.service, role=role, content_type_id=content_type_id,
                                                object_id=object_id, give_back=give_back))
            elif row.give_back != give_back:
                before = changelog.snapshot(row)
                ServiceResource.objects.filter(pk=row.pk).update(give_back=give_back)
                row.give_back = give_back
                changelog.record(row, "update", before=before, after=changelog.snapshot(row))
        # One statement for all new rows; bulk_create sends no signals, so the change log is written here.
        for row in ServiceResource.objects.bulk_create(new_rows):
            changelog.record(row, "create", before=None, after=changelog.snapshot(row))

    def _write_attributes(self) -> None:
        generated = [a["name"] for a in self.service.service_type.attributes if a["modifier"] == "r"]
        # Lists the user owns whose items have r fields (a termination's port): the generator fills those.
        with_items = {a["name"]: a for a in self.service.service_type.attributes
                      if a["modifier"] != "r" and services.generated_item_fields(a)}
        wanted = {name: self._set_attributes.get(name) for name in generated}
        unknown = set(self._set_attributes) - set(generated) - set(with_items)
        if unknown:
            raise GeneratorError(f"Not generator-owned (r) attributes of {self.service.service_type.name}: "
                                 f"{', '.join(sorted(unknown))}.")
        current = self.service.attributes
        for name, attribute in with_items.items():
            if current.get(name) is not None:
                wanted[name] = _fill_item_fields(attribute, current[name], self._set_attributes.get(name))
        changed = {name: value for name, value in wanted.items() if current.get(name) != value}
        if not changed:
            return
        updated = services.service_set_generated_attributes(service=self.service, attributes=changed)
        self.service.attributes, self.service.version = updated.attributes, updated.version
        self._change("updated", self.service,
                     {name: [current.get(name), value] for name, value in changed.items()})
