"""What Sortie knows about one backend family (`type:` in the configuration), in one record.

Each family package has a light `family.py` (no cloud SDK imported) holding its `FAMILY`; the
registry (adapters/registry.py) is the only code that reads these records, and the only door the
rest of Sortie uses to build stores and ask about a family.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from pydantic import BaseModel, SecretStr

from .contract import ObjectStore
from .presets import ComplianceFacts, PresetBase, PresetCatalogue

#: Builds the bare store of a family (no layers): (name, settings, base_dir, capability
#: overrides) -> store. Capability overrides are for tests and benchmarks that force a path.
Builder = Callable[[str, Any, Path, Mapping[str, object]], ObjectStore]


@dataclass(frozen=True)
class ProviderFacts:
    """Who holds the data of a backend, and what the law and the price list say about it."""

    #: The preset the facts come from (None: the family has no presets, e.g. a local disk).
    preset: str | None
    title: str
    region: str | None
    compliance: ComplianceFacts
    #: Why facts are missing or how they were chosen (e.g. "default preset azure").
    note: str = ""


@dataclass(frozen=True)
class Command:
    """A command that only this family has (e.g. local's `sweep`); the CLI offers it by name."""

    help: str
    #: (store built without layers, options) -> lines to print.
    run: Callable[..., list[str]]


@dataclass(frozen=True)
class Family:
    type: str
    title: str
    settings: builtins.type[BaseModel]
    build: Builder
    #: Its provider presets, or None where the family has none.
    presets: PresetCatalogue[Any] | None = None
    #: The preset used when the settings name none (Azure: "azure").
    default_preset: str | None = None
    #: Facts of a backend that names no preset (a local disk's, say); default: all unknown.
    facts_without_preset: Callable[[Any], ProviderFacts] | None = None
    #: Printable settings (presets merged, secrets masked); default: the settings, masked.
    describe: Callable[[Any], dict[str, Any]] | None = None
    commands: Mapping[str, Command] = field(default_factory=dict)
    #: The modules its stores run on (store, SDK clients), which `build` imports lazily: a
    #: process that forks workers imports them once ahead (exit_drills/distributed.py).
    modules: tuple[str, ...] = ()

    def preset_of(self, settings: Any) -> PresetBase | None:
        name = getattr(settings, "preset", None) or self.default_preset
        if self.presets is None or name is None:
            return None
        return self.presets.load(name)

    def facts(self, settings: Any) -> ProviderFacts:
        found = self._facts(settings)
        override: ComplianceFacts | None = getattr(settings, "facts", None)
        if override is None or not override.model_fields_set:
            return found
        given = sorted(override.model_fields_set)
        merged = found.compliance.model_copy(
            update={name: getattr(override, name) for name in given})
        note = "; ".join(filter(None, [found.note, "facts given in the configuration: "
                                       + ", ".join(given)]))
        return ProviderFacts(found.preset, found.title, found.region, merged, note)

    def _facts(self, settings: Any) -> ProviderFacts:
        preset = self.preset_of(settings)
        region = getattr(settings, "region", None)
        if preset is not None:
            chosen = getattr(settings, "preset", None)
            note = "" if chosen else f"the {self.type} family's default preset {preset.name!r}"
            return ProviderFacts(preset.name, preset.title,
                                 region or getattr(preset, "default_region", None),
                                 preset.compliance, note)
        if self.facts_without_preset is not None:
            return self.facts_without_preset(settings)
        return ProviderFacts(None, self.title, region, ComplianceFacts(),
                             f"no provider preset named: the {self.type} backend's facts are "
                             "unknown")

    def shown(self, settings: Any) -> dict[str, Any]:
        if self.describe is not None:
            return self.describe(settings)
        return masked(settings)


def masked(settings: BaseModel) -> dict[str, Any]:
    """The settings as a printable mapping, every secret replaced by ****."""
    return {key: ("****" if isinstance(getattr(settings, key), SecretStr) else value)
            for key, value in settings.model_dump().items()}
