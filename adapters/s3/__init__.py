"""S3 and S3-compatible backends (`type: s3`): AWS, OVHcloud, Scaleway, Outscale, Clever Cloud,
Cloud Temple, NumSpot, IONOS, MinIO, SeaweedFS, Swift's s3api. See store.py for how puts keep
integrity and atomic visibility, presets.py for provider presets."""

from __future__ import annotations

from pathlib import Path

from ..config import S3Backend
from ..contract import ObjectStore
from ..errors import InvalidRequest
from ..layers.retry import RetryingStore
from .presets import PresetError, S3Settings, resolve
from .store import S3Store


def from_config(name: str, settings: S3Backend, base_dir: Path) -> ObjectStore:
    """The configured S3 backend, wrapped in the retry layer."""
    try:
        resolved = resolve(settings)
    except PresetError as exc:
        raise InvalidRequest(f"backend {name!r}: {exc}", backend=name) from None
    return RetryingStore(S3Store(name, resolved))


__all__ = ["S3Settings", "S3Store", "from_config", "resolve"]
