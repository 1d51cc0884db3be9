"""The one door to the backend families: build a store, and answer every question about a
family (its settings, presets, provider facts, printable settings, extra commands).

Nothing outside adapters/ imports a family module; it asks here. Each family is imported only
when asked about, and its SDK only when a store is built, so a local-only deployment loads no
cloud SDK. Every store is built with the same layer stack (adapters/layers/stack.py), once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from .config import BackendConfig
from .contract import ObjectStore
from .errors import InvalidRequest, PresetError, Unsupported
from .family import Family, ProviderFacts
from .layers.stack import DEFAULT_STACK, LayerStack, wrap

#: The families, by their `type:` in the configuration: the one place a type names a module.
FAMILY_TYPES = ("local", "s3", "azure", "swift", "libcloud")


@dataclass(frozen=True)
class PresetEntry:
    family: str
    name: str
    title: str
    #: Why the preset file cannot be used, or None when it validates.
    error: str | None = None


def family(kind: str) -> Family:
    if kind not in FAMILY_TYPES:
        raise InvalidRequest(f"unknown backend type {kind!r} (known: {', '.join(FAMILY_TYPES)})")
    module = importlib.import_module(f"adapters.{kind}.family")
    return module.FAMILY  # type: ignore[no-any-return]


def store_modules(kind: str) -> list[str]:
    """The modules a store of this family runs on, its record's first: what a process that
    starts workers by forking imports ahead, so each worker does not import them again."""
    return [f"adapters.{kind}.family", *family(kind).modules]


def families() -> list[Family]:
    return [family(kind) for kind in FAMILY_TYPES]


def build_store(name: str, settings: BackendConfig, base_dir: Path | None = None, *,
                capability_overrides: Mapping[str, object] | None = None,
                stack: LayerStack = DEFAULT_STACK) -> ObjectStore:
    """The configured store inside the layer stack. `capability_overrides` (e.g. smaller parts)
    are for tests and benchmarks that must force a path."""
    return wrap(build_bare(name, settings, base_dir, capability_overrides), stack)


def build_bare(name: str, settings: BackendConfig, base_dir: Path | None = None,
               capability_overrides: Mapping[str, object] | None = None) -> ObjectStore:
    """The store without layers: for family commands that work on the backend itself."""
    record = family(settings.type)
    try:
        return record.build(name, settings, base_dir or Path.cwd(), capability_overrides or {})
    except PresetError as exc:
        raise PresetError(f"backend {name!r}: {exc.message}", backend=name) from None
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("adapters"):
            raise Unsupported(f"backend type {settings.type!r} is not available in this build "
                              f"({exc.name} is not installed)", backend=name) from exc
        raise


def facts(settings: BackendConfig) -> ProviderFacts:
    """The provider facts of a configured backend (compliance and egress price, each sourced;
    unknown stays unknown). Raises PresetError for a preset that does not exist."""
    return family(settings.type).facts(settings)


def presets() -> Iterator[PresetEntry]:
    """Every preset of every family, a broken file shown with its error rather than hidden."""
    for record in families():
        if record.presets is None:
            continue
        for name in record.presets.names():
            try:
                yield PresetEntry(record.type, name, record.presets.load(name).title)
            except PresetError as exc:
                yield PresetEntry(record.type, name, "", exc.message)


def describe(settings: BackendConfig) -> dict[str, Any]:
    """Printable settings of a backend: preset merged in, secrets masked."""
    return family(settings.type).shown(settings)


def run_command(command: str, name: str, settings: BackendConfig, base_dir: Path | None = None,
                **options: Any) -> list[str]:
    """Run a family's own command (e.g. local's `sweep`) on a configured backend."""
    record = family(settings.type)
    found = record.commands.get(command)
    if found is None:
        having = " or ".join(f.type for f in families() if command in f.commands) or "no"
        raise Unsupported(f"backend {name!r} is {settings.type}, not {having}: `{command}` is "
                          f"only for {having} backends", backend=name)
    store = build_bare(name, settings, base_dir)
    try:
        return found.run(store, **options)
    finally:
        store.close()
