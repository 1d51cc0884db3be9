"""When a backend hands back damaged bytes: the read is refused (adapters/layers/verify.py), and
here the gateway makes it seen: a metric, an audit event and a log line naming the key."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import AsyncIterator

from starlette.requests import Request

from adapters.errors import CorruptObject

from .access import access_of

log = logging.getLogger("sortie.gateway")


def report_corrupt(request: Request, exc: CorruptObject) -> None:
    access = access_of(request)
    backend = access.backend or exc.backend or "-"
    request.app.state.metrics.corrupt_reads.labels(backend).inc()
    access.detail["integrity"] = "sha256-mismatch"
    request.app.state.audit.write({
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "token": access.token_id, "action": "integrity_failure", "method": request.method,
        "bucket": access.bucket, "key": access.key, "backend": backend,
        "detail": exc.message})
    log.error("refused to serve damaged bytes: bucket %r key %r on backend %s: %s",
              access.bucket, access.key, backend, exc.message)


async def reported(request: Request, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """A streamed body that reports a damaged object before the connection is aborted."""
    try:
        async for chunk in chunks:
            yield chunk
    except CorruptObject as exc:
        report_corrupt(request, exc)
        raise
