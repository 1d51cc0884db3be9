"""The boto3 client an S3 store uses: timeouts, a small retry budget, checksums per preset."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
from botocore import handlers
from botocore.config import Config
from botocore.utils import parse_timestamp

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
    session._session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=fast_timestamp)
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
    _check_200_errors_only_where_s3_sends_them(client)
    return client


#: The operations whose 200 answer may carry an error (AWS S3 API reference: CopyObject,
#: UploadPartCopy, CompleteMultipartUpload). botocore parses every other XML answer twice to
#: look for one (a listing of 1,000 keys included); here only these are looked at.
ERRORS_IN_200 = ("CopyObject", "UploadPartCopy", "CompleteMultipartUpload")


def _check_200_errors_only_where_s3_sends_them(client: Any) -> None:
    client.meta.events.unregister("before-parse.s3.*", handlers._handle_200_error)
    for operation in ERRORS_IN_200:
        client.meta.events.register_first(f"before-parse.s3.{operation}",
                                          handlers._handle_200_error)


def fast_timestamp(value: str | int | float) -> datetime:
    """botocore's timestamp parsing, without dateutil for the two forms S3 answers with (ISO 8601
    in XML bodies, RFC 7231 in headers): dateutil costs about as much CPU as the rest of a
    listing's parsing. Anything else goes to botocore's own parser."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value) if value[:4].isdigit() \
                else parsedate_to_datetime(value)
            if parsed.tzinfo is not None:  # a naive time means whatever botocore says it does
                return parsed
        except (ValueError, TypeError, IndexError):
            pass
    return parse_timestamp(value)  # type: ignore[no-any-return]


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
