"""Every drill ever run: the evidence trail, and what the gateway asks before it lets a bucket's
route switch to a new backend. In SQLite under the state dir, or in the shared PostgreSQL state
where several gateway replicas run: each function takes `where`, a state folder or rows of that
database (`Rows`, written with `?` placeholders; service/state/ supplies them)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, Sequence, Union

from .private import private_dir, private_sqlite
from .spec import DrillSpec

FILE_NAME = "drills.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS drills (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source_backend TEXT NOT NULL,
    source_bucket TEXT NOT NULL,
    source_prefix TEXT NOT NULL,
    target_backend TEXT NOT NULL,
    target_bucket TEXT NOT NULL,
    target_prefix TEXT NOT NULL,
    mode TEXT NOT NULL,
    cleanup INTEGER NOT NULL,      -- 1: the copy was deleted afterwards (a rehearsal only)
    status TEXT NOT NULL,          -- running | passed | failed
    started TEXT NOT NULL,
    finished TEXT,
    report_dir TEXT NOT NULL,
    -- 1: passed with every object read back, so the exit switch may follow it
    switch_eligible INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS drills_route ON drills (source_backend, source_bucket, target_backend,
                                                   status, finished);
"""
COLUMNS = ("id", "name", "source_backend", "source_bucket", "source_prefix", "target_backend",
           "target_bucket", "target_prefix", "mode", "cleanup", "status", "started", "finished",
           "report_dir", "switch_eligible")


class Rows(Protocol):
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...


#: Where the history is: a state folder (SQLite) or the shared database's rows.
Where = Union[Path, Rows]
def drills_dir(state_dir: Path) -> Path:
    return state_dir / "drills"


class _Sqlite:
    """STATE_DIR/drills/drills.sqlite3, one connection per call (processes share the file)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with closing(_connect(self.state_dir)) as db:
            return db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with closing(_connect(self.state_dir)) as db:
            return db.execute(sql, params).rowcount


def _rows(where: Where) -> Rows:
    return _Sqlite(where) if isinstance(where, Path) else where


def _connect(state_dir: Path) -> sqlite3.Connection:
    folder = drills_dir(state_dir)
    private_dir(folder)
    db = private_sqlite(folder / FILE_NAME, timeout=60, isolation_level=None)
    db.executescript(_SCHEMA)
    _migrate(db)
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """Histories written before drills recorded `switch_eligible`: full and verify-only drills
    read every object back; incremental ones did not read back what they skipped."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(drills)")}
    if "switch_eligible" not in columns:
        db.execute("ALTER TABLE drills ADD COLUMN switch_eligible INTEGER NOT NULL DEFAULT 0")
        db.execute("UPDATE drills SET switch_eligible = 1 WHERE status = 'passed' "
                   "AND mode != 'incremental'")


def record_start(where: Where, drill_id: str, spec: DrillSpec, report_dir: Path,
                 started: datetime) -> None:
    _rows(where).execute(
        f"INSERT INTO drills ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
        "ON CONFLICT(id) DO UPDATE SET status = 'running', finished = NULL, "
        "report_dir = excluded.report_dir",
        (drill_id, spec.name, spec.source.backend, spec.source.bucket, spec.source.prefix,
         spec.target.backend, spec.target.bucket, spec.target.prefix, spec.mode.value,
         int(spec.cleanup), "running", _iso(started), None, str(report_dir), 0))


def record_finish(where: Where, drill_id: str, status: str, finished: datetime, *,
                  switch_eligible: bool) -> None:
    _rows(where).execute(
        "UPDATE drills SET status = ?, finished = ?, switch_eligible = ? WHERE id = ?",
        (status, _iso(finished), int(switch_eligible), drill_id))


def get(where: Where, drill_id: str) -> dict[str, Any] | None:
    rows = _rows(where).query(f"SELECT {', '.join(COLUMNS)} FROM drills WHERE id = ?",
                              (drill_id,))
    return dict(zip(COLUMNS, rows[0])) if rows else None


