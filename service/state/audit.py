"""The audit chain in PostgreSQL: one chain for every replica. A line is chained and inserted
under a transaction-scoped advisory lock, so replicas take turns and `seq` has no gap; the table
holds each line's exact bytes and SHA-256. `sortie audit verify` reads it back in order. Unlike
the file's head, nothing outside the table records its last line, so lines removed at the end
show only against a later head (each drill attestation carries the head at its end)."""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..audit import GENESIS, Head, Verification, chained_line, line_hash, verify_lines
from .postgres import LOCK_AUDIT, Database


class PgAuditLog:
    #: There is no file: `sortie audit rotate` does not apply.
    path = None

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, entry: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_AUDIT,))
            row = conn.execute("SELECT seq, sha256 FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            head = Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)
            line = chained_line(head, entry)
            conn.execute("INSERT INTO audit (seq, line, sha256) VALUES (%s, %s, %s)",
                         (head.seq + 1, line.decode("utf-8"), line_hash(line)))

    def head(self) -> Head | None:
        rows = self.db.query("SELECT seq, sha256 FROM audit ORDER BY seq DESC LIMIT 1")
        return Head(int(rows[0][0]), str(rows[0][1])) if rows else None

    def head_dict(self) -> dict[str, Any] | None:
        head = self.head()
        return None if head is None else {"log": "postgresql audit table", "seq": head.seq,
                                          "sha256": head.sha256}

    def lines(self, batch: int = 10_000) -> Iterator[tuple[str, bytes]]:
        after = 0
        while True:
            rows = self.db.query("SELECT seq, line FROM audit WHERE seq > %s ORDER BY seq "
                                 "LIMIT %s", (after, batch))
            for seq, line in rows:
                yield f"audit table row seq {seq}", line.encode("utf-8")
            if len(rows) < batch:
                return
            after = int(rows[-1][0])

    def recent(self, count: int) -> list[tuple[str, bytes]]:
        rows = self.db.query("SELECT seq, line FROM audit ORDER BY seq DESC LIMIT %s", (count,))
        return [(f"seq {seq}", line.encode("utf-8")) for seq, line in rows]

    def verify(self) -> Verification:
        result = Verification(files=["postgresql audit table"])
        return verify_lines(self.lines(), result)

    def import_lines(self, lines: list[bytes]) -> int:
        """Copy a file chain's lines as they are (same bytes, same seq) into an empty table."""
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_AUDIT,))
            if conn.execute("SELECT 1 FROM audit LIMIT 1").fetchone():
                raise ValueError("the audit table is not empty: the chain can be imported only "
                                 "into a new state")
            for line in lines:
                seq = int(json.loads(line)["seq"])
                conn.execute("INSERT INTO audit (seq, line, sha256) VALUES (%s, %s, %s)",
                             (seq, line.decode("utf-8"), line_hash(line)))
        return len(lines)

    def rotate(self) -> None:
        raise ValueError("the audit log is in PostgreSQL: there is no file to rotate (archive "
                         "old rows with the database's own tools; the chain stays whole)")

    def close(self) -> None:
        """The database is the state's to close."""
