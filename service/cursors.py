"""Listing cursors of the gateway: the backend's cursor wrapped with what it belongs to.

Backends differ in what they do with a foreign or garbled continuation token (some refuse it,
some silently start over). Wrapping makes every backend behave the same: a cursor from another
bucket, prefix, delimiter or backend (e.g. issued before a route switch) is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import NamedTuple

from adapters.errors import InvalidRequest


class Owner(NamedTuple):
    """The listing a cursor belongs to."""

    backend: str
    bucket: str
    prefix: str
    delimiter: str | None


def wrap(backend_cursor: str | None, owner: Owner) -> str | None:
    if backend_cursor is None:
        return None
    raw = json.dumps({"c": backend_cursor, "k": list(owner)},
                     ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unwrap(cursor: str | None, owner: Owner) -> str | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        inner, issued_for = data["c"], data["k"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidRequest(f"invalid list cursor {cursor[:40]!r}", bucket=owner.bucket) from None
    if not isinstance(inner, str) or issued_for != list(owner):
        raise InvalidRequest("the cursor belongs to another listing (bucket, prefix, delimiter "
                             "or backend changed)", bucket=owner.bucket)
    return inner
