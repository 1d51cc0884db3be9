"""Upload sessions as uncommitted blocks of the destination blob.

Azure keeps staged blocks beside a blob (for a week) until a Put Block List commits some of them,
which is the session's completion: nothing is visible before. There is nowhere on the service to
keep a session's content type and metadata until then, so they travel inside the session id.

Block ids must all have one length per blob, also across writers (Azure refuses a block whose id
length differs from blocks already staged), so they keep the 39 characters of BlockStager's ids:
    <tag: 7 hex><first 25 hex of the part's MD5>-<part number: 6 digits>
The tag tells this session's blocks from another writer's; the MD5 prefix (100 bits) lets a
resuming caller check a block against its source bytes without reading it back. Azure itself
checks each block's full MD5 on arrival (Content-MD5). Aborting stages nothing more: Azure has no
call that drops uncommitted blocks, which expire after seven days unless a commit uses them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from dataclasses import dataclass

from ..errors import UploadNotFound

_BLOCK = re.compile(r"^([0-9a-f]{7})([0-9a-f]{25})-(\d{6})$")
_TAG = re.compile(r"^[0-9a-f]{7}$")
MD5_DIGITS = 25


@dataclass(frozen=True)
class Session:
    tag: str
    content_type: str
    metadata: dict[str, str]

    def encode(self) -> str:
        raw = json.dumps({"tag": self.tag, "type": self.content_type, "meta": self.metadata},
                         separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def new_session(content_type: str, metadata: dict[str, str]) -> Session:
    return Session(secrets.token_hex(4)[:7], content_type, metadata)


def decode(native: str, *, backend: str, bucket: str, key: str) -> Session:
    try:
        data = json.loads(base64.urlsafe_b64decode((native + "=" * (-len(native) % 4)).encode()))
        session = Session(str(data["tag"]), str(data["type"]),
                          {str(k): str(v) for k, v in dict(data["meta"]).items()})
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        session = None
    if session is None or not _TAG.match(session.tag):
        raise UploadNotFound("no such upload", backend=backend, bucket=bucket, key=key)
    return session


def block_id(tag: str, number: int, md5: str) -> str:
    return base64.b64encode(f"{tag}{md5[:MD5_DIGITS]}-{number:06d}".encode()).decode()


def parse_block(block_id_b64: str, tag: str) -> tuple[int, str] | None:
    """(part number, MD5 prefix) of a block of session `tag`; None for anyone else's."""
    try:
        raw = base64.b64decode(block_id_b64).decode("ascii")
    except (ValueError, UnicodeError, binascii.Error):
        return None
    match = _BLOCK.match(raw)
    if match is None or match.group(1) != tag:
        return None
    return int(match.group(3)), match.group(2)
