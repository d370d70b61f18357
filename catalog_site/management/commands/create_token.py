"""``manage.py create_token <username>``: issue an API token and print its key on the last line."""

import re
from argparse import ArgumentTypeError
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from catalog_site.models import Token

RELATIVE = re.compile(r"^(?P<count>\d+)(?P<unit>[hd])$")


def parse_expiry(value: str) -> datetime:
    """``30d`` or ``12h`` from now, an ISO date (its midnight) or an ISO datetime; UTC unless an offset is given."""
    value = value.strip()
    match = RELATIVE.match(value)
    if match:
        count = int(match["count"])
        return timezone.now() + (timedelta(days=count) if match["unit"] == "d" else timedelta(hours=count))
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time()) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise ArgumentTypeError(f"{value!r}: expected 30d, 12h, 2027-01-31 or 2027-01-31T12:00:00+00:00")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


class Command(BaseCommand):
    help = "Create an API token for a user and print the key (it is stored hashed and never shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--description", default="")
        parser.add_argument("--read-only", action="store_true",
                            help="The token may only read: the API refuses it every write (403).")
        parser.add_argument("--expires", type=parse_expiry, default=None,
                            help="When the token stops working: 30d, 12h, a date or an ISO datetime (UTC "
                                 "unless an offset is given). Default: never.")

    def handle(self, *args, username, description, read_only, expires, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if expires is not None and expires <= timezone.now():
            raise CommandError(f"--expires {expires.isoformat()} is in the past.")
        token, key = Token.issue(user=user, description=description, expires=expires, write_enabled=not read_only)
        kind = "read-only token" if read_only else "token"
        until = f", valid until {expires.isoformat()}" if expires else ""
        self.stderr.write(f"{kind.capitalize()} {token.prefix}… created for {username}{until}; "
                          "keep the key, it is shown once:")
        self.stdout.write(key)
