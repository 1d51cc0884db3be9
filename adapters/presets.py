"""Provider facts shared by every preset family (S3 here; Azure and Swift presets reuse them).

A preset file describes one provider: how to reach it (family-specific, e.g. adapters/s3/presets.py)
and the facts a placement policy or a drill report needs (this module): headquarters jurisdiction,
exposure to third-country law, HDS and SecNumCloud status, EEA regions, and egress price.

Every fact carries where it comes from (`source`, a URL when there is one) and when it was checked.
Unknown is a value: `value: null` (or leaving the fact out) means nobody found it, and a policy
must treat it as "not satisfied", never as "satisfied". A known value without a source is refused,
so nothing is ever guessed silently.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import PresetError

T = TypeVar("T")

HdsStatus = Literal["yes", "partial", "no"]
SecNumCloudStatus = Literal["qualified", "in_progress", "no"]


class Fact(BaseModel, Generic[T]):
    """One sourced fact; `value` None means unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: T | None = None
    #: Where the value comes from: a public page's URL, or the document it was taken from.
    source: str | None = None
    #: When someone last read the source; None if the date was not recorded.
    checked: date | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _sourced(self) -> "Fact[T]":
        if self.value is not None and not self.source:
            raise ValueError("a known value needs its source (leave value null when unknown)")
        return self

    @property
    def known(self) -> bool:
        return self.value is not None


class EgressPrice(BaseModel):
    """Price of data leaving the provider towards the internet, per GB (10^9 bytes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_gb: float = Field(ge=0)
    currency: Literal["EUR", "USD"]
    #: GB a month that cost nothing before `per_gb` applies.
    free_gb_per_month: float = Field(default=0, ge=0)

    def cost(self, gigabytes: float) -> float:
        """Projected cost of moving `gigabytes` out in one month (free allowance deducted)."""
        return max(0.0, gigabytes - self.free_gb_per_month) * self.per_gb


class ComplianceFacts(BaseModel):
    """What a placement policy and an exit report need to know about a provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ISO country code of the provider's headquarters (e.g. "FR", "US").
    hq_jurisdiction: Fact[str] = Fact()
    #: Third-country laws that can reach the data (e.g. "US CLOUD Act"); [] means none apply.
    extraterritorial_exposure: Fact[list[str]] = Fact()
    hds: Fact[HdsStatus] = Fact()
    secnumcloud: Fact[SecNumCloudStatus] = Fact()
    #: Regions of this provider located in the European Economic Area.
    eea_regions: Fact[list[str]] = Fact()
    egress_price: Fact[EgressPrice] = Fact()


class SourceRef(BaseModel):
    """A page the technical part of a preset (endpoints, limits, quirks) was taken from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    checked: date | None = None
    #: What this source backs, e.g. "multipart limits".
    covers: str


class PresetBase(BaseModel):
    """Fields every preset file has, whatever its family."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    sources: list[SourceRef] = Field(default_factory=list)
    compliance: ComplianceFacts = ComplianceFacts()


P = TypeVar("P", bound=PresetBase)


def load_preset_file(path: Path, model: type[P]) -> P:
    """Read and validate one preset file; the file's stem must equal its `name`."""
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PresetError(f"preset {path.name}: cannot read: {exc}") from None
    try:
        preset = model.model_validate(raw)
    except ValidationError as exc:
        raise PresetError(f"preset {path.name}: {exc}") from None
    if preset.name != path.stem:
        raise PresetError(f"preset {path.name}: name {preset.name!r} differs from the file name")
    return preset


def preset_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml"))


class PresetCatalogue(Generic[P]):
    """The preset files of one family (a folder of NAME.yaml validated by `model`): one way to
    list, load and refuse them for every family."""

    def __init__(self, family: str, folder: Path, model: type[P]) -> None:
        self.family = family
        self.folder = folder
        self.model = model
        self.load = lru_cache(maxsize=None)(self._load)

    def names(self) -> list[str]:
        return preset_names(self.folder)

    def _load(self, name: str) -> P:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name) or name not in self.names():
            raise PresetError(f"unknown {self.family} preset {name!r}; known: "
                              f"{', '.join(self.names())}")
        return load_preset_file(self.folder / f"{name}.yaml", self.model)


def merged(settings: BaseModel, defaults: dict[str, Any]) -> dict[str, Any]:
    """The one merge rule of presets: a setting the configuration gives wins, key by key; for the
    keys it leaves out, the preset's value (`defaults`, already taken from the preset)."""
    given = settings.model_fields_set
    return {key: (getattr(settings, key) if key in given and getattr(settings, key) is not None
                  else value) for key, value in defaults.items()}
