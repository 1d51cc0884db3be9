"""API tokens: scopes over bucket-name patterns, stored hashed in STATE_DIR/tokens.sqlite3, or in
the shared PostgreSQL state (service/state/) where several gateway replicas run.

A token reads `sortie_<id>_<secret>`: the id (public, shown in `token list` and the audit log)
finds the row, the secret is 256 random bits. Only the SHA-256 of the whole token is stored: a
salt or a slow hash adds nothing against guessing a 256-bit secret, and the lookup by id keeps the
check a single constant-time comparison.

Scopes: `read` (list, GET, HEAD), `write` (PUT, DELETE, create and delete buckets) and `admin`
(routes; implies read and write). `write` does not imply `read`, so a write-only token can feed a
bucket it cannot read back. Buckets: fnmatch globs, case-sensitive (`*` for all).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, Protocol, Sequence

from exit_drills.private import private_dir, private_sqlite

from .bucket_cors import SCHEMA as CORS_SCHEMA
from .upload_records import SCHEMA as UPLOADS_SCHEMA

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
_FILE = "tokens.sqlite3"
_TOKEN = re.compile(r"^sortie_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    buckets TEXT NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT,
    expires TEXT,                  -- ISO time after which the token is refused; NULL: never
    s3_secret TEXT                 -- the S3 front's secret key, sealed (service/s3api/keys.py)
);
"""


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    scopes: frozenset[str]
    buckets: tuple[str, ...]
    created: str
    revoked: str | None = None
    expires: str | None = None

    def expired(self, now: datetime | None = None) -> bool:
        if self.expires is None:
            return False
        return datetime.fromisoformat(self.expires) <= (now or datetime.now(timezone.utc))

    def allows(self, scope: Scope, bucket: str | None = None) -> bool:
        """Whether this token may act with `scope` on `bucket` (None: not about one bucket)."""
        if scope not in self.scopes and "admin" not in self.scopes:
            return False
        if bucket is None:
            return True
        return any(fnmatch.fnmatchcase(bucket, pattern) for pattern in self.buckets)

    def sees(self, bucket: str) -> bool:
        """Whether a bucket appears in this token's bucket listing."""
        return any(fnmatch.fnmatchcase(bucket, pattern) for pattern in self.buckets)


class Rows(Protocol):
    """Where tokens are kept: SQL with `?` placeholders, over SQLite or PostgreSQL."""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def close(self) -> None: ...


