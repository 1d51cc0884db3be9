"""HTTP headers of the object API: user metadata, byte ranges and the object's own headers.

User metadata travels as `X-Sortie-Meta-<key>: <value>`:
- HTTP header names are case-insensitive and the server stack lowercases them, so a key arrives in
  lowercase. To keep a key's case, list its spelling in `X-Sortie-Meta-Keys: OwnerId, Project`;
  responses carry that header whenever a stored key has capitals. Keys follow the canonical rule
  of adapters/metadata.py (an ASCII letter, then letters, digits, `-`, `_`).
- A value that is not plain printable ASCII (unicode, empty, edge spaces, or starting with `=?`) is
  sent as one RFC 2047 encoded word, `=?UTF-8?B?<base64 of UTF-8>?=`; the gateway decodes such
  words on PUT and produces them on GET/HEAD. Any other value is taken literally.
"""

from __future__ import annotations

import re
from datetime import timezone
from email.utils import format_datetime
from typing import Iterable, Mapping

from adapters.contract import ByteRange, ObjectInfo
from adapters.errors import InvalidMetadata, InvalidRequest
from adapters.metadata import decode_word, encode_word, user_entries, validate_user

META_PREFIX = "x-sortie-meta-"
META_KEYS = "x-sortie-meta-keys"
SHA256 = "x-sortie-sha256"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*[\x20-\x7e]*)?$")


def metadata_from_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """User metadata from request headers (name, value pairs; validated later by the contract)."""
    items = list(items)
    spelled = {}
    for name, value in items:
        if name.lower() == META_KEYS:
            for spelling in value.split(","):
                spelling = spelling.strip()
                if spelling:
                    spelled[spelling.lower()] = spelling
    metadata: dict[str, str] = {}
    for name, value in items:
        lowered = name.lower()
        if not lowered.startswith(META_PREFIX) or lowered == META_KEYS:
            continue
        key = lowered[len(META_PREFIX):]
        if not key:
            raise InvalidMetadata(f"metadata header {name!r} names no key")
        key = spelled.pop(key, key)
        if not value.isascii():
            raise InvalidMetadata(f"metadata value of {key!r} is not ASCII: send it as an RFC 2047 "
                                  "word, =?UTF-8?B?<base64 of the UTF-8>?=")
        if key in metadata:
            raise InvalidMetadata(f"metadata key {key!r} is given twice")
        metadata[key] = decode_value(value, key)
    if spelled:
        raise InvalidMetadata(f"X-Sortie-Meta-Keys lists {sorted(spelled.values())} but no "
                              "X-Sortie-Meta-<key> header carries them")
    return validate_user(metadata)


def check_content_type(value: str | None) -> str | None:
    """A media type as HTTP defines it (`type/subtype; params`), printable ASCII, <= 255 chars."""
    if value is None or not value.strip():
        return None
    if len(value) > 255 or not _MEDIA_TYPE.fullmatch(value):
        raise InvalidRequest(f"Content-Type {value[:60]!r} is not a valid media type")
    return value


def decode_value(value: str, key: str) -> str:
    """A metadata header's value: an RFC 2047 encoded word decoded, or raw bytes (handed over
    as latin-1 by the server) read as UTF-8 where they are (clients send UTF-8 as is)."""
    try:
        decoded = decode_word(value)
    except ValueError:
        raise InvalidMetadata(f"metadata value of {key!r} is not a valid UTF-8 encoded word") from None
    return decoded if decoded is not None else as_sent(value)


def as_sent(value: str) -> str:
    """A header value as the client wrote it: the server hands its bytes over as latin-1;
    clients send non-ASCII text as UTF-8, so read them as UTF-8 where they are."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def metadata_headers(metadata: Mapping[str, str]) -> dict[str, str]:
    headers = {f"{META_PREFIX}{key.lower()}": encode_word(value) for key, value in metadata.items()}
    capitalised = [key for key in metadata if key != key.lower()]
    if capitalised:
        headers[META_KEYS] = ", ".join(capitalised)
    return headers


def parse_range(header: str | None) -> ByteRange | None:
    """One `bytes=` range, or None when the whole object should be sent.

    Several ranges, other units and malformed values are ignored (RFC 9110 lets a server ignore
    Range), so such a request gets the whole object with 200.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if not first:
        return ByteRange.last(_offset(last)) if last else None
    start = _offset(first)
    end = _offset(last) if last else None
    if end is not None and end < start:
        return None
    return ByteRange(start, end)


#: Larger than any object (an exabyte): offsets beyond it mean "past the end" all the same.
_BEYOND = 10 ** 18


def _offset(digits: str) -> int:
    """A byte offset; a number of any length (even past Python's int-parsing limit) is capped,
    so `bytes=<4,301 nines>-` is an unsatisfiable range (416), never a crash."""
    digits = digits.lstrip("0") or "0"
    return _BEYOND if len(digits) > 18 else int(digits)


def etag(info: ObjectInfo) -> str | None:
    """The strong ETag: the quoted SHA-256 when Sortie recorded one, else the backend's."""
    if info.sha256:
        return f'"{info.sha256}"'
    if info.etag:
        return info.etag if info.etag.startswith('"') else f'"{info.etag}"'
    return None


#: The layer entry where the S3 front records an object's MD5 (its ETag there).
MD5_ENTRY = "sortie:md5"


def s3_etag(info: ObjectInfo) -> str | None:
    """The ETag the S3 front gives: the MD5 of the body where recorded at ingest (what S3
    clients compare), else the strong ETag."""
    md5 = info.metadata.get(MD5_ENTRY)
    return f'"{md5}"' if md5 else etag(info)


def object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {"accept-ranges": "bytes"}
    tag = etag(info)
    if tag:
        headers["etag"] = tag
    if info.last_modified:
        headers["last-modified"] = format_datetime(info.last_modified.astimezone(timezone.utc), usegmt=True)
    if info.sha256:
        headers[SHA256] = info.sha256
    headers.update(metadata_headers(user_entries(info.metadata)))
    return headers


