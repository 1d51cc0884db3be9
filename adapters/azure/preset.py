"""Azure provider presets: limits, regions and compliance facts as validated data.

Defined here because the shared preset model for S3 presets (adapters/presets.py) did not exist
when this adapter was written; the shapes are kept simple so both can merge later.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from ..contract import Capabilities, MiB
from ..errors import InvalidRequest

PRESET_DIR = Path(__file__).parent / "presets"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourcedFact(_Strict):
    """One fact with where it comes from and when it was checked. `unknown` is a value: a
    placement policy must treat it as not satisfied."""

    value: bool | str | list[str] | Literal["unknown"]
    source: HttpUrl
    checked: date
    note: str | None = None


class Compliance(_Strict):
    hq_jurisdiction: SourcedFact
    extraterritorial_exposure: SourcedFact
    hds: SourcedFact
    secnumcloud: SourcedFact


class Egress(_Strict):
    price_per_gb: float | None = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    source: HttpUrl
    checked: date
    note: str | None = None


class Region(_Strict):
    name: str = Field(pattern=r"^[a-z0-9]+$")
    location: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    eea: bool


class Limits(_Strict):
    max_blocks: int = Field(gt=0)
    max_block_size_mib: int = Field(gt=0)
    max_single_put_mib: int = Field(gt=0)
    metadata_names: str
    source: HttpUrl
    checked: date


class AzurePreset(_Strict):
    name: str
    provider: str
    endpoint_pattern: str
    limits: Limits
    regions: list[Region] = Field(min_length=1)
    regions_source: HttpUrl
    regions_checked: date
    compliance: Compliance
    egress: Egress

    def capabilities(self, base: Capabilities) -> Capabilities:
        """The adapter's capabilities within this provider's limits."""
        block = self.limits.max_block_size_mib * MiB
        return base.with_overrides(max_parts=self.limits.max_blocks, max_part_size=block,
                                   max_object_size=self.limits.max_blocks * block,
                                   max_single_put=min(base.max_single_put,
                                                      self.limits.max_single_put_mib * MiB))


@lru_cache(maxsize=None)
def load_preset(name: str) -> AzurePreset:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise InvalidRequest(f"invalid preset name {name!r}")
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise InvalidRequest(f"unknown azure preset {name!r} (known: {', '.join(known)})")
    try:
        return AzurePreset.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise InvalidRequest(f"azure preset {name!r} is invalid: {exc}") from exc