class SqliteRows:
    """STATE_DIR/tokens.sqlite3, shared by the CLI and the server of one host: tokens, the
    gateway's record of multipart uploads, buckets' CORS configurations."""

    def __init__(self, state_dir: Path) -> None:
        private_dir(state_dir)
        self._path = state_dir / _FILE
        with closing(self._connect()) as db:
            db.executescript(_SCHEMA)
            # The state's other tables (service/upload_records.py, service/bucket_cors.py).
            db.executescript(UPLOADS_SCHEMA)
            db.executescript(CORS_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(tokens)")}
            if "expires" not in columns:  # tokens made before they could expire: never do
                db.execute("ALTER TABLE tokens ADD COLUMN expires TEXT")
            if "s3_secret" not in columns:  # tokens made before the S3 front: no S3 key
                db.execute("ALTER TABLE tokens ADD COLUMN s3_secret TEXT")
        # Reads run on every request: one long-lived connection saves opening the file each
        # time. In autocommit mode each query still sees what other processes (the CLI) committed,
        # so a revocation applies from the next request on.
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        # One connection per write: the CLI and the server share the file; SQLite serialises them.
        return private_sqlite(self._path, timeout=10, isolation_level=None)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reader_lock:
            if self._reader is None:
                self._reader = sqlite3.connect(self._path, timeout=10, isolation_level=None,
                                               check_same_thread=False)
            return self._reader.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with closing(self._connect()) as db:
            return db.execute(sql, params).rowcount

    def close(self) -> None:
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


class TokenStore:
    def __init__(self, state_dir: Path | None = None, *, rows: Rows | None = None) -> None:
        if rows is None:
            assert state_dir is not None, "a state folder or a database"
            rows = SqliteRows(state_dir)
        self._rows = rows

    def create(self, name: str, scopes: Iterable[str], buckets: Iterable[str],
               expires_in: timedelta | None = None) -> tuple[str, TokenInfo]:
        """A new token; the secret is returned here once and never stored."""
        scope_set = frozenset(scopes)
        unknown = scope_set - set(SCOPES)
        if not scope_set or unknown:
            raise ValueError(f"scopes must be among {', '.join(SCOPES)}; got {sorted(scope_set)}")
        patterns = tuple(buckets)
        if not patterns or any(not p for p in patterns):
            raise ValueError("give at least one non-empty bucket pattern ('*' for every bucket)")
        token_id = secrets.token_hex(6)
        token = f"sortie_{token_id}_{secrets.token_urlsafe(32)}"
        now = datetime.now(timezone.utc)
        expires = (now + expires_in).isoformat(timespec="seconds") if expires_in else None
        info = TokenInfo(token_id, name, scope_set, patterns, now.isoformat(timespec="seconds"),
                         expires=expires)
        self._rows.execute("INSERT INTO tokens (id, hash, name, scopes, buckets, created, expires) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (token_id, _digest(token), name, json.dumps(sorted(scope_set)),
                            json.dumps(list(patterns)), info.created, expires))
        return token, info

    def verify(self, token: str) -> TokenInfo | None:
        """The token's info if it is valid and not revoked, else None."""
        match = _TOKEN.fullmatch(token)
        if not match:
            return None
        rows = self._rows.query(
            "SELECT id, hash, name, scopes, buckets, created, revoked, expires FROM tokens "
            "WHERE id = ?", (match.group(1),))
        row = rows[0] if rows else None
        if row is None or not hmac.compare_digest(row[1], _digest(token)) or row[6] is not None:
            return None
        info = _info(row)
        return None if info.expired() else info

    def expired_on(self, token: str) -> str | None:
        """When a genuine, unrevoked token expired, if that is why `verify` refused it."""
        match = _TOKEN.fullmatch(token)
        if not match:
            return None
        rows = self._rows.query("SELECT hash, revoked, expires FROM tokens WHERE id = ?",
                                (match.group(1),))
        row = rows[0] if rows else None
        if row is None or not hmac.compare_digest(row[0], _digest(token)) or row[1] or not row[2]:
            return None
        return str(row[2])

    def list(self) -> list[TokenInfo]:
        rows = self._rows.query("SELECT id, hash, name, scopes, buckets, created, revoked, "
                                "expires FROM tokens ORDER BY created, id")
        return [_info(row) for row in rows]

    def revoke(self, token_id: str) -> bool:
        """Revoke a token by id; False if there is no such active token."""
        return self._rows.execute(
            "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
            (datetime.now(timezone.utc).isoformat(timespec="seconds"), token_id)) == 1

    def close(self) -> None:
        self._rows.close()

    def is_empty(self) -> bool:
        return not self._rows.query("SELECT 1 FROM tokens LIMIT 1")

    def set_s3_secret(self, token_id: str, sealed: str) -> None:
        """Give an active token S3 credentials (its secret sealed by the caller)."""
        if self._rows.execute("UPDATE tokens SET s3_secret = ? WHERE id = ? AND revoked IS NULL",
                              (sealed, token_id)) != 1:
            raise ValueError(f"no active token {token_id!r}")

    def s3_identity(self, token_id: str) -> tuple[TokenInfo, str] | None:
        """An active, unexpired token with S3 credentials, and its sealed secret."""
        rows = self._rows.query(
            "SELECT id, hash, name, scopes, buckets, created, revoked, expires, s3_secret "
            "FROM tokens WHERE id = ?", (token_id,))
        if not rows or rows[0][6] is not None or not rows[0][8]:
            return None
        info = _info(rows[0][:8])
        return None if info.expired() else (info, str(rows[0][8]))

    def export_rows(self) -> list[tuple[Any, ...]]:
        """Every token row as stored (hashes, never secrets), to move an installation."""
        return self._rows.query("SELECT id, hash, name, scopes, buckets, created, revoked, "
                                "expires FROM tokens ORDER BY created, id")

    def import_row(self, row: Sequence[Any]) -> bool:
        """Add one exported row; False when a token of that id is there already."""
        if self._rows.query("SELECT 1 FROM tokens WHERE id = ?", (row[0],)):
            return False
        self._rows.execute("INSERT INTO tokens (id, hash, name, scopes, buckets, created, "
                           "revoked, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tuple(row))
        return True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _info(row: tuple) -> TokenInfo:  # type: ignore[type-arg]
    token_id, _hash, name, scopes, buckets, created, revoked, expires = row
    return TokenInfo(token_id, name, frozenset(json.loads(scopes)), tuple(json.loads(buckets)),
                     created, revoked, expires)
