"""Thin HTTP routes over the service layer (service/gateway.py)."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, TypeVar

import anyio.to_thread
from fastapi import Request

from ..access import access_of
from ..gateway import Gateway, Resolved

T = TypeVar("T")

#: Documented error answers, shared by the routes (bodies are application/problem+json).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, text in ((400, "Bad request"), (401, "No or invalid bearer token"),
                         (403, "Outside the token's scopes"), (404, "No such bucket or object"),
                         (503, "Backend unavailable (Retry-After)"))
}


def problem_response(description: str) -> dict[str, Any]:
    """One more documented problem answer, e.g. `responses={409: problem_response("...")}`."""
    return {"description": description, "content": PROBLEM_RESPONSES[400]["content"]}


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def resolve(request: Request, bucket: str) -> Resolved:
    """Route a logical bucket and record its backend for metrics and audit."""
    target = gateway_of(request).resolve(bucket)
    access_of(request).backend = target.route.backend
    return target


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A blocking adapter call in a worker thread (adapters bound their own timeouts)."""
    return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))
