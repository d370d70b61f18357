"""Interfaces sort naturally (Ethernet2 before Ethernet10): a stored sort key, filled for existing rows."""

from django.db import migrations, models

from dcim.models import natural_name_key


def fill_name_keys(apps, schema_editor):
    Interface = apps.get_model("dcim", "Interface")
    batch = []
    for interface in Interface.objects.only("pk", "name").iterator(chunk_size=2000):
        interface.name_key = natural_name_key(interface.name)
        batch.append(interface)
        if len(batch) == 2000:
            Interface.objects.bulk_update(batch, ["name_key"])
            batch = []
    Interface.objects.bulk_update(batch, ["name_key"])


class Migration(migrations.Migration):

    dependencies = [
        ('dcim', '0006_device_role_and_type_required'),
        ('ipam', '0005_netbox_vrf_rd_group_slug_vlan_location'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='interface',
            options={'ordering': ['device__name', 'device_id', 'name_key', 'name']},
        ),
        migrations.AddField(
            model_name='interface',
            name='name_key',
            field=models.CharField(default='', editable=False, max_length=128),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='interface',
            index=models.Index(fields=['device', 'name_key'], name='dcim_interface_device_name_key'),
        ),
    ]
