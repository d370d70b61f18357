"""``manage.py load_demo``: load the demo data set and (re)create the demo admin user."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.inventory import load_inventory


class Command(BaseCommand):
    help = "Load the demo inventory (idempotent) and print the admin user's credentials."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: a new random password each run.")

    def handle(self, *args, username, password, **options):
        counts = load_inventory()
        for name, count in counts.items():
            self.stdout.write(f"  {name}: {count}")
        password = password or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Log in at http://127.0.0.1:8000/admin/ with"))
        self.stdout.write(f"  username: {username}\n  password: {password}")
