"""``manage.py load_demo``: load the demo data set and (re)create the demo admin and customer users."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from demo.inventory import CUSTOMERS, load_customer_services, load_customer_user, load_inventory


class Command(BaseCommand):
    help = ("Load the demo inventory and the customers' services (idempotent) and print the logins of the "
            "admin and of one editor per customer tenant (new random passwords each run).")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: a new random password each run.")

    def handle(self, *args, username, password, **options):
        if username in {customer["username"] for customer in CUSTOMERS}:
            raise CommandError(f"{username!r} is the name of a demo customer user; choose another admin name.")
        counts = load_inventory()
        counts["services"] = load_customer_services()
        for name, count in counts.items():
            self.stdout.write(f"  {name}: {count}")
        password = password or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Log in at http://127.0.0.1:8000/admin/ with"))
        self.stdout.write(f"  username: {username}\n  password: {password}")
        self.stdout.write(self.style.SUCCESS(
            "or as a customer, an editor of its tenant and sub-tenant who sees only their services:"
        ))
        for customer in CUSTOMERS:
            customer_password = secrets.token_urlsafe(12)
            customer_user, tenant = load_customer_user(customer, customer_password)
            sub_tenant = customer["sub_tenant"][0]
            self.stdout.write(f"  tenant: {tenant.name} (and {sub_tenant})\n"
                              f"  username: {customer_user.username}\n  password: {customer_password}")
