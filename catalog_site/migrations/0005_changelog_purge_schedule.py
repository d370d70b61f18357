"""The change log's purge: once a day, delete the records older than CHANGELOG_RETENTION_DAYS.

Created once, as a django-celery-beat periodic task (editable in the admin); never overwritten.
"""

from django.db import migrations

TASK_NAME = "Purge the change log"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.create(
        name=TASK_NAME, task="catalog_site.purge_changelog", interval=interval, enabled=True,
        description="Deletes the change records older than CHANGELOG_RETENTION_DAYS days (0 keeps them all).",
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("catalog_site", "0004_objectchange"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
