"""Translate apache-libcloud failures into adapters/errors.py, in one place.

libcloud drivers raise a mix of typed errors (ContainerDoesNotExistError...), HTTP errors with a
code (BaseHTTPError, ProviderError), plain LibcloudError with a message, and the network errors of
`requests` underneath; each maps to exactly one class of the contract.
"""

from __future__ import annotations

import re

from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
from libcloud.common.types import (InvalidCredsError, LibcloudError, MalformedResponseError,
                                   ServiceUnavailableError)
from libcloud.storage.types import (ContainerAlreadyExistsError, ContainerDoesNotExistError,
                                    ContainerIsNotEmptyError, InvalidContainerNameError,
                                    ObjectDoesNotExistError, ObjectHashMismatchError)

from ..errors import (AlreadyExists, AuthError, BackendError, BucketNotFound, Conflict,
                      IntegrityError, InvalidName, ObjectNotFound, StorageError, TransientError,
                      by_status)
from ..network import NETWORK_ERRORS

#: OSError too: drivers such as LOCAL raise the file system's errors as they are.
LIBCLOUD_ERRORS: tuple[type[BaseException], ...] = (LibcloudError, BaseHTTPError, OSError,
                                                    *NETWORK_ERRORS)


_STATUS_IN_MESSAGE = re.compile(r"[Ss]tatus code: (\d{3})\b")


def is_backend_error(exc: BaseException) -> bool:
    return isinstance(exc, LIBCLOUD_ERRORS)


def translate(exc: BaseException, *, backend: str, bucket: str | None = None,
              key: str | None = None) -> StorageError:
    where = {"backend": backend, "bucket": bucket, "key": key}
    # Order matters: the specific libcloud classes all derive from LibcloudError.
    if isinstance(exc, ContainerDoesNotExistError):
        return BucketNotFound("no such bucket", **where)
    if isinstance(exc, ObjectDoesNotExistError):
        return ObjectNotFound("no such object", **where)
    if isinstance(exc, ContainerAlreadyExistsError):
        return AlreadyExists("bucket already exists", **where)
    if isinstance(exc, ContainerIsNotEmptyError):
        return Conflict("bucket is not empty", **where)
    if isinstance(exc, InvalidContainerNameError):
        return InvalidName(f"the driver refuses this bucket name: {exc}", **where)
    if isinstance(exc, ObjectHashMismatchError):
        return IntegrityError(f"the backend stored different bytes than were sent: {exc}", **where)
    if isinstance(exc, InvalidCredsError):
        return AuthError(f"the backend refused the credentials: {exc}; check key, secret and "
                         "driver options", **where)
    if isinstance(exc, (RateLimitReachedError, ServiceUnavailableError, MalformedResponseError)):
        return TransientError(f"the backend is unavailable or throttling: {exc}", **where)
    if isinstance(exc, NETWORK_ERRORS):
        return TransientError(f"cannot reach the backend: {exc}", **where)
    if isinstance(exc, OSError):
        return BackendError(f"I/O error in the driver: {exc}", **where)
    code = getattr(exc, "code", None) or getattr(exc, "http_code", None)
    if not isinstance(code, int):
        # Some drivers (S3's) give the status only in the message: "Unknown error. Status code: 503".
        found = _STATUS_IN_MESSAGE.search(str(exc))
        code = int(found.group(1)) if found else None
    if isinstance(code, int):
        return by_status(code, f"{code}: {exc}", **where)
    return BackendError(f"libcloud driver error: {exc}", **where)
