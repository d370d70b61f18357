"""Generators: classes that turn a service into configured infrastructure (see ``base.Generator``).

A service type names its generator by dotted path in its YAML file (``generator:``).
"""

from django.utils.module_loading import import_string

from .base import Generator, GeneratorError


def generator_class(service_type) -> type[Generator] | None:
    """The generator class of ``service_type``, or None when the type has none (its lifecycle is then manual)."""
    if not service_type.generator:
        return None
    try:
        cls = import_string(service_type.generator)
    except ImportError as exc:
        raise GeneratorError(f"The generator {service_type.generator} of {service_type.name} cannot be "
                             f"imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Generator)):
        raise GeneratorError(f"{service_type.generator} is not a generator class.")
    return cls


__all__ = ["Generator", "GeneratorError", "generator_class"]
