"""botocore errors -> the contract's errors (adapters/errors.py), in one place.

Every S3 call goes through `translated()`, so callers never see a botocore exception. The messages
say what to do, because `sortie backends check` prints them as its one-line diagnosis.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from botocore.exceptions import (BotoCoreError, ClientError, ConnectTimeoutError,
                                 EndpointConnectionError, HTTPClientError, IncompleteReadError,
                                 NoCredentialsError, PartialCredentialsError)

from ..errors import (AlreadyExists, AuthError, BackendError, BucketNotFound, Conflict,
                      InvalidRequest, ObjectNotFound, RangeNotSatisfiable, StorageError,
                      TooLarge, TransientError, UploadNotFound)


class ClockSkewError(AuthError):
    """The backend refused the request because this machine's clock is off."""


class BadCredentials(AuthError):
    """The access key is unknown or the secret does not match it."""


class UnreachableError(TransientError):
    """No connection to the endpoint (wrong host or port, down, or filtered)."""


_NOT_FOUND_BUCKET = {"NoSuchBucket"}
_NOT_FOUND_KEY = {"NoSuchKey"}
_TRANSIENT = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
              "ThrottlingException", "RequestLimitExceeded", "TooManyRequests"}


def translate(exc: Exception, *, backend: str, bucket: str | None = None,
              key: str | None = None) -> StorageError:
    where = {"backend": backend, "bucket": bucket, "key": key}
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message") or code)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return _from_code(code, message, status, where)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return UnreachableError(f"cannot connect to the endpoint ({exc}); check the endpoint "
                                "URL and that the service is up", **where)
    if isinstance(exc, (HTTPClientError, IncompleteReadError)):
        # Read timeouts, connections closed or reset, a body cut short (ResponseStreamingError):
        # the answer was lost on the way, asking again may work.
        return TransientError(f"the endpoint stopped answering ({exc})", **where)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AuthError("no S3 credentials: set access_key and secret_key, or configure the "
                         "standard AWS credential chain", **where)
    if isinstance(exc, BotoCoreError):
        return BackendError(f"S3 client error: {exc}", **where)
    if isinstance(exc, OSError):
        return TransientError(f"connection error: {exc}", **where)
    raise exc


def _from_code(code: str, message: str, status: int, where: dict[str, str | None]) -> StorageError:
    if code in _NOT_FOUND_BUCKET:
        return BucketNotFound("no such bucket", **where)
    if code in _NOT_FOUND_KEY:
        return ObjectNotFound("no such object", **where)
    if code == "NoSuchUpload":
        return UploadNotFound("no such upload (completed, aborted or expired)", **where)
    if code == "InvalidAccessKeyId":
        return BadCredentials("the access key is not known to this endpoint (wrong key, or "
                              "wrong endpoint/region for it)", **where)
    if code == "SignatureDoesNotMatch":
        return BadCredentials("the secret key does not match the access key (bad secret)",
                              **where)
    if code == "RequestTimeTooSkewed":
        return ClockSkewError("this machine's clock differs too much from the endpoint's "
                              "(clock skew): synchronise it (NTP)", **where)
    if code in ("AccessDenied", "AllAccessDisabled", "InvalidToken", "ExpiredToken") \
            or status == 403:
        return AuthError(f"access denied: the credentials lack permission ({message})", **where)
    if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        return AlreadyExists("bucket already exists", **where)
    if code == "BucketNotEmpty":
        return Conflict("bucket is not empty", **where)
    if code == "InvalidRange" or status == 416:
        return RangeNotSatisfiable(f"range not satisfiable ({message})", **where)
    if code == "EntityTooLarge":
        return TooLarge(f"object too large for this backend ({message})", **where)
    if code in ("BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"):
        # The bytes were damaged on the way: sending them again may work.
        return TransientError(f"the backend saw different bytes than were sent ({code})", **where)
    if code in _TRANSIENT or status in (500, 502, 503, 504):
        return TransientError(f"backend busy or failing ({code or status}): {message}", **where)
    if code in ("InvalidBucketName", "KeyTooLongError", "InvalidArgument", "InvalidRequest",
                "MalformedXML", "EntityTooSmall", "InvalidPart", "InvalidPartOrder"):
        return InvalidRequest(f"{code}: {message}", **where)
    if status == 404:
        if where.get("key"):
            return ObjectNotFound("not found", **where)  # HEAD replies carry no error code
        if where.get("bucket"):
            return BucketNotFound("no such bucket", **where)
        return BackendError("the endpoint answered 404 to a service-level request: it does not "
                            "look like an S3 endpoint; check the endpoint URL", **where)
    if status == 301 or code == "PermanentRedirect":
        return BackendError(f"wrong region or endpoint for this bucket ({message})", **where)
    return BackendError(f"{code or status}: {message}", **where)


@contextmanager
def translated(backend: str, bucket: str | None = None, key: str | None = None) -> Iterator[None]:
    """Run S3 calls, raising only StorageError subclasses."""
    try:
        yield
    except StorageError:
        raise
    except (ClientError, BotoCoreError, OSError) as exc:
        raise translate(exc, backend=backend, bucket=bucket, key=key) from exc
