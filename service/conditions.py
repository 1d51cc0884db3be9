"""HTTP conditional requests (RFC 9110 section 13) on objects, decided in one place.

Reads: If-Match (412 unless the current ETag is listed), If-Unmodified-Since (412 if modified
since), If-None-Match (304 when listed, for GET and HEAD), If-Modified-Since (304 unless modified
since; ignored when If-None-Match is given). Writes: `If-None-Match: *` (412 when the key
exists) and If-Match (412 unless it exists with a listed ETag). The gateway checks a write's
condition and stores it under one lock per key, so two conditional creates of one key through a
gateway never both win. (Several gateway replicas need the backends' own conditional writes for
the same guarantee; unconditional writes are not serialised.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from adapters.contract import ObjectInfo
from adapters.errors import StorageError

from .headers import etag, s3_etag


class PreconditionFailed(StorageError):
    http_status = 412


class MatchedNothing(PreconditionFailed):
    """If-Match on a write, and no object to match (S3 answers NoSuchKey, HTTP 412)."""


@dataclass(frozen=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_unmodified_since: str | None = None

    @property
    def for_write(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def _matches(header: str, info: ObjectInfo | None) -> bool:
    tags = _tags(header)
    if "*" in tags:
        return info is not None
    if info is None:
        return False
    # Either ETag names this content: the REST API's (SHA-256) and the S3 front's (MD5).
    return any(tag is not None and tag in tags for tag in (etag(info), s3_etag(info)))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # an unparsable date is ignored, as RFC 9110 says


def _modified_since(info: ObjectInfo, moment: datetime) -> bool:
    if info.last_modified is None:
        return True
    return info.last_modified.replace(microsecond=0) > moment


def check_read(conditions: Conditions, info: ObjectInfo) -> bool:
    """Whether to answer 304 Not Modified; raises PreconditionFailed for a 412."""
    if conditions.if_match is not None and not _matches(conditions.if_match, info):
        raise PreconditionFailed(f"If-Match: the object's ETag is {etag(info)}")
    unmodified = _date(conditions.if_unmodified_since)
    if conditions.if_match is None and unmodified and _modified_since(info, unmodified):
        raise PreconditionFailed("If-Unmodified-Since: the object was modified since")
    if conditions.if_none_match is not None:
        return _matches(conditions.if_none_match, info)
    modified = _date(conditions.if_modified_since)
    return modified is not None and not _modified_since(info, modified)


def check_write(conditions: Conditions, current: ObjectInfo | None) -> None:
    """Raises PreconditionFailed when a conditional write must not happen."""
    if conditions.if_none_match is not None and _matches(conditions.if_none_match, current):
        assert current is not None  # a listed ETag or `*` only matches an existing object
        raise PreconditionFailed("If-None-Match: the object already exists"
                                 if "*" in _tags(conditions.if_none_match) else
                                 f"If-None-Match: the object's ETag is {etag(current)}")
    if conditions.if_match is not None and not _matches(conditions.if_match, current):
        if current is None:
            raise MatchedNothing("If-Match: the object does not exist")
        raise PreconditionFailed(f"If-Match: the object's ETag is {etag(current)}")
