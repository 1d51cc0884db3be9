"""Multipart uploads through the gateway: a client's parts go to the contract's upload session on
the backend that holds the bucket (S3 multipart, Azure staged blocks, Swift segments, local part
files), and nothing is visible until completion.

An upload is pinned to the route it started on: its id names the backend and physical bucket that
hold the parts. If the exit switch moves the bucket meanwhile, the parts are on the old backend,
so the upload is refused as gone (NoSuchUpload) rather than completed there, where the bucket is
no longer served from. Completing takes the bucket like any write, so it never interleaves with
the switch or a bucket delete.

The announced SHA-256 is unknown (parts come in any order): the object records none, except where
completing reads the parts (local disks). Each part is still checked on arrival (its MD5, and its
SHA-256 where the client signed it) and its MD5 is checked by the backend.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from adapters.contract import ObjectInfo
from adapters.errors import UploadNotFound
from adapters.uploads import UploadedPart

from .conditions import Conditions, check_write

if TYPE_CHECKING:
    from .gateway import Gateway, Resolved

#: Uploads ended lately, remembered per process: a client completing again (a retry after a lost
#: answer) gets the same answer rather than NoSuchUpload, and an aborted upload is gone even on
#: Azure, whose staged blocks cannot be dropped (they expire after a week unused).
_REMEMBERED = 1000


@dataclass(frozen=True)
class UploadRef:
    """Where an upload's parts are: the gateway's upload id, opaque to clients."""

    backend: str
    physical: str
    session: str  # the contract's upload id

    def encode(self) -> str:
        raw = json.dumps([self.backend, self.physical, self.session], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, value: str, *, bucket: str, key: str) -> "UploadRef":
        try:
            padded = value + "=" * (-len(value) % 4)
            backend, physical, session = json.loads(base64.urlsafe_b64decode(padded.encode()))
            return cls(str(backend), str(physical), str(session))
        except (ValueError, TypeError, UnicodeError, binascii.Error):
            raise UploadNotFound(f"{value[:40]!r} is not an upload id", bucket=bucket,
                                 key=key) from None


class Uploads:
    """The gateway's multipart uploads (blocking calls, like the gateway's)."""

    def __init__(self, gateway: "Gateway") -> None:
        self.gateway = gateway
        #: (bucket, key, upload id) -> the completed object, or None for an aborted upload.
        self._ended: OrderedDict[tuple[str, str, str], ObjectInfo | None] = OrderedDict()
        self._guard = threading.Lock()

    def start(self, logical: str, key: str, *, content_type: str | None,
              metadata: Mapping[str, str]) -> str:
        with self.gateway.locks.writing(logical):
            target = self.gateway.resolve(logical)
            session = target.store.start_upload(target.route.physical, key, sha256=None,
                                                content_type=content_type, metadata=metadata)
            return UploadRef(target.route.backend, target.route.physical, session).encode()

    def upload_part(self, logical: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        target, ref = self._pinned(logical, key, upload_id)
        return target.store.upload_part(ref.physical, key, ref.session, number, data)

    def list_parts(self, logical: str, key: str, upload_id: str) -> list[UploadedPart]:
        target, ref = self._pinned(logical, key, upload_id)
        return target.store.list_parts(ref.physical, key, ref.session)

    def completed(self, logical: str, key: str, upload_id: str) -> ObjectInfo | None:
        """What completing this upload gave, if this process completed it lately."""
        return self._ended.get((logical, key, upload_id))

    def complete(self, logical: str, key: str, upload_id: str, parts: Sequence[UploadedPart],
                 conditions: Conditions = Conditions()) -> ObjectInfo:
        with self.gateway.locks.writing(logical):
            target, ref = self._pinned(logical, key, upload_id)
            if conditions.for_write:
                with self.gateway.locks.key(logical, key):
                    check_write(conditions, self.gateway.current(target, key))
                    info = target.store.complete_upload(ref.physical, key, ref.session, parts,
                                                        sha256=None)
            else:
                info = target.store.complete_upload(ref.physical, key, ref.session, parts,
                                                    sha256=None)
        self._remember(logical, key, upload_id, info)
        return info

    def abort(self, logical: str, key: str, upload_id: str) -> None:
        target, ref = self._pinned(logical, key, upload_id)
        target.store.abort_upload(ref.physical, key, ref.session)
        self._remember(logical, key, upload_id, None)

    def _remember(self, logical: str, key: str, upload_id: str, info: ObjectInfo | None) -> None:
        with self._guard:
            self._ended[(logical, key, upload_id)] = info
            while len(self._ended) > _REMEMBERED:
                self._ended.popitem(last=False)

    def _pinned(self, logical: str, key: str, upload_id: str) -> tuple["Resolved", UploadRef]:
        ref = UploadRef.decode(upload_id, bucket=logical, key=key)
        if (logical, key, upload_id) in self._ended:
            raise UploadNotFound("no such upload: it was completed or aborted", bucket=logical,
                                 key=key)
        target = self.gateway.resolve(logical)
        if (target.route.backend, target.route.physical) != (ref.backend, ref.physical):
            raise UploadNotFound("the bucket moved to another backend since this upload "
                                 "started (exit switch): its parts stay behind; start it again",
                                 bucket=logical, key=key)
        return target, ref
