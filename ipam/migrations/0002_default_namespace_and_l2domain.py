from django.db import migrations


def create_defaults(apps, schema_editor):
    apps.get_model("ipam", "Namespace").objects.get_or_create(name="Global")
    apps.get_model("ipam", "L2Domain").objects.get_or_create(name="default")


class Migration(migrations.Migration):
    dependencies = [("ipam", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
