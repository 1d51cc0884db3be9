"""Reading an S3 request: its payload (aws-chunked decoding, the checksums and Content-MD5 it
announces), user metadata, conditions, copy source, canned ACL and DeleteObjects document."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, Iterable, Iterator
from urllib.parse import unquote

from starlette.requests import Request

from adapters.contract import ObjectInfo
from adapters.errors import InvalidMetadata
from adapters.metadata import validate_user

from .. import headers as h
from ..conditions import Conditions, PreconditionFailed, check_read
from . import kept_headers, sigv4
from .chunked import CHECKSUM_HEADERS, checked, decode
from .errors import S3Error

CHUNKED = (sigv4.STREAMING_SIGNED, sigv4.STREAMING_UNSIGNED_TRAILER)
#: UploadPartCopy's source range: one range, both ends given.
COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


#: GetObject's query parameters that set a response header.
OVERRIDES = {"response-content-type": "Content-Type",
              "response-content-language": "Content-Language",
              "response-expires": "Expires", "response-cache-control": "Cache-Control",
              "response-content-disposition": "Content-Disposition",
              "response-content-encoding": "Content-Encoding"}


def conditions(request: Request) -> Conditions:
    headers = request.headers
    return Conditions(if_match=headers.get("if-match"), if_none_match=headers.get("if-none-match"),
                      if_modified_since=headers.get("if-modified-since"),
                      if_unmodified_since=headers.get("if-unmodified-since"))


#: S3's canned ACLs. With one owner for every object here (the token's holder), the bucket
#: owner's ones are the private ACL; those that open access to others are not served.
_CANNED_AS_PRIVATE = {"private", "bucket-owner-full-control", "bucket-owner-read"}
_CANNED_OTHERS = {"public-read", "public-read-write", "authenticated-read", "aws-exec-read",
                  "log-delivery-write"}


def canned_private_only(request: Request) -> None:
    acl = request.headers.get("x-amz-acl")
    grants = [name for name in request.headers if name.lower().startswith("x-amz-grant-")]
    if acl is not None and acl not in _CANNED_AS_PRIVATE | _CANNED_OTHERS:
        raise S3Error("InvalidArgument", f"{acl!r} is not a canned ACL", 400)
    if (acl is not None and acl not in _CANNED_AS_PRIVATE) or grants:
        raise S3Error("NotImplemented", "only the canned private ACL is served: access is "
                                        "given by Sortie's tokens and their scopes", 501)


def delete_document(body: bytes) -> tuple[list[str], bool]:
    """The keys of a DeleteObjects document (at most 1,000) and whether it asks to be quiet."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise S3Error("MalformedXML", "the Delete document is not XML", 400) from None
    keys_wanted = [(obj.findtext("{*}Key") or "") for obj in root.iterfind("{*}Object")]
    if len(keys_wanted) > 1000:
        raise S3Error("MalformedXML", "at most 1000 keys per Delete", 400)
    quiet = (root.findtext("{*}Quiet") or "").strip() == "true"
    return keys_wanted, quiet


def signed_sha256(credentials: sigv4.Credentials) -> str | None:
    """The body's SHA-256 as signed with the request (None: unsigned or streamed payloads)."""
    mode = credentials.payload_hash
    return mode.lower() if len(mode) == 64 else None


def payload(raw: Iterator[bytes], request: Request, credentials: sigv4.Credentials,
            md5: "Md5") -> Iterator[bytes]:
    """A request's payload: aws-chunked bodies decoded (chunk signatures and trailing checksum
    checked), then checked against the x-amz-checksum-* header and Content-MD5 the client
    sent, if any; `md5` measures the body as it passes (one MD5 for both the check and the
    ETag)."""
    body: Iterator[bytes] = raw
    mode = credentials.payload_hash
    if mode in CHUNKED:
        body = decode(raw, signed=credentials if mode == sigv4.STREAMING_SIGNED else None,
                      trailer=request.headers.get("x-amz-trailer"))
    for name in CHECKSUM_HEADERS:  # x-amz-checksum-*: checked before anything is stored
        if name in request.headers:
            body = checked(body, name, request.headers[name])
    content_md5 = request.headers.get("content-md5")
    if content_md5 is None:
        return md5.hashing(body)
    try:
        if len(base64.b64decode(content_md5, validate=True)) != 16:
            raise ValueError(content_md5)
    except ValueError:  # binascii.Error is one
        raise S3Error("InvalidDigest", "The Content-MD5 you specified is not valid: the base64 "
                      "of 16 bytes", 400) from None
    return md5.checked(md5.hashing(body), content_md5)


class Md5:
    """The MD5 of a body as it passes: the S3 ETag clients compare (not a security hash), kept
    with the object as a late metadata entry (headers.MD5_ENTRY) once the body is read."""

    def __init__(self) -> None:
        self._hash = hashlib.md5(usedforsecurity=False)

    def hashing(self, body: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in body:
            self._hash.update(chunk)
            yield chunk

    def checked(self, body: Iterator[bytes], content_md5: str) -> Iterator[bytes]:
        """The body, then a BadDigest if it is not what Content-MD5 announced."""
        yield from body
        if base64.b64encode(self._hash.digest()).decode() != content_md5:
            raise S3Error("BadDigest", "the Content-MD5 you specified did not match what we "
                                       "received", 400)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def entries(self) -> dict[str, str]:
        return {h.MD5_ENTRY: self._hash.hexdigest()}


def check_copy_source(request: Request, info: ObjectInfo) -> None:
    """x-amz-copy-source-if-*: a copy whose source does not meet them is refused (412), where a
    GET would answer 304."""
    headers = request.headers
    conditions = Conditions(if_match=headers.get("x-amz-copy-source-if-match"),
                            if_none_match=headers.get("x-amz-copy-source-if-none-match"),
                            if_modified_since=headers.get("x-amz-copy-source-if-modified-since"),
                            if_unmodified_since=headers.get(
                                "x-amz-copy-source-if-unmodified-since"))
    try:
        unchanged = check_read(conditions, info)
    except PreconditionFailed:
        unchanged = True
    if unchanged:
        raise S3Error("PreconditionFailed", "At least one of the pre-conditions you specified "
                                            "did not hold", 412)


def kept(headers: Any) -> dict[str, str]:
    try:
        return kept_headers.from_request(headers)
    except kept_headers.HeadersTooLong as exc:
        raise S3Error("InvalidArgument", str(exc), 400) from None


def copy_source(request: Request) -> tuple[str, str]:
    source = unquote(request.headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
    source_bucket, _, source_key = source.partition("/")
    if not source_bucket or not source_key:
        raise S3Error("InvalidArgument", "x-amz-copy-source must be /BUCKET/KEY", 400)
    return source_bucket, source_key


def user_metadata(request: Request) -> dict[str, str]:
    found = {}
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered.startswith("x-amz-meta-"):
            found[lowered[len("x-amz-meta-"):]] = h.decode_value(value, lowered)
    try:
        return validate_user(found)
    except InvalidMetadata as exc:
        raise S3Error("InvalidArgument", exc.message, 400) from None
