"""A drill's progress on disk (SQLite), so that `--resume` after a crash or SIGKILL goes on where
the drill stopped instead of copying everything again.

One row per source object once it is settled (verified, unverified or failed), committed in
batches (128 rows or 1 s, one transaction each): a killed process loses at most the objects in
flight and the last uncommitted batch, which the resumed run drills again. The row also
remembers whether this drill wrote the target object, so `--cleanup` deletes only what the drill
itself created.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from .parts import UploadRecord
from .private import private_dir, private_sqlite
from .spec import DrillSpec

#: Records committed together, and the longest a record waits for its batch.
_BATCH = 128
_BATCH_SECONDS = 1.0
FILE_NAME = "checkpoint.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    target_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT,
    status TEXT NOT NULL,          -- 'verified' | 'unverified' | 'failed'
    outcome TEXT NOT NULL,         -- 'copied' | 'skipped' | 'compared' | 'failed'
    reason TEXT,
    wrote INTEGER NOT NULL DEFAULT 0,
    run INTEGER NOT NULL,
    etag TEXT                      -- the source's ETag when the row was written
) WITHOUT ROWID;
-- Upload sessions of large objects in flight (exit_drills/parts.py), written before their first
-- part leaves; a row goes when its object settles verified.
CREATE TABLE IF NOT EXISTS uploads (
    key TEXT PRIMARY KEY,
    upload_id TEXT NOT NULL,
    part_size INTEGER NOT NULL,
    size INTEGER NOT NULL,
    source_etag TEXT,
    sha256 TEXT NOT NULL
) WITHOUT ROWID;
-- What the target held under the drill's prefix, listed while the drill runs (source key ->
-- target key); after the run, a key no settled object accounts for is an extra.
CREATE TABLE IF NOT EXISTS target_listing (
    key TEXT PRIMARY KEY,
    target_key TEXT NOT NULL
) WITHOUT ROWID;
"""


