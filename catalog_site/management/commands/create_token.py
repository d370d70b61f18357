"""``manage.py create_token <username>``: issue an API token and print its key on the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog_site.models import Token


class Command(BaseCommand):
    help = "Create an API token for a user and print the key (it is stored hashed and never shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--description", default="")

    def handle(self, *args, username, description, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        token, key = Token.issue(user=user, description=description)
        self.stderr.write(f"Token {token.prefix}… created for {username}; keep the key, it is shown once:")
        self.stdout.write(key)
