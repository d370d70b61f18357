"""What the admin says after a lifecycle transition: where the service ended up, or where to watch it.

A transition into a working status (Deliver, Decommission) queues a generator run. When Celery runs
eagerly the run has ended by the time the page answers, and the message says where the service
ended up ("DI-12345 is active (version 4)."); with a worker the run may still be queued or running,
and the message says so and links to the run, whose page follows it live.
"""

from django.contrib import messages
from django.db.models import Max
from django.urls import reverse
from django.utils.html import format_html

from ..lifecycle import Status
from ..models import GeneratorRun, Service


def last_run_id(service: Service) -> int:
    """The id of the service's newest run (0 if none): runs after it are the ones a request queued."""
    return GeneratorRun.objects.filter(service=service).aggregate(last=Max("pk"))["last"] or 0


def status_phrase(status: str) -> str:
    return Status(status).label.lower() if status in Status.values else status


def after_transition(service: Service, *, since_run: int) -> tuple[int, str]:
    """(message level, message) for ``service`` after a transition requested when its newest run was ``since_run``."""
    current = Service.objects.filter(pk=service.pk).first()
    if current is None:
        return messages.SUCCESS, f"{service} is decommissioned and deleted."
    where = f"{current} is {status_phrase(current.status)} (version {current.version})"
    run = (GeneratorRun.objects.filter(service=service, pk__gt=since_run).exclude(action=GeneratorRun.Action.PLAN)
           .order_by("pk").first())
    if run is None:
        return messages.SUCCESS, f"{where}."
    url = reverse("admin:services_generatorrun_change", args=[run.pk])
    action = run.get_action_display().lower()
    if run.status == GeneratorRun.Status.FAILED:
        return messages.ERROR, format_html('{}: its {} run <a href="{}">#{}</a> failed: {}', where, action, url,
                                           run.pk, run.error)
    if not run.finished:
        return messages.INFO, format_html(
            '{}: its {} run <a href="{}">#{}</a> is {}. Follow it under Generator runs below, or on the run\'s page; '
            "the service moves on when the run ends.", where, action, url, run.pk, run.get_status_display().lower())
    if run.action == GeneratorRun.Action.DECOMMISSION and current.status == Status.DECOMMISSIONED:
        return messages.SUCCESS, f"{where}: everything it held is given back."
    return messages.SUCCESS, f"{where}."
