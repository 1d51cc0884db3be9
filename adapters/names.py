"""One naming rule for buckets and keys that every backend can honour.

Buckets: 3 to 63 characters, lowercase ASCII letters, digits and single hyphens, starting and
ending with a letter or digit. This is the intersection of S3 (no dots, to keep virtual-host TLS
working), Azure containers (no consecutive hyphens) and Clever Cloud (no underscores).

Keys: 1 to 1,024 bytes of UTF-8. Spaces, `#`, `%`, `+`, `?`, `&`, unicode and emoji are allowed.
Refused: NUL and other C0/C1 control characters and DEL (they break listings and XML), a leading
`/`, `.` or `..` as a path segment (a path-based backend could walk out of its root, and S3
clients normalise them away), and unpaired surrogates (not encodable as UTF-8).
"""

from __future__ import annotations

import re

from .errors import InvalidName

MAX_KEY_BYTES = 1024
BUCKET_PATTERN = r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,61}[a-z0-9]$"
_BUCKET = re.compile(BUCKET_PATTERN)
#: The rules in words, for documentation (the OpenAPI document of the gateway).
BUCKET_RULE = ("3 to 63 characters: lowercase ASCII letters, digits and single hyphens, starting "
               "and ending with a letter or digit")
KEY_RULE = (f"1 to {MAX_KEY_BYTES} bytes of UTF-8, percent-encoded in the path; no control "
            "characters (C0, C1, DEL), no leading `/`, no `.` or `..` segment")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_bucket(name: object) -> str:
    if not isinstance(name, str) or not _BUCKET.fullmatch(name):
        raise InvalidName(
            f"invalid bucket name {name!r}: use {BUCKET_RULE}",
            bucket=name if isinstance(name, str) else None,
        )
    return name


def is_bucket_name(name: str) -> bool:
    """Whether `name` is a valid bucket name (backends may hold containers that are not)."""
    return isinstance(name, str) and bool(_BUCKET.fullmatch(name))


def check_key(key: object, *, bucket: str | None = None) -> str:
    def refuse(why: str) -> InvalidName:
        return InvalidName(f"invalid object key {key!r}: {why}", bucket=bucket)

    if not isinstance(key, str):
        raise refuse("a key is a string")
    if not key:
        raise refuse("a key cannot be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise refuse("it is not valid unicode (unpaired surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise refuse(f"{size} bytes of UTF-8, the limit is {MAX_KEY_BYTES}")
    if _CONTROL.search(key):
        raise refuse("control characters (NUL, newline, tab, DEL...) are not allowed")
    if key.startswith("/"):
        raise refuse("a key cannot start with '/'")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise refuse("'.' and '..' cannot be path segments")
    return key


def check_prefix(prefix: object, *, bucket: str | None = None) -> str:
    """A listing prefix follows the key rule, except that it may be empty and may end mid-segment
    (so "a/." is a valid prefix of "a/.hidden")."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidName(f"invalid prefix {prefix!r}: a prefix is a string", bucket=bucket)
    complete_segments = prefix.split("/")[:-1]
    # Neutralise the last, possibly partial, segment and apply the key rule to the rest.
    check_key("/".join(complete_segments + ["x"]), bucket=bucket)
    try:
        too_long = len(prefix.encode("utf-8")) > MAX_KEY_BYTES
    except UnicodeEncodeError:
        too_long = True
    if too_long or _CONTROL.search(prefix):
        raise InvalidName(f"invalid prefix {prefix!r}: too long, not unicode, or control characters",
                          bucket=bucket)
    return prefix
