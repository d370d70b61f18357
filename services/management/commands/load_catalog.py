"""``manage.py load_catalog [PATH ...]``: load service types from catalog YAML files (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from services.catalog_loader import CatalogError, load_catalog


class Command(BaseCommand):
    help = ("Create or update service types from YAML files (default: services/catalog/). "
            "Refuses malformed files and changes that would strand existing services.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Catalog directories or files (default: the built-in catalog).")

    def handle(self, *args, paths, **options):
        for path in paths or [None]:
            try:
                summary = load_catalog(path)
            except CatalogError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Service catalog loaded: {summary}.")