class Checkpoint:
    def __init__(self, folder: Path) -> None:
        private_dir(folder)
        self.path = folder / FILE_NAME
        # Workers share one connection behind a lock: SQLite serialises writers anyway.
        self._db = private_sqlite(self.path, timeout=60, isolation_level=None,
                                  check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # A process kill loses nothing committed with NORMAL; only a power cut might.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(objects)")}
            if "etag" not in columns:  # a checkpoint written before the column existed
                self._db.execute("ALTER TABLE objects ADD COLUMN etag TEXT")
            # A new drill has no earlier work to look up for each listed object.
            self._fresh = self._db.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is None
            self._no_sessions = self._db.execute(
                "SELECT 1 FROM uploads LIMIT 1").fetchone() is None
        # Settled objects are written in batches, one transaction each: a process killed
        # loses at most the last batch, whose objects a resumed run simply drills again.
        self._pending: list[tuple[object, ...]] = []
        self._flushed = time.monotonic()

    # ---- the drill itself ------------------------------------------------------------------
    def save_spec(self, spec: DrillSpec) -> None:
        self._set("spec", spec.model_dump_json())

    def load_spec(self) -> DrillSpec | None:
        value = self._get("spec")
        return DrillSpec.model_validate_json(value) if value else None

    def begin_run(self) -> int:
        run = int(self._get("runs") or 0) + 1
        self._set("runs", str(run))
        return run

    def set_info(self, name: str, value: object) -> None:
        self._set(f"info.{name}", json.dumps(value))

    def get_info(self, name: str) -> object:
        value = self._get(f"info.{name}")
        return json.loads(value) if value else None

    # ---- objects ---------------------------------------------------------------------------
    def done(self, key: str) -> tuple[int, str | None, str | None] | None:
        """(size, sha256, source etag) of an object verified in an earlier run (committed),
        else None. A run lists each key once, so its own buffered records never matter here."""
        if self._fresh:
            return None
        with self._lock:
            row = self._db.execute("SELECT size, sha256, etag FROM objects WHERE key = ? AND "
                                   "status = 'verified'", (key,)).fetchone()
        return (int(row[0]), row[1], row[2]) if row else None

    # ---- the target's listing, for extras ----------------------------------------------------
    def clear_target_listing(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM target_listing")

    def add_target_keys(self, pairs: list[tuple[str, str]]) -> None:
        """(source key, target key) of objects listed in the target, one transaction."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR IGNORE INTO target_listing (key, target_key) "
                                     "VALUES (?, ?)", pairs)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def extras(self, run: int, limit: int) -> tuple[int, list[str]]:
        """(count, first `limit` target keys) of listed target objects that no object settled
        in `run` accounts for."""
        query = ("FROM target_listing t WHERE NOT EXISTS (SELECT 1 FROM objects o "
                 "WHERE o.key = t.key AND o.run = ?)")
        with self._lock:
            self.flush()
            count = self._db.execute(f"SELECT COUNT(*) {query}", (run,)).fetchone()[0]
            keys = [row[0] for row in self._db.execute(
                f"SELECT t.target_key {query} ORDER BY t.target_key LIMIT ?", (run, limit))]
        return int(count), keys

    def mark_written(self, key: str, target_key: str, size: int, run: int) -> None:
        """The target now holds an object written by this drill (recorded before verification, so
        that cleanup finds it even if the drill dies right after)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO objects (key, target_key, size, status, outcome, wrote, run) "
                "VALUES (?, ?, ?, 'failed', 'failed', 1, ?) ON CONFLICT(key) DO UPDATE SET "
                "wrote = 1, target_key = excluded.target_key", (key, target_key, size, run))

    def record(self, key: str, target_key: str, size: int, sha256: str | None, *, status: str,
               outcome: str, reason: str | None, run: int, etag: str | None = None,
               wrote: bool = False) -> None:
        """Settle one object: `status` is 'verified' (bytes read back and identical),
        'unverified' (trusted on recorded hashes, not read back) or 'failed'; `wrote`: this
        drill wrote it to the target. Buffered: committed with its batch."""
        with self._lock:
            self._pending.append((key, target_key, size, sha256, status, outcome, reason, run,
                                  etag, int(wrote)))
            if len(self._pending) >= _BATCH or time.monotonic() - self._flushed > _BATCH_SECONDS:
                self.flush()

    def flush(self) -> None:
        """Commit the buffered records in one transaction."""
        with self._lock:
            self._flushed = time.monotonic()
            if not self._pending:
                return
            rows, self._pending = self._pending, []
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO objects (key, target_key, size, sha256, status, outcome, reason, "
                    "run, etag, wrote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO "
                    "UPDATE SET target_key = excluded.target_key, size = excluded.size, "
                    "sha256 = excluded.sha256, status = excluded.status, "
                    "outcome = excluded.outcome, reason = excluded.reason, run = excluded.run, "
                    "etag = excluded.etag, wrote = MAX(objects.wrote, excluded.wrote)", rows)
                self._db.executemany("DELETE FROM uploads WHERE key = ?",
                                     [(row[0],) for row in rows if row[4] == "verified"])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---- upload sessions (the `Sessions` book of exit_drills/parts.py) ---------------------
    def resume_for(self, key: str) -> UploadRecord | None:
        if self._no_sessions:  # as of this run's start: its own sessions are not resumed
            return None
        with self._lock:
            row = self._db.execute("SELECT upload_id, part_size, size, source_etag, sha256 FROM "
                                   "uploads WHERE key = ?", (key,)).fetchone()
        return UploadRecord(row[0], int(row[1]), int(row[2]), row[3], row[4]) if row else None

    def started(self, key: str, record: UploadRecord) -> None:
        """Committed at once (not batched): the session must be known before a part leaves."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads (key, upload_id, part_size, size, source_etag, "
                "sha256) VALUES (?, ?, ?, ?, ?, ?)", (key, record.upload_id, record.part_size,
                                                      record.size, record.source_etag,
                                                      record.sha256))

    def touch(self, key: str, run: int) -> None:
        with self._lock:
            self.flush()
            self._db.execute("UPDATE objects SET run = ? WHERE key = ?", (run, key))

    # Rows of keys not seen by the current run belong to objects since deleted from the source:
    # the report queries below take the run number to leave them out.
    def failures(self, run: int, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            self.flush()
            rows = self._db.execute("SELECT key, COALESCE(reason, 'interrupted before verification') "
                                    "FROM objects WHERE status = 'failed' AND run = ? ORDER BY key "
                                    "LIMIT ?", (run, limit)).fetchall()
        return [(r[0], r[1]) for r in rows]

    def keys_with_status(self, status: str, run: int, limit: int) -> list[str]:
        with self._lock:
            self.flush()
            rows = self._db.execute("SELECT key FROM objects WHERE status = ? AND run = ? "
                                    "ORDER BY key LIMIT ?", (status, run, limit)).fetchall()
        return [r[0] for r in rows]

    def count(self, status: str, run: int | None = None) -> int:
        with self._lock:
            self.flush()
            if run is None:
                row = self._db.execute("SELECT COUNT(*) FROM objects WHERE status = ?", (status,))
            else:
                row = self._db.execute("SELECT COUNT(*) FROM objects WHERE status = ? AND run = ?",
                                       (status, run))
            return int(row.fetchone()[0])

    def verified_rows(self, run: int) -> Iterator[tuple[str, int, str | None]]:
        """(key, size, sha256) of every verified object in key order, in batches."""
        rows = self._in_key_order("size, sha256", "status = 'verified' AND run = ?", (run,))
        return ((key, int(size), sha256) for key, size, sha256 in rows)

    def written_target_keys(self) -> Iterator[str]:
        return (row[1] for row in self._in_key_order("target_key", "wrote = 1", ()))

    def _in_key_order(self, columns: str, where: str,
                      params: tuple[object, ...]) -> Iterator[tuple[Any, ...]]:
        """(key, *columns) of the objects matching `where`, in key order, 1,000 rows a query.
        Each query seeks past the last key of the one before (`key > ?` alone, which the
        primary key answers): a condition that also matched the first page (`key > ? OR ?`)
        made SQLite scan from the first key for every page, so reading a checkpoint back grew
        with the square of its size (7 s for 300,000 objects; 100 million would never end)."""
        self.flush()
        page = f"SELECT key, {columns} FROM objects WHERE {where} {{after}} ORDER BY key LIMIT 1000"
        rows = self._fetch(page.format(after=""), params)
        while rows:
            yield from rows
            rows = self._fetch(page.format(after="AND key > ?"), (*params, rows[-1][0]))

    def _fetch(self, query: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(query, params).fetchall()

    def unmark_written(self, target_key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE objects SET wrote = 0 WHERE target_key = ?", (target_key,))

    def close(self) -> None:
        with self._lock:
            self.flush()
            self._db.close()

    # ---- helpers ---------------------------------------------------------------------------
    def _set(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO "
                             "UPDATE SET value = excluded.value", (name, value))

    def _get(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None
