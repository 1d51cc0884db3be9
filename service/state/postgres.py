"""PostgreSQL: the state several gateway replicas share (config `state: {url}`).

A connection pool (psycopg_pool) per process. Schema changes are a small list of versioned
migrations recorded in `sortie_schema`, applied by `sortie state migrate` under an advisory lock
(two replicas migrating at once apply each step once). Alembic would bring SQLAlchemy for five
tables written in plain SQL; a numbered list says the same and reads in one screen.

Every failure to reach the database is `StateUnavailable`, a transient error: the gateway answers
503 with Retry-After, never 500, and recovers by itself when the database returns.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.errors import TransientError

from ..bucket_cors import SCHEMA as CORS_SCHEMA
from ..upload_records import SCHEMA as UPLOADS_SCHEMA

#: (version, what it does, SQL). Append only: a released step never changes.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "tokens, routes, the delete journal, the audit chain", """
        CREATE TABLE tokens (
            id TEXT PRIMARY KEY, hash TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL,
            buckets TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT, expires TEXT);
        -- A runtime route; backend NULL hides a configured route (its bucket was deleted).
        CREATE TABLE routes (logical TEXT PRIMARY KEY, backend TEXT, physical TEXT);
        CREATE TABLE route_deletes (
            logical TEXT PRIMARY KEY, backend TEXT NOT NULL, physical TEXT NOT NULL);
        CREATE TABLE audit (seq BIGINT PRIMARY KEY, line TEXT NOT NULL, sha256 TEXT NOT NULL);
    """),
    (2, "drill history (exit_drills/history.py: the same columns as its SQLite table)", """
        CREATE TABLE drills (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, source_backend TEXT NOT NULL,
            source_bucket TEXT NOT NULL, source_prefix TEXT NOT NULL,
            target_backend TEXT NOT NULL, target_bucket TEXT NOT NULL,
            target_prefix TEXT NOT NULL, mode TEXT NOT NULL, cleanup INTEGER NOT NULL,
            status TEXT NOT NULL, started TEXT NOT NULL, finished TEXT, report_dir TEXT NOT NULL,
            switch_eligible INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX drills_route ON drills (source_backend, source_bucket, target_backend,
                                             status, finished);
    """),
    (3, "S3 front credentials (a token's sealed secret key)", """
        ALTER TABLE tokens ADD COLUMN s3_secret TEXT;
    """),
    (4, "multipart uploads through the S3 front (service/upload_records.py)", UPLOADS_SCHEMA),
    (5, "buckets' CORS configurations (service/bucket_cors.py)", CORS_SCHEMA),
]
LATEST = MIGRATIONS[-1][0]
#: Advisory lock keys (first of two int4 keys): one namespace per use.
LOCK_MIGRATE, LOCK_AUDIT, LOCK_BUCKET, LOCK_OBJECT = 7301, 7302, 7303, 7304


class StateUnavailable(TransientError):
    """The state database cannot be reached or answered with an error."""


class SchemaOutOfDate(Exception):
    """The database's schema is older than this Sortie: `sortie state migrate`."""


class Database:
    def __init__(self, url: str, *, pool_size: int = 50, timeout: float = 5.0) -> None:
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, timeout=timeout,
                                   kwargs={"autocommit": True, "connect_timeout": 5},
                                   open=False, name="sortie-state")
        try:
            # Opened without waiting: a database that is down now only makes requests fail (503)
            # until it returns, it does not stop the gateway from starting.
            self.pool.open(wait=False)
        except psycopg.Error as exc:
            raise StateUnavailable(f"state database: {_said(exc)}") from None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout:
            raise StateUnavailable("state database: no connection within "
                                   f"{self.pool.timeout:.0f} s (down, or every connection "
                                   "busy)") from None
        except psycopg.OperationalError as exc:
            raise StateUnavailable(f"state database: {_said(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self.connection() as conn:
            try:
                with conn.transaction():
                    yield conn
            except psycopg.OperationalError as exc:
                raise StateUnavailable(f"state database: {_said(exc)}") from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except psycopg.OperationalError as exc:
                raise StateUnavailable(f"state database: {_said(exc)}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self.connection() as conn:
            try:
                return conn.execute(sql, params).rowcount
            except psycopg.OperationalError as exc:
                raise StateUnavailable(f"state database: {_said(exc)}") from None

    def schema_version(self) -> int:
        rows = self.query("SELECT to_regclass('sortie_schema') IS NOT NULL")
        if not rows[0][0]:
            return 0
        return int(self.query("SELECT coalesce(max(version), 0) FROM sortie_schema")[0][0])

    def require_schema(self) -> None:
        version = self.schema_version()
        if version < LATEST:
            raise SchemaOutOfDate(f"the state database's schema is at version {version}, this "
                                  f"Sortie needs {LATEST}: run `sortie state migrate`")

    def close(self) -> None:
        self.pool.close()


def migrate(db: Database) -> list[str]:
    """Apply the missing migrations; returns what was applied (nothing: already up to date)."""
    applied = []
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_MIGRATE,))
        conn.execute("CREATE TABLE IF NOT EXISTS sortie_schema (version INT PRIMARY KEY, "
                     "description TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())")
        done = {row[0] for row in conn.execute("SELECT version FROM sortie_schema").fetchall()}
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            conn.execute(sql)  # type: ignore[arg-type]
            conn.execute("INSERT INTO sortie_schema (version, description) VALUES (%s, %s)",
                         (version, description))
            applied.append(f"{version}: {description}")
    return applied


def _said(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
