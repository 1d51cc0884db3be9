"""The S3 family's record: settings, build, presets and facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..config import S3Backend
from ..contract import ObjectStore
from ..family import Family
from .presets import CATALOGUE, resolve


def build(name: str, settings: S3Backend, base_dir: Path,
          overrides: Mapping[str, object]) -> ObjectStore:
    from .fast import fast_path
    from .store import S3Store

    resolved = resolve(settings)
    capabilities = resolved.quirks.capabilities()
    if overrides:
        capabilities = capabilities.with_overrides(**overrides)
    return S3Store(name, resolved, capabilities=capabilities, fast=fast_path(name, resolved))


def describe(settings: S3Backend) -> dict[str, Any]:
    return {"type": "s3", **resolve(settings).describe()}


FAMILY = Family(type="s3", title="S3-compatible object storage", settings=S3Backend, build=build,
                presets=CATALOGUE, describe=describe,
                modules=("adapters.s3.store", "adapters.s3.fast"))
