"""The scheduled reconciliation: every hour, re-run the generators of active services.

Created once, as a django-celery-beat periodic task, so that staff can change its interval or
disable it in the admin (Periodic tasks); this migration never overwrites their edits.
"""

from django.db import migrations

TASK_NAME = "Reconcile active services"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.create(
        name=TASK_NAME, task="services.reconcile_services", interval=interval, enabled=True,
        description="Re-runs the generator of every active service; each run repairs drift and records its changes.",
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("services", "0003_generator_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
