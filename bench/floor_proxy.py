"""The least a Python gateway does to serve a GET: the same adapter reads the backend (with the
same SHA-256 check of every byte served as the gateway's serving stack, FLOOR_VERIFY=1), uvicorn
sends; no authentication, audit, metrics or routing. bench_s3front runs it beside the S3 front
and gives its CPU per GET: the floor the front's own CPU compares with, in the same run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from adapters.config import S3Backend
from adapters.layers.verify import VerifyingStore
from adapters.registry import build_store

_store: Any = build_store("floor", S3Backend(
    type="s3", preset="seaweedfs", endpoint=os.environ["FLOOR_ENDPOINT"], region="us-east-1",
    access_key=os.environ["FLOOR_ACCESS"], secret_key=os.environ["FLOOR_SECRET"]), Path("."))
if os.environ.get("FLOOR_VERIFY") == "1":
    _store = VerifyingStore(_store)


async def _get(request: Request) -> StreamingResponse:
    reader = _store.get(request.path_params["bucket"], request.path_params["key"])
    return StreamingResponse(iterate_in_threadpool(iter(reader)),
                             headers={"content-length": str(reader.length)})


app = Starlette(routes=[Route("/{bucket}/{key}", _get)])
