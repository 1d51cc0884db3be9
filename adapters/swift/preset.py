"""Swift provider presets: where to log in, which regions, Swift's limits, and compliance facts.

The compliance part is the shared model of adapters/presets.py (sourced facts; unknown is a value).
A backend names a preset (`preset: ovhcloud`) and its own keys win over the preset's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..contract import GiB, Capabilities
from ..config import SwiftBackend
from ..presets import PresetBase, PresetCatalogue, merged

PRESET_DIR = Path(__file__).parent / "presets"


class SwiftLimits(BaseModel):
    """Swift's constraints (`GET /info`: swift.max_file_size, slo.max_manifest_segments)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_file_size_gib: float = Field(default=5, gt=0)
    max_manifest_segments: int = Field(default=1000, ge=1)


class SwiftPreset(PresetBase):
    auth_url: str
    auth_version: Literal["1", "1.0", "3"] = "3"
    user_domain: str = "Default"
    project_domain: str = "Default"
    regions: list[str] = Field(min_length=1)
    default_region: str
    limits: SwiftLimits = SwiftLimits()

    def capabilities(self, base: Capabilities) -> Capabilities:
        segment = int(self.limits.max_file_size_gib * GiB)
        return base.with_overrides(
            max_parts=self.limits.max_manifest_segments, max_part_size=segment,
            max_object_size=segment * self.limits.max_manifest_segments,
            max_single_put=min(base.max_single_put, segment))


CATALOGUE = PresetCatalogue("Swift", PRESET_DIR, SwiftPreset)
load_preset = CATALOGUE.load


def resolve(settings: SwiftBackend) -> tuple[SwiftBackend, Capabilities]:
    """The settings with the preset's values filled in where the configuration gives none (the
    shared merge rule, adapters/presets.py), and the capabilities within the preset's limits."""
    if not settings.preset:
        return settings, base_capabilities()
    preset = load_preset(settings.preset)
    defaults = {"auth_url": preset.auth_url, "region": preset.default_region,
                "auth_version": preset.auth_version, "user_domain": preset.user_domain,
                "project_domain": preset.project_domain}
    return (settings.model_copy(update=merged(settings, defaults)),
            preset.capabilities(base_capabilities()))


def base_capabilities() -> Capabilities:
    from .store import SWIFT_CAPABILITIES  # the store module loads swiftclient: only when built

    return SWIFT_CAPABILITIES
