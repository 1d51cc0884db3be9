"""Azure provider presets: limits and regions as validated data, compliance facts in the shared
model of adapters/presets.py (sourced facts, unknown is a value)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..contract import Capabilities, MiB
from ..presets import PresetBase, PresetCatalogue

PRESET_DIR = Path(__file__).parent / "presets"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Region(_Strict):
    name: str = Field(pattern=r"^[a-z0-9]+$")
    location: str
    country: str = Field(pattern=r"^[A-Z]{2}$")


class BlockLimits(_Strict):
    max_blocks: int = Field(gt=0)
    max_block_size_mib: int = Field(gt=0)
    max_single_put_mib: int = Field(gt=0)


class AzurePreset(PresetBase):
    endpoint_pattern: str
    limits: BlockLimits
    regions: list[Region] = Field(min_length=1)

    def capabilities(self, base: Capabilities) -> Capabilities:
        """The adapter's capabilities within this provider's limits (Sortie's own smaller
        single-put threshold is kept: a single request is buffered whole)."""
        block = self.limits.max_block_size_mib * MiB
        return base.with_overrides(max_parts=self.limits.max_blocks, max_part_size=block,
                                   max_object_size=self.limits.max_blocks * block,
                                   max_single_put=min(base.max_single_put,
                                                      self.limits.max_single_put_mib * MiB))


#: The preset a backend gets when it names none: Azure Blob Storage itself.
DEFAULT_PRESET = "azure"
CATALOGUE = PresetCatalogue("Azure", PRESET_DIR, AzurePreset)
load_preset = CATALOGUE.load
