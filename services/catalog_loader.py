"""Load service types from the YAML files of the catalog (``services/catalog/*.yaml``).

Every file is read and checked before anything is written, and everything is written in one
transaction: a catalog loads entirely or not at all. Loading twice changes nothing the second time.
Types present in the database but in no file are left alone (reported as ``not_in_files``).
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import ServiceType
from .schema import DefinitionErrors, normalise_type_definition
from .services import service_type_save

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


class CatalogError(Exception):
    """A catalog file that cannot be loaded; the message names the file, the attribute and the reason."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))


@dataclass
class CatalogSummary:
    """What a load did, by service type slug."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_files: list[str] = field(default_factory=list)

    def __str__(self):
        parts = [f"{name}: {', '.join(slugs)}" for name, slugs in (
            ("created", self.created), ("updated", self.updated), ("unchanged", self.unchanged),
            ("in the database but in no file", self.not_in_files)) if slugs]
        return "; ".join(parts) or "no service types"


def catalog_files(path: Path | str | None = None) -> list[Path]:
    """The YAML files of a catalog directory (or the one file given)."""
    path = Path(path) if path is not None else CATALOG_DIR
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CatalogError(path, ["no such file or directory"])
    return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def read_definition(path: Path) -> dict:
    """One file's service type, parsed and checked; ``CatalogError`` otherwise."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, [f"cannot be read: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise CatalogError(path, [f"is not valid YAML: {exc}".replace("\n", " ")]) from exc
    try:
        return normalise_type_definition(raw)
    except DefinitionErrors as exc:
        raise CatalogError(path, [str(error) for error in exc.errors]) from exc


def load_catalog(path: Path | str | None = None) -> CatalogSummary:
    """Load (create or update) the service types of ``path`` (default: the built-in catalog).

    Raises ``CatalogError`` for a malformed file, a slug declared by two files, or a change that would
    strand existing services; nothing is written then.
    """
    definitions: list[tuple[Path, dict]] = []
    seen: dict[str, Path] = {}
    for file in catalog_files(path):
        definition = read_definition(file)
        if definition["slug"] in seen:
            raise CatalogError(file, [f"slug {definition['slug']!r} is already declared by {seen[definition['slug']]}"])
        seen[definition["slug"]] = file
        definitions.append((file, definition))
    summary = CatalogSummary()
    with transaction.atomic():
        for file, definition in definitions:
            try:
                _, outcome = service_type_save(definition=definition, source=_display_path(file))
            except ValidationError as exc:
                problems = [f"{field}: {message}" if field != "attributes" else f"attribute {message}"
                            for field, messages in exc.message_dict.items() for message in messages]
                raise CatalogError(file, problems) from exc
            getattr(summary, outcome).append(definition["slug"])
    summary.not_in_files = sorted(set(ServiceType.objects.values_list("slug", flat=True)) - set(seen))
    return summary


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(CATALOG_DIR.parent.parent))
    except ValueError:
        return str(path)
