"""Device roles and device types become objects (NetBox's), interfaces get NetBox's type, locations a status.

The first of three steps: the new tables and nullable columns (``device.role_object``, ``device.device_type``).
``0005`` fills them from the old columns, ``0006`` drops the old ones and makes the new ones required. They
are separate migrations so that, on PostgreSQL, the rows written by ``0005`` are committed before ``0006``
alters the table. The old unique (location, role, index) constraint goes here, so that going backwards
restores it only once ``0005`` has written the role names back.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import catalog_site.models


class Migration(migrations.Migration):

    dependencies = [
        ('dcim', '0003_finalizers'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeviceRole',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('last_updated', models.DateTimeField(auto_now=True)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('annotations', models.JSONField(blank=True, default=dict)),
                ('finalizers', models.JSONField(blank=True, default=list, help_text='Names (example.com/backup) of the parties that must let go of this object before it is deleted; deleting an object that has some only marks it as deleting.')),
                ('deleting_since', models.DateTimeField(blank=True, editable=False, help_text='When deletion was requested; the object goes once its last finalizer is removed.', null=True)),
                ('name', models.CharField(max_length=100, unique=True)),
                ('slug', models.SlugField(max_length=100, unique=True)),
                ('color', models.CharField(default='9e9e9e', help_text='Six hexadecimal digits (RGB), as NetBox has it: 00ff00', max_length=6, validators=[django.core.validators.RegexValidator('^[0-9a-f]{6}$', 'Enter a colour as six lowercase hexadecimal digits (00ff00).')])),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='DeviceType',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('last_updated', models.DateTimeField(auto_now=True)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('annotations', models.JSONField(blank=True, default=dict)),
                ('finalizers', models.JSONField(blank=True, default=list, help_text='Names (example.com/backup) of the parties that must let go of this object before it is deleted; deleting an object that has some only marks it as deleting.')),
                ('deleting_since', models.DateTimeField(blank=True, editable=False, help_text='When deletion was requested; the object goes once its last finalizer is removed.', null=True)),
                ('model', models.CharField(max_length=100)),
                ('slug', models.SlugField(max_length=100)),
                ('part_number', models.CharField(blank=True, help_text="The manufacturer's part number", max_length=50)),
                ('u_height', models.DecimalField(decimal_places=1, default=1, help_text='Height in rack units', max_digits=4, validators=[django.core.validators.MinValueValidator(0)])),
                ('is_full_depth', models.BooleanField(default=True, help_text='Occupies both the front and the rear of a rack')),
                ('manufacturer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='device_types', to='dcim.manufacturer')),
            ],
            options={
                'ordering': ['manufacturer__name', 'model'],
            },
            bases=(catalog_site.models.ConstraintErrorFields, models.Model),
        ),
        migrations.AddConstraint(
            model_name='devicetype',
            constraint=models.UniqueConstraint(fields=('manufacturer', 'model'), name='dcim_devicetype_unique_manufacturer_model', violation_error_message='This manufacturer already has a device type of this model.'),
        ),
        migrations.AddConstraint(
            model_name='devicetype',
            constraint=models.UniqueConstraint(fields=('manufacturer', 'slug'), name='dcim_devicetype_unique_manufacturer_slug', violation_error_message='This manufacturer already has a device type with this slug.'),
        ),
        migrations.AddField(
            model_name='location',
            name='status',
            field=models.CharField(choices=[('planned', 'Planned'), ('staging', 'Staging'), ('active', 'Active'), ('decommissioning', 'Decommissioning'), ('retired', 'Retired')], default='active', max_length=20),
        ),
        migrations.AddField(
            model_name='interface',
            name='type',
            field=models.CharField(choices=[('Virtual interfaces', [('virtual', 'Virtual'), ('bridge', 'Bridge'), ('lag', 'Link Aggregation Group (LAG)')]), ('Ethernet (fixed)', [('100base-tx', '100BASE-TX (10/100ME)'), ('1000base-t', '1000BASE-T (1GE)'), ('2.5gbase-t', '2.5GBASE-T (2.5GE)'), ('5gbase-t', '5GBASE-T (5GE)'), ('10gbase-t', '10GBASE-T (10GE)'), ('10gbase-cx4', '10GBASE-CX4 (10GE)')]), ('Ethernet (modular)', [('1000base-x-gbic', 'GBIC (1GE)'), ('1000base-x-sfp', 'SFP (1GE)'), ('10gbase-x-sfpp', 'SFP+ (10GE)'), ('10gbase-x-xfp', 'XFP (10GE)'), ('25gbase-x-sfp28', 'SFP28 (25GE)'), ('50gbase-x-sfp56', 'SFP56 (50GE)'), ('40gbase-x-qsfpp', 'QSFP+ (40GE)'), ('50gbase-x-sfp28', 'QSFP28 (50GE)'), ('100gbase-x-cfp', 'CFP (100GE)'), ('100gbase-x-cfp2', 'CFP2 (100GE)'), ('100gbase-x-cfp4', 'CFP4 (100GE)'), ('100gbase-x-qsfp28', 'QSFP28 (100GE)'), ('200gbase-x-qsfp56', 'QSFP56 (200GE)'), ('400gbase-x-qsfpdd', 'QSFP-DD (400GE)'), ('400gbase-x-osfp', 'OSFP (400GE)'), ('800gbase-x-qsfpdd', 'QSFP-DD (800GE)'), ('800gbase-x-osfp', 'OSFP (800GE)')]), ('Wireless', [('ieee802.11ac', 'IEEE 802.11ac'), ('ieee802.11ax', 'IEEE 802.11ax')]), ('Cellular', [('lte', 'LTE')]), ('SONET', [('sonet-oc3', 'OC-3/STM-1'), ('sonet-oc12', 'OC-12/STM-4'), ('sonet-oc48', 'OC-48/STM-16'), ('sonet-oc192', 'OC-192/STM-64')]), ('Serial', [('t1', 'T1 (1.544 Mbps)'), ('e1', 'E1 (2.048 Mbps)'), ('t3', 'T3 (45 Mbps)'), ('e3', 'E3 (34 Mbps)')]), ('Other', [('other', 'Other')])], default='other', help_text="NetBox's interface type: 1000base-t, 10gbase-x-sfpp, virtual...", max_length=50),
        ),
        migrations.RemoveConstraint(
            model_name='device',
            name='dcim_device_unique_location_role_index',
        ),
        migrations.AddField(
            model_name='device',
            name='role_object',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='devices', to='dcim.devicerole'),
        ),
        migrations.AddField(
            model_name='device',
            name='device_type',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='devices', to='dcim.devicetype'),
        ),
    ]
