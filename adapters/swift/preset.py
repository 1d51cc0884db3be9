"""Swift provider presets: where to log in, which regions, Swift's limits, and compliance facts.

The compliance part is the shared model of adapters/presets.py (sourced facts; unknown is a value).
A backend names a preset (`preset: ovhcloud`) and its own keys win over the preset's.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..contract import GiB, Capabilities
from ..errors import InvalidRequest
from ..presets import PresetBase, PresetError, load_preset_file, preset_names

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


@lru_cache(maxsize=None)
def load_preset(name: str) -> SwiftPreset:
    if name not in preset_names(PRESET_DIR):
        raise InvalidRequest(f"unknown swift preset {name!r} "
                             f"(known: {', '.join(preset_names(PRESET_DIR))})")
    try:
        return load_preset_file(PRESET_DIR / f"{name}.yaml", SwiftPreset)
    except PresetError as exc:
        raise InvalidRequest(str(exc)) from None
