"""Devices hold their role and type as objects only: the old columns go, the new ones are required, and
(location, role, index) is unique again (see ``0004``)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):

    dependencies = [
        ('dcim', '0005_device_roles_and_types_data'),
    ]

    operations = [
        # Blank first: going backwards, the column comes back empty for 0005 to fill.
        migrations.AlterField(
            model_name='device',
            name='role',
            field=models.CharField(blank=True, choices=[('core', 'Core'), ('edge', 'Edge'), ('cpe', 'CPE'), ('spine', 'Spine'), ('leaf', 'Leaf'), ('tor', 'Top of rack')], max_length=20),
        ),
        migrations.RemoveField(
            model_name='device',
            name='role',
        ),
        migrations.RenameField(
            model_name='device',
            old_name='role_object',
            new_name='role',
        ),
        migrations.AlterField(
            model_name='device',
            name='role',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='devices', to='dcim.devicerole'),
        ),
        migrations.AlterField(
            model_name='device',
            name='device_type',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='devices', to='dcim.devicetype'),
        ),
        migrations.RemoveField(
            model_name='device',
            name='manufacturer',
        ),
        migrations.RemoveField(
            model_name='device',
            name='model',
        ),
        migrations.AddConstraint(
            model_name='device',
            constraint=models.UniqueConstraint(condition=Q(index__isnull=False), fields=('location', 'role', 'index'), name='dcim_device_unique_location_role_index', violation_error_message='A device with this role and index already exists at this location.'),
        ),
    ]
