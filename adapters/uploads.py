"""Upload sessions of the storage contract: the part a backend acknowledged, and the session id.

An upload session sends one object in numbered parts that survive the process sending them: a
drill killed during a multi-GiB object resumes from the parts the target already holds, and the
S3 front maps clients' multipart uploads onto the same sessions. Each family keeps the parts its
own way (S3 multipart uploads, Azure uncommitted blocks, Swift segments, local part files), and
each reports, for every part, its size and the MD5 the backend checked on arrival, so a resuming
caller can tell a part that holds the right bytes from one that must be sent again.

The session id the contract hands out wraps the adapter's own id with the SHA-256 announced at the
start (the whole object's, which the object records), or none: completing checks the caller's
measurement against it, in whichever process completes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Sequence

from .errors import InvalidRequest

_MD5 = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class UploadedPart:
    """One part the backend acknowledged."""

    number: int
    size: int
    #: Hex MD5 of the part's bytes as the backend received them, or its first digits where the
    #: backend keeps only those (Azure: 25); None where it cannot say.
    md5: str | None
    #: What the backend needs to name this part when completing (an ETag, a block id...).
    token: str

    def holds(self, md5: str, size: int) -> bool:
        """Whether this part holds bytes of that MD5 and size (as far as the backend says)."""
        return (self.size == size and self.md5 is not None and len(self.md5) >= 24
                and md5.lower().startswith(self.md5))


def md5_or_none(value: str | None) -> str | None:
    """A backend's part ETag as an MD5, or None where it is not one (e.g. encrypted uploads)."""
    if not value:
        return None
    value = value.strip('"').lower()
    return value if _MD5.match(value) else None


@dataclass(frozen=True)
class UploadId:
    native: str
    sha256: str | None

    def encode(self) -> str:
        raw = json.dumps({"id": self.native, "sha256": self.sha256 or ""}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, value: str, *, bucket: str, key: str) -> "UploadId":
        try:
            padded = value + "=" * (-len(value) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
            return cls(str(data["id"]), str(data["sha256"]) or None)
        except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
            raise InvalidRequest(f"{value[:40]!r} is not an upload id", bucket=bucket,
                                 key=key) from None


def check_parts(parts: Sequence[UploadedPart], min_part_size: int, *, bucket: str,
                key: str) -> None:
    """Parts to complete with: at least one, numbers ascending, every part but the last at
    least the backend's smallest part."""
    if not parts:
        raise InvalidRequest("an upload completes with at least one part", bucket=bucket, key=key)
    for before, after in zip(parts, parts[1:]):
        if after.number <= before.number:
            raise InvalidRequest(f"part {after.number} after part {before.number}: numbers must "
                                 "ascend", bucket=bucket, key=key)
        if before.size < min_part_size:
            raise InvalidRequest(f"part {before.number} has {before.size} bytes; every part but "
                                 f"the last needs at least {min_part_size}", bucket=bucket,
                                 key=key)
