"""Device roles and types from the old columns: each role name becomes a role object, each manufacturer
and model a device type.

The six roles the catalog offered (core, edge, cpe, spine, leaf, tor) become rows on every database,
used or not: the generators find core switches and edge routers by these slugs. A device without a
manufacturer gets one named "Generic", and one without a model the type "Unknown model": NetBox requires a
device type on every device. Going backwards writes the names back (and empties for those two).
"""

from django.db import migrations
from django.db.models import Q
from django.utils.text import slugify

ROLES = (
    ("core", "Core", "1e88e5"),
    ("edge", "Edge", "43a047"),
    ("cpe", "CPE", "fb8c00"),
    ("spine", "Spine", "8e24aa"),
    ("leaf", "Leaf", "00acc1"),
    ("tor", "Top of rack", "6d4c41"),
)
GENERIC_MANUFACTURER = ("Generic", "generic")
UNKNOWN_MODEL = "Unknown model"


def free_slug(queryset, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever ``queryset`` does not hold yet."""
    base = (base or "device-type")[:90]
    slug, n = base, 1
    while queryset.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def generic_manufacturer(Manufacturer):
    name, slug = GENERIC_MANUFACTURER
    found = Manufacturer.objects.filter(Q(slug=slug) | Q(name=name)).first()
    return found or Manufacturer.objects.create(name=name, slug=slug)


def forward(apps, schema_editor):
    Device = apps.get_model("dcim", "Device")
    DeviceRole = apps.get_model("dcim", "DeviceRole")
    DeviceType = apps.get_model("dcim", "DeviceType")
    Manufacturer = apps.get_model("dcim", "Manufacturer")

    for slug, name, color in ROLES:
        DeviceRole.objects.get_or_create(slug=slug, defaults={"name": name, "color": color})
    for value in Device.objects.order_by().values_list("role", flat=True).distinct():
        role = DeviceRole.objects.filter(slug=value).first()
        if role is None:  # a value written past the old choices: kept as a role of its own
            slug = free_slug(DeviceRole.objects.all(), slugify(value))
            role = DeviceRole.objects.create(slug=slug, name=value or slug)
        Device.objects.filter(role=value).update(role_object=role)

    pairs = Device.objects.order_by().values_list("manufacturer_id", "model").distinct()
    for manufacturer_id, model in list(pairs):
        manufacturer = (Manufacturer.objects.get(pk=manufacturer_id) if manufacturer_id is not None
                        else generic_manufacturer(Manufacturer))
        name = model or UNKNOWN_MODEL
        device_type = DeviceType.objects.filter(manufacturer=manufacturer, model=name).first()
        if device_type is None:
            slug = free_slug(DeviceType.objects.filter(manufacturer=manufacturer), slugify(name))
            device_type = DeviceType.objects.create(manufacturer=manufacturer, model=name, slug=slug)
        Device.objects.filter(manufacturer_id=manufacturer_id, model=model).update(device_type=device_type)


def backward(apps, schema_editor):
    Device = apps.get_model("dcim", "Device")
    DeviceRole = apps.get_model("dcim", "DeviceRole")
    DeviceType = apps.get_model("dcim", "DeviceType")

    for role in DeviceRole.objects.all():
        Device.objects.filter(role_object=role).update(role=role.slug[:20])
    for device_type in DeviceType.objects.select_related("manufacturer"):
        generic = device_type.manufacturer.slug == GENERIC_MANUFACTURER[1]
        Device.objects.filter(device_type=device_type).update(
            manufacturer_id=None if generic else device_type.manufacturer_id,
            model="" if device_type.model == UNKNOWN_MODEL else device_type.model,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('dcim', '0004_device_types_and_roles'),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
