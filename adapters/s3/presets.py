"""S3 provider presets: one YAML file per provider under presets/, validated by `S3Preset`.

A backend names a preset (`preset: scaleway`) and overrides any setting key by key; `resolve()`
merges the two into the `S3Settings` the store is built from. Quirks are behaviour switches the
store honours (part limits, checksum support, server-side copy, key handling), not just notes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ..config import S3Backend
from ..contract import GiB, MiB, TiB, Capabilities
from ..metadata import S3_RULES
from ..errors import PresetError
from ..presets import PresetBase, PresetCatalogue, merged

PRESET_DIR = Path(__file__).parent / "presets"
_UNITS = {"": 1, "b": 1, "kib": 1024, "mib": MiB, "gib": GiB, "tib": TiB,
          "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object) -> int:
    """`5242880`, `"5 MiB"`, `"5GB"` -> bytes (binary and decimal units both accepted)."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or a string such as '5 MiB'")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"{value!r} is not a size (e.g. 5242880, '5 MiB', '5 GB')")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


class S3Quirks(BaseModel):
    """Provider limits and behaviours; every key can be overridden in the backend's `quirks:`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_parts: int = Field(default=10_000, ge=1)
    min_part_size: int = 5 * MiB
    max_part_size: int = 5 * GiB
    max_object_size: int = 5 * TiB
    #: Largest single PUT (and CopyObject) the provider accepts; the store sends one request up
    #: to min(this, part_size) bytes (`Capabilities.max_single_put`), parts above.
    max_single_put: int = 5 * GiB
    #: CopyObject works; None (unknown) is treated as no: copies are streamed.
    server_side_copy: bool | None = None
    #: The provider accepts botocore's default CRC32/CRC32C checksums; if not (or unknown), botocore
    #: is told to send and check checksums only `when_required`.
    flexible_checksums: bool | None = None
    #: The provider accepts checksums sent as HTTP trailers (aws-chunked uploads).
    trailing_checksums: bool | None = None
    #: The provider stores keys as file paths: it merges "a//b" with "a/b" and "a\\b" with "a/b";
    #: Sortie then escapes those characters (adapters/keys/path_escape.py) so every key stays distinct.
    path_like_keys: bool = False
    #: The provider replaces a generic content type (application/octet-stream) by one guessed
    #: from the key's extension (SeaweedFS: "x.dcm" becomes application/dicom): Sortie then also
    #: keeps the type given in its own metadata entry, and reads it from there.
    guesses_content_type: bool = False
    #: Preferred part size (raised when the object needs bigger parts to fit in max_parts).
    part_size: int = 8 * MiB
    #: Parts uploaded at once by one put.
    concurrency: int = Field(default=4, ge=1, le=64)

    @field_validator("min_part_size", "max_part_size", "max_object_size", "max_single_put",
                     "part_size", mode="before")
    @classmethod
    def _size(cls, value: object) -> int:
        return parse_size(value)

    def capabilities(self) -> Capabilities:
        return Capabilities(
            max_parts=self.max_parts, min_part_size=self.min_part_size,
            smallest_part=self.min_part_size, max_part_size=self.max_part_size, max_object_size=self.max_object_size,
            # What the store sends in one request: up to a part, within the provider's limit.
            max_single_put=min(self.max_single_put, self.part_size),
            server_side_copy=bool(self.server_side_copy),
            native_hashes=("md5",), metadata=S3_RULES)


class S3Preset(PresetBase):
    #: URL with `{region}` (and other `{placeholders}` the user must fill by giving `endpoint`).
    endpoint: str | None = None
    #: Known regions; empty means any region string is accepted.
    regions: list[str] = Field(default_factory=list)
    default_region: str | None = None
    addressing: Literal["virtual", "path"] = "virtual"
    signature: Literal["s3v4", "s3"] = "s3v4"
    quirks: S3Quirks = S3Quirks()
    notes: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class S3Settings:
    """Everything the store needs, after merging preset and backend settings."""

    preset: str | None
    endpoint: str | None
    region: str
    addressing: Literal["virtual", "path"]
    signature: Literal["s3v4", "s3"]
    access_key: SecretStr | None
    secret_key: SecretStr | None
    quirks: S3Quirks
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    fast_io: bool = True
    #: AWS itself: botocore's defaults (checksums included) are right there.
    is_aws: bool = False

    def describe(self) -> dict[str, Any]:
        """Printable settings with secrets masked."""
        def mask(secret: SecretStr | None) -> str | None:
            if secret is None:
                return None
            value = secret.get_secret_value()
            return (value[:4] + "****") if len(value) > 8 else "****"
        return {
            "preset": self.preset, "endpoint": self.endpoint or "(AWS default)",
            "region": self.region, "addressing": self.addressing, "signature": self.signature,
            "access_key": mask(self.access_key) or "(AWS credential chain)",
            "secret_key": "****" if self.secret_key else "(AWS credential chain)",
            "quirks": self.quirks.model_dump(),
            "connect_timeout": self.connect_timeout, "read_timeout": self.read_timeout,
            "fast_io": self.fast_io,
        }


CATALOGUE = PresetCatalogue("S3", PRESET_DIR, S3Preset)
load_preset = CATALOGUE.load
available_presets = CATALOGUE.names


def resolve(settings: S3Backend) -> S3Settings:
    """Preset + backend settings -> S3Settings; raises PresetError with a clear message."""
    preset = load_preset(settings.preset) if settings.preset else S3Preset(name="generic",
                                                                             title="Generic S3")
    try:
        quirks = S3Quirks.model_validate({**preset.quirks.model_dump(), **settings.quirks})
    except ValidationError as exc:
        raise PresetError(f"quirks: {exc}") from None
    chosen = merged(settings, {"region": preset.default_region or "us-east-1",
                               "addressing": preset.addressing, "signature": preset.signature})
    region = chosen["region"]
    if settings.endpoint is None and preset.regions and region not in preset.regions:
        raise PresetError(f"region {region!r} is not a region of preset {preset.name!r} "
                          f"({', '.join(preset.regions)}); give `endpoint` to use it anyway")
    endpoint = settings.endpoint
    if endpoint is None and preset.endpoint is not None:
        fields = {f for _, f, _, _ in string.Formatter().parse(preset.endpoint) if f}
        if fields - {"region"}:
            raise PresetError(
                f"preset {preset.name!r} needs `endpoint` (pattern {preset.endpoint}: fill in "
                f"{', '.join(sorted(fields - {'region'}))})")
        endpoint = preset.endpoint.format(region=region)
    return S3Settings(
        preset=settings.preset, endpoint=endpoint, region=region,
        addressing=chosen["addressing"], signature=chosen["signature"],
        access_key=settings.access_key, secret_key=settings.secret_key, quirks=quirks,
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        fast_io=settings.fast_io, is_aws=settings.preset == "aws" and settings.endpoint is None)


__all__ = ["CATALOGUE", "S3Preset", "S3Quirks", "S3Settings", "PresetError", "available_presets",
           "load_preset", "parse_size", "resolve"]
