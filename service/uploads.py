"""Multipart uploads through the gateway: a client's parts go to the contract's upload session on
the backend that holds the bucket (S3 multipart, Azure staged blocks, Swift segments, local part
files), and nothing is visible until completion.

An upload is pinned to the route it started on: its id names the backend and physical bucket that
hold the parts. If the exit switch moves the bucket meanwhile, the parts are on the old backend,
so the upload is refused as gone (NoSuchUpload) rather than completed there, where the bucket is
no longer served from. Completing takes the bucket like any write, so it never interleaves with
the switch or a bucket delete.

Every upload is recorded in the gateway's state (service/upload_records.py): open ones are listed
(ListMultipartUploads), and how each ended is the same answer on every replica (a completion asked
again gets the first answer; an aborted upload is gone).

The announced SHA-256 is unknown (parts come in any order): the object records none, except where
completing reads the parts (local disks). Each part is still checked on arrival (its MD5, and its
SHA-256 where the client signed it) and its MD5 is checked by the backend.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from adapters.contract import ObjectInfo
from adapters.errors import UploadNotFound
from adapters.uploads import UploadedPart

from .conditions import Conditions
from .upload_records import OpenUpload

if TYPE_CHECKING:
    from .gateway import Gateway, Resolved


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
        #: Open and ended uploads, in the gateway's state: every replica answers the same.
        self.records = gateway.upload_records

    def start(self, logical: str, key: str, *, content_type: str | None,
              metadata: Mapping[str, str]) -> str:
        with self.gateway.locks.writing(logical):
            target = self.gateway.resolve(logical)
            session = target.store.start_upload(target.route.physical, key, sha256=None,
                                                content_type=content_type, metadata=metadata)
            upload_id = UploadRef(target.route.backend, target.route.physical, session).encode()
            self.records.opened(upload_id, logical, key)
            return upload_id

    def upload_part(self, logical: str, key: str, upload_id: str, number: int,
                    data: bytes) -> UploadedPart:
        target, ref = self._pinned(logical, key, upload_id)
        return target.store.upload_part(ref.physical, key, ref.session, number, data)

    def list_parts(self, logical: str, key: str, upload_id: str) -> list[UploadedPart]:
        target, ref = self._pinned(logical, key, upload_id)
        return target.store.list_parts(ref.physical, key, ref.session)

    def completed(self, logical: str, key: str, upload_id: str) -> ObjectInfo | None:
        """What completing this upload gave, if it was completed (this week)."""
        ending = self.records.ending(upload_id)
        return ending[1] if ending is not None and ending[1] is not None \
            and ending[1].key == key else None

    def open_uploads(self, logical: str, prefix: str, after_key: str, after_id: str,
                     limit: int) -> list[OpenUpload]:
        self.gateway.resolve(logical)  # NoSuchBucket for a bucket that is not served
        return self.records.open_uploads(logical, prefix, after_key, after_id, limit)

    def complete(self, logical: str, key: str, upload_id: str, parts: Sequence[UploadedPart],
                 conditions: Conditions = Conditions()) -> ObjectInfo:
        ref = self._ref(logical, key, upload_id)

        def finish(target: "Resolved") -> ObjectInfo:
            _same_route(target, ref, logical, key)  # checked with the bucket taken for writing
            return target.store.complete_upload(ref.physical, key, ref.session, parts,
                                                sha256=None)

        info = self.gateway.write(logical, key, conditions, finish)
        self.records.completed(upload_id, info)
        return info

    def abort(self, logical: str, key: str, upload_id: str) -> None:
        target, ref = self._pinned(logical, key, upload_id)
        target.store.abort_upload(ref.physical, key, ref.session)
        self.records.aborted(upload_id)

    def _ref(self, logical: str, key: str, upload_id: str) -> UploadRef:
        """The upload's id, read; NoSuchUpload for one that ended."""
        ref = UploadRef.decode(upload_id, bucket=logical, key=key)
        if self.records.ending(upload_id) is not None:
            raise UploadNotFound("no such upload: it was completed or aborted", bucket=logical,
                                 key=key)
        return ref

    def _pinned(self, logical: str, key: str, upload_id: str) -> tuple["Resolved", UploadRef]:
        ref = self._ref(logical, key, upload_id)
        target = self.gateway.resolve(logical)
        _same_route(target, ref, logical, key)
        return target, ref


def _same_route(target: "Resolved", ref: UploadRef, logical: str, key: str) -> None:
    if (target.route.backend, target.route.physical) != (ref.backend, ref.physical):
        raise UploadNotFound("the bucket moved to another backend since this upload started "
                             "(exit switch): its parts stay behind; start it again",
                             bucket=logical, key=key)
