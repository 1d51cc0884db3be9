"""The S3 front's errors: S3's codes and statuses, as XML with the request id."""

from __future__ import annotations

from starlette.responses import Response

from adapters.errors import (AlreadyExists, BucketNotFound, Conflict, HashMismatch,
                             IntegrityError, InvalidName, InvalidRequest, ObjectNotFound,
                             StorageError, TransientError, Unsupported, UploadNotFound)

from . import xml


class S3Error(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def storage_code(exc: StorageError) -> tuple[str, int]:
    if isinstance(exc, BucketNotFound):
        return "NoSuchBucket", 404
    if isinstance(exc, UploadNotFound):
        return "NoSuchUpload", 404
    if isinstance(exc, Unsupported):
        return "NotImplemented", 501
    if isinstance(exc, ObjectNotFound):
        return "NoSuchKey", 404
    if isinstance(exc, Conflict) and "not empty" in exc.message.lower():
        return "BucketNotEmpty", 409
    if isinstance(exc, AlreadyExists):
        return "BucketAlreadyOwnedByYou", 409
    if isinstance(exc, Conflict):
        return "OperationAborted", 409
    if isinstance(exc, InvalidName):
        return "InvalidBucketName" if exc.key is None else "KeyTooLongError", 400
    if isinstance(exc, (HashMismatch, IntegrityError)):
        return "BadDigest", 400
    if isinstance(exc, InvalidRequest):
        return "InvalidArgument", exc.http_status
    if isinstance(exc, TransientError):
        return "ServiceUnavailable", 503
    return "InternalError", 500 if exc.http_status >= 500 else exc.http_status


def xml_response(body: bytes) -> Response:
    return Response(body, media_type="application/xml")


def error_response(code: str, message: str, status: int, resource: str, request_id: str) -> Response:
    return Response(xml.error(code, message, resource, request_id), status_code=status,
                    media_type="application/xml")
