"""Per-request bookkeeping: metrics for every request, an audit line for every /v1 request.

A pure ASGI middleware, so it sees the bytes really received and sent (a streamed GET that the
client abandons counts only what went out) and runs its bookkeeping after the response completes.
Routes fill in what they know (action, bucket, key, backend, token id) on `request.state.access`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.errors import TransientError

from .audit import AuditLog
from .metrics import Metrics

log = logging.getLogger("sortie.gateway")

AUDITED_PREFIX = "/v1/"


@dataclass
class Access:
    action: str | None = None
    bucket: str | None = None
    key: str | None = None
    backend: str | None = None
    token_id: str | None = None
    #: Extra facts for the audit line (e.g. a route switch's drill id).
    detail: dict[str, Any] = field(default_factory=dict)


def access_of(request: Request) -> Access:
    access = request.scope.get("state", {}).get("access")
    if access is None:  # outside the middleware (never in the app, but keep routes total)
        access = Access()
        request.scope.setdefault("state", {})["access"] = access
    return access


class AccessMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, audit: AuditLog,
                 audited_prefix: str = AUDITED_PREFIX) -> None:
        self.app = app
        self.metrics = metrics
        self.audit = audit
        #: Paths whose requests are audited (the REST API's /v1/; every path of the S3 front).
        self.audited_prefix = audited_prefix

    def _write(self, entry: dict[str, Any]) -> None:
        """One audit line, in a worker thread (a file write, or a PostgreSQL round trip). When
        the state database is down the line cannot join the chain: it goes to the gateway's log
        whole, at ERROR, rather than being lost silently (requests are refused with 503 until
        the database returns, so only requests in flight meet this)."""
        try:
            self.audit.write(entry)
        except TransientError as exc:
            log.error("audit line not chained (%s): %s", exc.message,
                      json.dumps(entry, ensure_ascii=False))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        access = Access()
        scope.setdefault("state", {})["access"] = access
        started_at = datetime.now(timezone.utc)
        started = time.perf_counter()
        counts = {"in": 0, "out": 0, "status": 500}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counts["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counts["status"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body":
                counts["out"] += len(message.get("body", b""))

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            seconds = time.perf_counter() - started
            operation = access.action or "other"
            self.metrics.observe(access.backend or "-", operation, counts["status"], seconds,
                                 counts["in"], counts["out"])
            if scope["path"].startswith(self.audited_prefix):
                # `bytes`: object data moved (what a reader of health data got); raw totals beside.
                data_bytes = 0
                if operation == "put_object":
                    data_bytes = counts["in"]
                elif operation == "get_object" and counts["status"] in (200, 206):
                    data_bytes = counts["out"]
                client = scope.get("client")
                entry = {
                    "time": started_at.isoformat(timespec="milliseconds"),
                    "token": access.token_id, "action": operation, "method": scope["method"],
                    "bucket": access.bucket, "key": access.key, "backend": access.backend,
                    "status": counts["status"], "bytes": data_bytes,
                    "bytes_in": counts["in"], "bytes_out": counts["out"],
                    "duration_ms": round(seconds * 1000, 3),
                    "client": client[0] if client else None, **access.detail}
                # Shielded: a client that went away cancels the request, not its audit line.
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self._write, entry)

