"""Translate python-swiftclient and keystoneauth failures into adapters/errors.py, in one place.

A 404 alone cannot say whether the container or the object is missing: callers that need the
difference pass `key` and then ask the store (`SwiftStore._missing`).
"""

from __future__ import annotations

from typing import NoReturn

from swiftclient.exceptions import ClientException

from ..errors import (AuthError, BackendError, BucketNotFound, IntegrityError, StorageError,
                      TransientError, by_status)
from ..network import NETWORK_ERRORS

try:  # keystoneauth1 comes with python-keystoneclient; v1 (tempauth) works without it.
    from keystoneauth1 import exceptions as ks_exc
except ImportError:  # pragma: no cover - only without the Keystone extras
    ks_exc = None  # type: ignore[assignment]


_AUTH_MESSAGES = ("unauthorized", "authorization failure", "endpoint for", "no project",
                  "no tenant", "auth get failed")


def is_backend_error(exc: BaseException) -> bool:
    """Whether `exc` came from the client libraries (and should be translated)."""
    if isinstance(exc, (ClientException, *NETWORK_ERRORS)):
        return True
    return ks_exc is not None and isinstance(exc, ks_exc.ClientException)


def translate(exc: BaseException, *, backend: str, bucket: str | None = None,
              key: str | None = None) -> StorageError:
    where = {"backend": backend, "bucket": bucket, "key": key}
    if ks_exc is not None and isinstance(exc, ks_exc.ClientException):
        return _keystone(exc, where)
    if isinstance(exc, NETWORK_ERRORS):
        return TransientError(f"cannot reach Swift: {exc}", **where)
    if not isinstance(exc, ClientException):
        return BackendError(f"unexpected Swift client error: {exc!r}", **where)
    status = exc.http_status
    words = f"{exc.http_status or ''} {exc.http_reason or ''}: {exc.msg}".strip()
    if status is None:
        message = str(exc.msg or exc).strip()
        if message.lower().startswith(_AUTH_MESSAGES):
            return AuthError(f"Swift authentication failed: {message}", **where)
        # swiftclient gives up without a status after connection errors (and when it cannot
        # rewind a stream to retry): the same call may work later.
        return TransientError(f"Swift request failed: {message}", **where)
    if status in (401, 403):
        return AuthError(f"Swift refused the credentials or the permission ({words}); check the "
                         "user, password or application credential, project and region", **where)
    if status == 404 and key is None:
        return BucketNotFound("no such bucket (Swift container)", **where)
    if status == 422:
        # Swift compares the ETag we send (MD5) with the bytes it received.
        return IntegrityError(f"Swift received different bytes than were sent ({words})", **where)
    return by_status(status, f"Swift: {words}", **where)


def _keystone(exc: BaseException, where: dict[str, str | None]) -> StorageError:
    assert ks_exc is not None
    if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
                        ks_exc.RetriableConnectionFailure)):
        return TransientError(f"cannot reach Keystone: {exc}", **where)
    if isinstance(exc, ks_exc.EndpointNotFound):
        return AuthError(f"Keystone has no object-store endpoint for this region/interface: {exc}",
                         **where)
    if isinstance(exc, ks_exc.HttpError) and (exc.http_status or 0) >= 500:
        return TransientError(f"Keystone is unavailable: {exc}", **where)
    return AuthError(f"Keystone authentication failed: {exc}; check the user, password or "
                     "application credential, project, domains and region", **where)


def raise_translated(exc: BaseException, *, backend: str, bucket: str | None = None,
                     key: str | None = None) -> NoReturn:
    raise translate(exc, backend=backend, bucket=bucket, key=key) from exc
