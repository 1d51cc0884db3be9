"""Tokens in PostgreSQL: the token store's SQL (written with `?`) run on the shared database.
Every request reads its token's row, so a revocation through any replica or the CLI refuses the
token on every replica from the next request on (no cache: the bound is zero)."""

from __future__ import annotations

from typing import Any, Sequence

from .postgres import Database


class PgRows:
    def __init__(self, db: Database) -> None:
        self.db = db

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.query(sql.replace("?", "%s"), params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.db.execute(sql.replace("?", "%s"), params)

    def close(self) -> None:
        """The database is the state's to close."""
