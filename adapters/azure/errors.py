"""azure-core / azure-storage-blob exceptions -> adapters.errors, in one place.

Azure says what went wrong in its error code (`x-ms-error-code`, also sent on HEAD responses), so
the code decides first and the HTTP status only where the code is missing or unknown.
"""

from __future__ import annotations

import re

from azure.core.exceptions import (AzureError, ClientAuthenticationError, HttpResponseError,
                                   ResourceExistsError, ResourceNotFoundError, ServiceRequestError,
                                   ServiceResponseError)

from ..errors import (AlreadyExists, AuthError, BackendError, BucketNotFound, Conflict, by_status,
                      InvalidMetadata, ObjectNotFound,
                      RangeNotSatisfiable, StorageError, TransientError)

_BAD_CREDENTIALS = {"AuthenticationFailed", "AuthorizationFailure", "InvalidAuthenticationInfo",
                    "NoAuthenticationInformation"}
_NO_PERMISSION = {"AuthorizationPermissionMismatch", "AuthorizationResourceTypeMismatch",
                  "AuthorizationServiceMismatch", "AuthorizationProtocolMismatch",
                  "AuthorizationSourceIPMismatch", "InsufficientAccountPermissions",
                  "AccountIsDisabled"}
#: Worth trying again as is: the service is busy, or the bytes were damaged on the way.
_TRANSIENT = {"ServerBusy", "OperationTimedOut", "InternalError", "Md5Mismatch",
              "ContainerBeingDeleted", "BlobBeingRehydrated"}


def error_code(exc: HttpResponseError) -> str:
    code = getattr(exc, "error_code", None)  # unset on errors the SDK raises itself
    # The SDK gives either a plain string or a StorageErrorCode (a str enum).
    return str(getattr(code, "value", code) or "")


def translate(exc: Exception, *, backend: str, bucket: str | None = None,
              key: str | None = None, account_url: str | None = None) -> StorageError:
    """The contract's error for an Azure SDK exception (StorageError passes through)."""
    if isinstance(exc, StorageError):
        return exc
    where = {"backend": backend, "bucket": bucket, "key": key}
    if isinstance(exc, ClientAuthenticationError) and not isinstance(exc, HttpResponseError):
        return AuthError(f"Azure credentials could not be obtained: {_first_line(exc)}", **where)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)) or _answer_lost(exc):
        # Connection refused, DNS failure, TLS failure, read timeout: nothing reached the service
        # or its answer was lost.
        target = f" at {account_url}" if account_url else ""
        return TransientError(f"cannot reach Azure Blob storage{target}: {_network_cause(exc)}",
                              **where)
    if not isinstance(exc, HttpResponseError):
        if isinstance(exc, AzureError):
            return BackendError(f"Azure SDK error: {_first_line(exc)}", **where)
        return BackendError(f"{type(exc).__name__}: {exc}", **where)

    code = error_code(exc)
    status = exc.status_code or 0
    said = f"{code or status}: {_first_line(exc)}"
    if code == "ContainerNotFound":
        return BucketNotFound("no such bucket (Azure container)", **where)
    if code == "BlobNotFound":
        return ObjectNotFound("no such object", **where)
    if code in ("ContainerAlreadyExists", "BlobAlreadyExists"):
        return AlreadyExists("already exists", **where)
    if code in _BAD_CREDENTIALS:
        account = f" for {account_url}" if account_url else ""
        return AuthError(
            f"Azure rejected the credentials{account} ({code}): check the account name and "
            "account key, the SAS token (expiry, permissions) or the connection string", **where)
    if code in _NO_PERMISSION:
        return AuthError(f"the credentials lack permission for this operation ({code})", **where)
    if code == "BlobArchived":
        return Conflict("the blob is in the Archive tier: rehydrate it (set its tier to Hot or "
                        "Cool) before reading it", **where)
    if code in _TRANSIENT or status in (408, 429) or status >= 500:
        return TransientError(f"Azure is temporarily unable to serve the request ({said})", **where)
    if code == "InvalidRange" or status == 416:
        return RangeNotSatisfiable("the byte range is outside the object", **where)
    if code == "InvalidMetadata":
        return InvalidMetadata(f"Azure refused the metadata ({said})", **where)
    if not code and status in (404, 405) and bucket is None:
        # An account-level call answered without Azure's error code: not Azure at all (a
        # proxy, a web server, a wrong path in account_url).
        target = account_url or "the endpoint"
        return BackendError(f"{target} answered {status} without an Azure error code: "
                            "is account_url (or BlobEndpoint) an Azure Blob endpoint?", **where)
    if isinstance(exc, ResourceNotFoundError):
        status = 404
    elif isinstance(exc, ClientAuthenticationError):
        status = 403
    elif isinstance(exc, ResourceExistsError):
        status = 409
    return by_status(status, f"Azure: {said}", **where)


def _answer_lost(exc: Exception) -> bool:
    """An HttpResponseError the SDK made of a network failure, with no answer behind it (the
    first chunk of a download timing out is re-raised so)."""
    return (isinstance(exc, HttpResponseError) and exc.status_code is None
            and isinstance(exc.__cause__ or exc.__context__,
                           (ServiceRequestError, ServiceResponseError)))


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_TIMEOUT = re.compile(r"(?:read|connect(?:ion)?) timed out|timed out", re.IGNORECASE)


def _network_cause(exc: BaseException) -> str:
    """The useful part of a connection failure ("Connection refused", "Name or service not
    known", "timed out") rather than urllib3's full retry story."""
    text = str(exc)
    match = _ERRNO.search(text)
    if match:
        return match.group(1).strip()
    match = _TIMEOUT.search(text)
    if match:
        return match.group(0)
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
