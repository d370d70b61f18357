"""The MTUs an L2VPN order suggests (its ``mtu`` attribute reads the parameter ``l2vpn-mtus``).

Loading the catalog creates a type's parameters empty; this one starts with the two MTUs every site
carries. Values already there are kept: the parameter is edited through the API and the admin.
"""

from django.db import migrations

NAME, VALUES = "l2vpn-mtus", [1500, 9000]


def add_mtus(apps, schema_editor):
    Parameter = apps.get_model("services", "Parameter")
    parameter, created = Parameter.objects.get_or_create(
        name=NAME, defaults={"values": VALUES, "description": "Suggested values of L2VPN: MTU."})
    if not created and not parameter.values:
        parameter.values = VALUES
        parameter.save(update_fields=["values"])


class Migration(migrations.Migration):

    dependencies = [
        ('services', '0009_approvals'),
    ]

    operations = [
        migrations.RunPython(add_mtus, migrations.RunPython.noop),
    ]
