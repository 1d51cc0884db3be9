"""The boto3 client an S3 store uses: timeouts, a small retry budget, checksums per preset."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import boto3
from botocore.config import Config

from .presets import S3Settings

#: Per-call attempts by botocore itself: one, so that retries happen in one place, the retry
#: layer the registry puts around every store (adapters/layers/retry.py).
BOTOCORE_ATTEMPTS = 1


def flexible_checksums(settings: S3Settings) -> bool:
    """Whether botocore's CRC32 checksums are sent (AWS, or a preset saying they work)."""
    return settings.is_aws or bool(settings.quirks.flexible_checksums)


def make_client(settings: S3Settings, *, pool: int = 32,
                attempts: int = BOTOCORE_ATTEMPTS) -> Any:
    """A boto3 S3 client configured from resolved settings (thread-safe, shared by a store)."""
    checksums = "when_supported" if flexible_checksums(settings) else "when_required"
    config = Config(
        region_name=settings.region,
        signature_version=settings.signature,
        s3={"addressing_style": settings.addressing},
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        retries={"total_max_attempts": attempts, "mode": "standard"},
        max_pool_connections=pool,
        request_checksum_calculation=checksums,
        response_checksum_validation=checksums,
        user_agent_extra="sortie",
    )
    session = boto3.session.Session()
    client = session.client(
        "s3", endpoint_url=settings.endpoint, config=config,
        aws_access_key_id=settings.access_key.get_secret_value() if settings.access_key else None,
        aws_secret_access_key=(settings.secret_key.get_secret_value()
                               if settings.secret_key else None))
    if checksums == "when_required":
        # botocore >= 1.36 computes CRC32 for operations that require a checksum (DeleteObjects,
        # PutBucketLifecycle...) even when told `when_required`; stores such as Swift's s3api
        # accept only Content-MD5 there, so send that instead.
        client.meta.events.register("before-sign.s3.DeleteObjects", _content_md5)
    return client


def _content_md5(request: Any, **_: Any) -> None:
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        for header in list(request.headers.keys()):
            if header.lower().startswith("x-amz-checksum-") or \
                    header.lower() == "x-amz-sdk-checksum-algorithm":
                del request.headers[header]
        request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
