"""Bucket locks across replicas: PostgreSQL advisory locks, held by a transaction for as long as
the operation runs. A write holds its bucket's lock shared; a bucket delete and the exit switch
hold it alone, so a write that resolved the old route lands before the switch checks for writes
since its drill, through any replica. Conditional writes hold their object's lock alone. Each
held lock keeps one pooled connection busy (size the pool, `state.pool_size`, above the writes
in flight); a database that cannot be reached fails the operation with 503 before any byte
moves."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from .postgres import LOCK_BUCKET, LOCK_OBJECT, Database


class PgBucketLocks:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _held(self, function: str, space: int, name: str) -> Iterator[None]:
        with self.db.transaction() as conn:
            conn.execute(f"SELECT {function}(%s, hashtext(%s))", (space, name))  # type: ignore[arg-type]
            yield

    def writing(self, bucket: str) -> Iterator[None]:
        return self._held("pg_advisory_xact_lock_shared", LOCK_BUCKET, bucket)  # type: ignore[return-value]

    def exclusive(self, bucket: str) -> Iterator[None]:
        return self._held("pg_advisory_xact_lock", LOCK_BUCKET, bucket)  # type: ignore[return-value]

    def key(self, bucket: str, key: str) -> Iterator[None]:
        return self._held("pg_advisory_xact_lock", LOCK_OBJECT, f"{bucket}/{key}")  # type: ignore[return-value]
