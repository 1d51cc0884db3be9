"""Helpers for adapters that page listings themselves (local disk, libcloud, Swift, S3 on
file-tree servers): one cursor codec for all of them."""

from __future__ import annotations

import base64
import json

from .errors import InvalidRequest


def past_prefix(common: str) -> str:
    """The smallest string greater than every string starting with `common`: listing resumes
    there to skip everything under a common prefix at once."""
    return common[:-1] + chr(ord(common[-1]) + 1)


def encode_cursor(after: str, is_prefix: bool) -> str:
    """An opaque cursor: resume after the key `after` (or past every key under the common
    prefix `after`, when `is_prefix`)."""
    raw = json.dumps({"after": after, "prefix": is_prefix}, ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, bool]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        return str(data["after"]), bool(data["prefix"])
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidRequest(f"invalid list cursor {cursor[:40]!r}") from None
