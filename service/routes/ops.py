"""Operations routes, without authentication: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from adapters.errors import StorageError

from ..models import Readiness
from . import gateway_of

router = APIRouter(tags=["operations"])
#: Longest wait for one backend's answer in /readyz.
READY_TIMEOUT = 3.0


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Every backend answers a cheap call",
            responses={503: {"model": Readiness, "description": "A backend is unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    gateway = gateway_of(request)
    results: dict[str, str] = {}

    async def probe(name: str) -> None:
        try:
            with anyio.fail_after(READY_TIMEOUT):
                # abandon_on_cancel: a stuck backend must not hold the probe past its timeout.
                await anyio.to_thread.run_sync(gateway.check_backend, name, abandon_on_cancel=True)
            results[name] = "ok"
        except TimeoutError:
            results[name] = f"no answer within {READY_TIMEOUT:g} s"
        except StorageError as exc:
            results[name] = f"{type(exc).__name__}: {exc.message}"

    async with anyio.create_task_group() as group:
        for name in gateway.stores:
            group.start_soon(probe, name)
    ready = all(status == "ok" for status in results.values())
    body = Readiness(status="ready" if ready else "unavailable", backends=dict(sorted(results.items())))
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
