"""The least a Python gateway does to serve a GET or take a PUT: uvicorn receives or sends, the
same adapter writes or reads the backend; no authentication, audit, metrics or routing. With
FLOOR_VERIFY=1 it also does the integrity work Sortie cannot skip: a GET checks the SHA-256 of
every byte served (the gateway's serving stack), a PUT hashes the body with SHA-256 (recorded
with the object) and MD5 (its S3 ETag). bench_s3front runs it beside the S3 front and gives its
CPU per request: the floor the front's own CPU compares with, in the same run."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from adapters.config import S3Backend
from adapters.layers.verify import VerifyingStore
from adapters.registry import build_store

_store: Any = build_store("floor", S3Backend(
    type="s3", preset="seaweedfs", endpoint=os.environ["FLOOR_ENDPOINT"], region="us-east-1",
    access_key=os.environ["FLOOR_ACCESS"], secret_key=os.environ["FLOOR_SECRET"]), Path("."))
_verify = os.environ.get("FLOOR_VERIFY") == "1"
if _verify:
    _store = VerifyingStore(_store)


async def _get(request: Request) -> StreamingResponse:
    reader = _store.get(request.path_params["bucket"], request.path_params["key"])
    return StreamingResponse(iterate_in_threadpool(iter(reader)),
                             headers={"content-length": str(reader.length)})


async def _put(request: Request) -> Response:
    # The body whole in memory: one copy, less than streaming it through a thread would cost.
    body = await request.body()

    def store() -> None:
        if _verify:
            hashlib.sha256(body).hexdigest()
            hashlib.md5(body, usedforsecurity=False).hexdigest()
        _store.put(request.path_params["bucket"], request.path_params["key"], body)

    await run_in_threadpool(store)
    return Response(status_code=200)


app = Starlette(routes=[Route("/{bucket}/{key}", _get, methods=["GET"]),
                        Route("/{bucket}/{key}", _put, methods=["PUT"])])
