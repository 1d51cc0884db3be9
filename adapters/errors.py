"""The one error hierarchy of the storage contract.

Every adapter translates its SDK's errors into these classes exactly once, so callers (the drills,
the gateway) never see a botocore, azure-core or swiftclient exception. The gateway maps each class
to one HTTP status; the drills decide from the class alone whether to retry.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


class StorageError(Exception):
    """Base of every error raised through the storage contract."""

    #: HTTP status the gateway answers with; kept here so the mapping lives beside the class.
    http_status: int = 500
    #: Whether the same call may succeed if simply tried again later.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        backend: str | None = None,
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.backend = backend
        self.bucket = bucket
        self.key = key
        #: Set by the retry layer once it has retried this error and given up, so that no outer
        #: caller (a drill, the gateway) retries it again and multiplies the attempts.
        self.persistent = False

    @property
    def worth_retrying(self) -> bool:
        """Retryable by its class and not already retried by the store's retry layer."""
        return self.retryable and not self.persistent

    def __str__(self) -> str:
        where = [f"{name}={value!r}" for name, value in
                 (("backend", self.backend), ("bucket", self.bucket), ("key", self.key)) if value]
        return f"{self.message} ({', '.join(where)})" if where else self.message


class NotFound(StorageError):
    http_status = 404


class BucketNotFound(NotFound):
    pass


class ObjectNotFound(NotFound):
    pass


class UploadNotFound(NotFound):
    """An upload session that does not exist (never started, completed, aborted or expired)."""


class AlreadyExists(StorageError):
    http_status = 409


class Conflict(StorageError):
    """The request is valid but clashes with the current state (e.g. deleting a non-empty bucket)."""

    http_status = 409


class PlacementRefused(StorageError):
    """A placement policy keeps this data off that backend (adapters/placement.py); the message
    names the rule, the backend, the fact and its source."""

    http_status = 403


class InvalidRequest(StorageError):
    """The caller asked for something malformed; retrying it unchanged can never succeed."""

    http_status = 400


class InvalidName(InvalidRequest):
    pass


class InvalidMetadata(InvalidRequest):
    pass


class RangeNotSatisfiable(InvalidRequest):
    http_status = 416


class IntegrityError(InvalidRequest):
    """The bytes received do not match the SHA-256 the caller announced; nothing was stored."""


class HashMismatch(IntegrityError):
    """The bytes, all received, hash to something else than the SHA-256 announced for them."""


class TooLarge(InvalidRequest):
    """The object exceeds what the backend can store (see its capabilities)."""

    http_status = 413


class PresetError(InvalidRequest):
    """A provider preset that does not exist, does not validate, or does not fit the settings."""


class CorruptObject(StorageError):
    """The backend returned bytes that do not match the SHA-256 recorded when they were stored:
    the stored copy is damaged. Never served as good."""

    http_status = 502


class KeyUnavailable(StorageError):
    """An encrypted object whose key-encryption key is not configured, or not the one that
    wrapped its data key: nothing can be read until the right key file is configured."""

    http_status = 500


class Unsupported(StorageError):
    """The backend cannot do this at all (declared in its capabilities)."""

    http_status = 501


class AuthError(StorageError):
    """Credentials missing, wrong or lacking permission on the backend."""

    http_status = 502


class TransientError(StorageError):
    """Throttling, timeouts, connection resets, 5xx: the same call may succeed later."""

    http_status = 503
    retryable = True


class BackendError(StorageError):
    """Anything the backend answered that fits no other class; the message carries its words."""

    http_status = 502


def by_status(status: int, said: str, *, backend: str | None = None, bucket: str | None = None,
              key: str | None = None) -> StorageError:
    """The contract's error for an HTTP status that no service-specific error code explained:
    the one status ladder every HTTP family ends with. `said` is the service's own words."""
    where = {"backend": backend, "bucket": bucket, "key": key}
    if status in (401, 403):
        return AuthError(f"the backend refused the credentials or the permission ({said})",
                         **where)
    if status == 404:
        return (ObjectNotFound if key else BucketNotFound if bucket else NotFound)(
            f"not found ({said})", **where)
    if status in (409, 412):
        return Conflict(f"conflicts with the current state ({said})", **where)
    if status == 413:
        return TooLarge(f"the backend refused the size ({said})", **where)
    if status == 416:
        return RangeNotSatisfiable(f"range not satisfiable ({said})", **where)
    if status in (408, 429, 498) or status >= 500:
        return TransientError(f"the backend is unavailable or throttling ({said})", **where)
    if 400 <= status < 500:
        return InvalidRequest(f"the backend refused the request ({said})", **where)
    return BackendError(f"unexpected answer from the backend ({said})", **where)


@contextmanager
def translating(is_sdk_error: Callable[[BaseException], bool],
                translate: Callable[..., StorageError], *, backend: str,
                bucket: str | None = None, key: str | None = None) -> Iterator[None]:
    """Run SDK calls, raising only StorageError: what `is_sdk_error` recognises is translated
    once by the family's `translate`; anything else (the caller's own stream failing, a bug) goes
    through unchanged."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        if not is_sdk_error(exc):
            raise
        raise translate(exc, backend=backend, bucket=bucket, key=key) from exc
