"""The sweep of lost runs: every 30 seconds, send again the runs whose broker message was lost.

A run stays queued when its message never reached a worker (Redis down or flushed when it was
sent). The sweep (``services.resend_lost_runs``) sends again every run queued for longer than
``RUN_RESEND_AFTER`` seconds, so that such a run starts within a minute of the broker coming back.
Created once, as a django-celery-beat periodic task (editable in the admin); never overwritten.
"""

from django.db import migrations

TASK_NAME = "Send lost generator runs again"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.create(
        name=TASK_NAME, task="services.resend_lost_runs", interval=interval, enabled=True,
        description="Sends again the generator runs still queued after RUN_RESEND_AFTER seconds (their message "
                    "was lost); a run delivered twice executes once.",
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("services", "0004_reconcile_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
