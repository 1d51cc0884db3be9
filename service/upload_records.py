"""The gateway's record of multipart uploads, in its state (the SQLite file of one host, or the
shared PostgreSQL database): which are open (ListMultipartUploads), and how each ended, so that
every replica answers the same: a completion asked again gets the first answer, an aborted
upload is gone (even on Azure, whose staged blocks cannot be dropped, only expire unused).

The same SQL runs on both stores (written with `?`, as the token store's). Ended records are
kept a week, then pruned when new uploads start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from adapters.contract import ObjectInfo

#: How long an ended upload is remembered.
KEEP_ENDED = timedelta(days=7)
SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,                    -- NULL while open
    outcome TEXT,                  -- 'completed' or 'aborted'
    size BIGINT,                   -- of the completed object
    etag TEXT,
    sha256 TEXT
);
CREATE INDEX IF NOT EXISTS uploads_bucket ON uploads (bucket);
"""


@dataclass(frozen=True)
class OpenUpload:
    key: str
    upload_id: str
    started: datetime


class UploadRecords:
    def __init__(self, rows: Any) -> None:
        self._rows = rows  # service/tokens.Rows: SQLite or PostgreSQL

    def opened(self, upload_id: str, bucket: str, key: str) -> None:
        now = datetime.now(timezone.utc)
        self._rows.execute("DELETE FROM uploads WHERE ended IS NOT NULL AND ended < ?",
                           ((now - KEEP_ENDED).isoformat(),))
        self._rows.execute("INSERT INTO uploads (upload_id, bucket, key, started) "
                           "VALUES (?, ?, ?, ?)", (upload_id, bucket, key, now.isoformat()))

    def completed(self, upload_id: str, info: ObjectInfo) -> None:
        self._end(upload_id, "completed", (info.size, info.etag, info.sha256))

    def aborted(self, upload_id: str) -> None:
        self._end(upload_id, "aborted", (None, None, None))

    def _end(self, upload_id: str, outcome: str, fields: Sequence[Any]) -> None:
        self._rows.execute("UPDATE uploads SET ended = ?, outcome = ?, size = ?, etag = ?, "
                           "sha256 = ? WHERE upload_id = ?",
                           (datetime.now(timezone.utc).isoformat(), outcome, *fields, upload_id))

    def ending(self, upload_id: str) -> tuple[str, ObjectInfo | None] | None:
        """How the upload ended ('completed' and the object's info then, or 'aborted'); None
        while it is open or unknown here."""
        rows = self._rows.query("SELECT outcome, key, size, etag, sha256 FROM uploads "
                                "WHERE upload_id = ? AND ended IS NOT NULL", (upload_id,))
        if not rows:
            return None
        outcome, key, size, etag, sha256 = rows[0]
        info = ObjectInfo(key=key, size=int(size), etag=etag, sha256=sha256) \
            if outcome == "completed" else None
        return str(outcome), info

    def open_uploads(self, bucket: str, prefix: str, after_key: str, after_id: str,
                     limit: int) -> list[OpenUpload]:
        """Up to `limit` + 1 open uploads of a bucket whose key starts with `prefix`, after the
        position given, ordered as S3 orders them (key bytes, then upload id). Sorted here: the
        database's collation may not order by bytes. A bucket's open uploads are few (each is a
        client's upload in flight or abandoned)."""
        rows = self._rows.query("SELECT key, upload_id, started FROM uploads "
                                "WHERE bucket = ? AND ended IS NULL", (bucket,))
        position = (after_key.encode("utf-8"), after_id)
        found = sorted((OpenUpload(key, upload_id, datetime.fromisoformat(started))
                        for key, upload_id, started in rows if key.startswith(prefix)),
                       key=lambda u: (u.key.encode("utf-8"), u.upload_id))
        return [u for u in found if (u.key.encode("utf-8"), u.upload_id) > position][:limit + 1]
