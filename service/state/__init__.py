"""Where Sortie keeps its state: tokens, routes (and the bucket-delete journal), the locks that
order writes against deletes and switches, and the audit chain.

Two implementations of the same parts, chosen by the configuration:
- files (the embedded default; `make run` needs nothing else): tokens in SQLite, routes in a JSON
  file, locks as flocks, the audit chain in a file, all under STATE_DIR: right for the processes
  of one host;
- PostgreSQL (`state: {url: "postgresql://..."}`, the password from `${ENV}`), shared by several
  gateway replicas and the CLI: every request reads tokens and routes from the database, so a
  revocation or a switch holds on every replica from the next request on; locks are advisory
  locks; the audit chain is one table (service/state/*.py).
Drill history is in the database too; checkpoints and reports stay under STATE_DIR (files a
drill's coordinator writes; replicas that show each other's reports share that folder).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from ..audit import AuditLog
from ..bucket_locks import BucketLocks
from ..config import LoadedConfig
from ..routing import Route, RouteTable
from ..tokens import SqliteRows, TokenStore
from ..bucket_cors import BucketCors
from ..upload_records import UploadRecords


@dataclass
class State:
    tokens: TokenStore
    routes: RouteTable
    locks: Any  # BucketLocks or PgBucketLocks: writing / exclusive / key
    audit: Any  # AuditLog or PgAuditLog: write / close
    #: Where drills are recorded (exit_drills/history.py): the state folder, or database rows.
    history: Any
    #: Multipart uploads through the S3 front, open and ended (service/upload_records.py).
    uploads: UploadRecords
    #: Buckets' CORS configurations (service/bucket_cors.py).
    cors: BucketCors
    database: Any = None  # the PostgreSQL pool, when the state is there

    @property
    def shared(self) -> bool:
        return self.database is not None

    def close(self) -> None:
        self.tokens.close()
        self.audit.close()
        if self.database is not None:
            self.database.close()


def open_database(config: LoadedConfig) -> Any:
    """The configured PostgreSQL database (None: the state is in files); its schema must be
    current (`sortie state migrate`)."""
    settings = config.settings.state
    if settings.url is None:
        return None
    from .postgres import Database

    db = Database(settings.url, pool_size=settings.pool_size)
    try:
        db.require_schema()
    except BaseException:
        db.close()
        raise
    return db


def open_state(config: LoadedConfig, *, audit: bool = True) -> State:
    db = open_database(config)
    if db is None:
        rows = SqliteRows(config.state_dir)
        return State(TokenStore(rows=rows),
                     RouteTable(config.state_dir, config.settings.buckets),
                     BucketLocks(config.state_dir / "locks"),
                     AuditLog(config.audit_log) if audit else _NoAudit(), config.state_dir,
                     UploadRecords(rows), BucketCors(rows))
    from .audit import PgAuditLog
    from .locks import PgBucketLocks
    from .routes import PgRouteTable
    from .tokens import PgRows

    return State(TokenStore(rows=PgRows(db)), PgRouteTable(db, config.settings.buckets),
                 PgBucketLocks(db), PgAuditLog(db), PgRows(db), UploadRecords(PgRows(db)),
                 BucketCors(PgRows(db)), db)


def current_routes(loaded: LoadedConfig) -> dict[str, Route]:
    """The routes as the gateway serves them (configuration, then runtime switches)."""
    db = open_database(loaded)
    if db is None:
        return RouteTable(loaded.state_dir, loaded.settings.buckets).all()
    from .routes import PgRouteTable

    try:
        return PgRouteTable(db, loaded.settings.buckets).all()
    finally:
        db.close()


@contextmanager
def history_of(loaded: LoadedConfig) -> Iterator[Any]:
    """Where drills are recorded, for a command: the state folder, or the shared database
    (opened for the command's duration)."""
    db = open_database(loaded)
    if db is None:
        yield loaded.state_dir
        return
    from .tokens import PgRows

    try:
        yield PgRows(db)
    finally:
        db.close()


class _NoAudit:
    """For commands that only read the state."""

    def write(self, entry: dict[str, Any]) -> None:
        raise RuntimeError("this state was opened without its audit log")

    def close(self) -> None:
        pass
