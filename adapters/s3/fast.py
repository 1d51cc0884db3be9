"""The S3 store's obstore data path (adapters/fast_io.py): which settings it can serve, and how
its per-bucket stores are configured from the resolved settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..fast_io import NO_RETRIES, FastPath, client_options
from .client import flexible_checksums
from .presets import S3Settings


def fast_path(name: str, settings: S3Settings) -> FastPath | None:
    """None where obstore cannot do exactly what boto3 does: signature v2, or credentials from
    the AWS chain (boto3 and object_store resolve them differently)."""
    if not settings.fast_io or settings.signature != "s3v4":
        return None
    if settings.access_key is None or settings.secret_key is None:
        return None
    return FastPath(name, lambda bucket: _store(settings, bucket),
                    auth_hint="check access_key and secret_key, and the region")


def _store(settings: S3Settings, bucket: str) -> Any:
    from obstore.store import S3Store

    assert settings.access_key is not None and settings.secret_key is not None
    config: dict[str, Any] = {
        "access_key_id": settings.access_key.get_secret_value(),
        "secret_access_key": settings.secret_key.get_secret_value(),
        "region": settings.region,
        "virtual_hosted_style_request": settings.addressing == "virtual",
    }
    if settings.endpoint:
        config["endpoint"] = _endpoint(settings.endpoint, bucket, settings.addressing)
    if flexible_checksums(settings):
        config["checksum_algorithm"] = "sha256"
    return S3Store(bucket, config=config, retry_config=NO_RETRIES,
                   client_options=client_options(settings.endpoint, settings.connect_timeout,
                                                 settings.read_timeout))


def _endpoint(endpoint: str, bucket: str, addressing: str) -> str:
    # object_store wants a virtual-hosted endpoint with the bucket already in the host name.
    if addressing != "virtual":
        return endpoint
    parts = urlsplit(endpoint)
    return urlunsplit(parts._replace(netloc=f"{bucket}.{parts.netloc}"))
