"""Buckets' CORS configurations, in the gateway's state (the SQLite file of one host, or the
shared PostgreSQL database), so that every replica answers a browser the same. Stored as the
document the client sent, checked (service/s3api/cors.py); a bucket deleted loses its
configuration with it."""

from __future__ import annotations

from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS bucket_cors (
    bucket TEXT PRIMARY KEY,
    document TEXT NOT NULL
);
"""


class BucketCors:
    def __init__(self, rows: Any) -> None:
        self._rows = rows  # service/tokens.Rows: SQLite or PostgreSQL

    def get(self, bucket: str) -> str | None:
        rows = self._rows.query("SELECT document FROM bucket_cors WHERE bucket = ?", (bucket,))
        return str(rows[0][0]) if rows else None

    def put(self, bucket: str, document: str) -> None:
        # The same upsert on SQLite (3.24+) and PostgreSQL.
        self._rows.execute("INSERT INTO bucket_cors (bucket, document) VALUES (?, ?) "
                           "ON CONFLICT (bucket) DO UPDATE SET document = excluded.document",
                           (bucket, document))

    def delete(self, bucket: str) -> None:
        self._rows.execute("DELETE FROM bucket_cors WHERE bucket = ?", (bucket,))