def list_drills(where: Where, limit: int = 100) -> list[dict[str, Any]]:
    """The most recent drills, unfiltered."""
    return find(where, limit=limit)


def find(where: Where, *, status: str | None = None, bucket: str | None = None,
         since: str | None = None, after: tuple[str, str] | None = None,
         limit: int = 50) -> list[dict[str, Any]]:
    """Drills, most recent first: of one status, touching one bucket (as source or target), started
    at or after `since` (ISO 8601), after the (started, id) of a previous page's last row."""
    conditions: list[str] = []
    args: list[Any] = []
    if status:
        conditions.append("status = ?")
        args.append(status)
    if bucket:
        conditions.append("(source_bucket = ? OR target_bucket = ?)")
        args += [bucket, bucket]
    if since:
        conditions.append("started >= ?")
        args.append(since)
    if after:
        conditions.append("(started < ? OR (started = ? AND id < ?))")
        args += [after[0], after[0], after[1]]
    clause = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = _rows(where).query(f"SELECT {', '.join(COLUMNS)} FROM drills {clause} "
                              "ORDER BY started DESC, id DESC LIMIT ?", (*args, limit))
    return [dict(zip(COLUMNS, r)) for r in rows]


def latest_passed_drill(where: Where, source_backend: str, source_bucket: str,
                        target_backend: str) -> dict | None:
    """The most recent passed drill that copied (or verified) the whole source bucket onto
    `target_backend` under the same keys, and left the copy there; None if there is none.
    Drills of a prefix only, into a target prefix, or cleaned up afterwards do not count: after
    them the target does not hold the bucket as the gateway would serve it. The row says whether
    the switch may follow it (`switch_eligible`: every object read back); the caller refuses
    when it may not, rather than falling back on an older drill."""
    rows = _rows(where).query(
        f"SELECT {', '.join(COLUMNS)} FROM drills WHERE source_backend = ? AND source_bucket = ? "
        "AND target_backend = ? AND status = 'passed' AND source_prefix = '' "
        "AND target_prefix = '' AND cleanup = 0 "
        "ORDER BY finished DESC LIMIT 1",
        (source_backend, source_bucket, target_backend))
    return dict(zip(COLUMNS, rows[0])) if rows else None


def last_full_copy_rate(where: Where, spec: DrillSpec) -> tuple[str, str, float] | None:
    """(drill id, finished, copy bytes/s) of the last passed full drill with the same source and
    target as `spec`, from its report.json; None when there is none or its report is gone."""
    rows = _rows(where).query(
        "SELECT id, finished, report_dir FROM drills WHERE source_backend = ? AND "
        "source_bucket = ? AND source_prefix = ? AND target_backend = ? AND "
        "target_bucket = ? AND target_prefix = ? AND mode = 'full' AND status = 'passed' "
        "ORDER BY finished DESC LIMIT 5",
        (spec.source.backend, spec.source.bucket, spec.source.prefix, spec.target.backend,
         spec.target.bucket, spec.target.prefix))
    for drill_id, finished, report_dir in rows:
        try:
            report = json.loads((Path(report_dir) / "report.json").read_text(encoding="utf-8"))
            copied, duration = int(report["bytes"]["copied"]), float(report["duration_s"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if copied and duration > 0:
            return drill_id, finished, copied / duration
    return None


def export_rows(where: Where) -> list[tuple[Any, ...]]:
    """Every drill row, oldest first (`sortie state export`)."""
    return _rows(where).query(f"SELECT {', '.join(COLUMNS)} FROM drills ORDER BY started, id")


def import_row(where: Where, row: Sequence[Any]) -> bool:
    """Add an exported row; False when a drill of that id is there already."""
    rows = _rows(where)
    if rows.query("SELECT 1 FROM drills WHERE id = ?", (row[0],)):
        return False
    rows.execute(f"INSERT INTO drills ({', '.join(COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(COLUMNS))})", tuple(row))
    return True


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
