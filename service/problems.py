"""Every error the gateway answers is an RFC 9457 problem: application/problem+json with type,
title, status and detail. Storage errors map through `StorageError.http_status`; FastAPI's
validation errors and Starlette's 404/405 are rewritten to the same shape."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from adapters.errors import CorruptObject, StorageError, TransientError

from . import methods
from .bodies import BodyStalled
from .integrity import report_corrupt

MEDIA_TYPE = "application/problem+json"
#: Seconds a client should wait before retrying after a backend outage.
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("sortie.gateway")


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


class GatewayProblem(Exception):
    """An HTTP-level refusal raised by the gateway itself (auth, bad headers)."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _slug(HTTPStatus(status).phrase)
        self.headers = headers or {}


def problem(status: int, detail: str, *, slug: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> ProblemResponse:
    title = HTTPStatus(status).phrase
    body = {"type": f"urn:sortie:problem:{slug or _slug(title)}", "title": title,
            "status": status, "detail": detail, **extra}
    return ProblemResponse(body, status_code=status, headers=headers)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"(?<=[a-z])(?=[A-Z])", "-", text).lower()).strip("-")


def storage_problem(exc: StorageError) -> ProblemResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(exc, TransientError) else None
    # The message names bucket and key as the backend knows them: physical names are the
    # gateway's business, so only the message itself goes out.
    return problem(exc.http_status, exc.message, slug=_slug(type(exc).__name__), headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> ProblemResponse:
        if isinstance(exc, CorruptObject):  # a small body, checked before anything was sent
            report_corrupt(request, exc)
        elif exc.http_status >= 500:
            log.warning("backend error on %s %s: %s", request.method, request.url.path, exc)
        return storage_problem(exc)

    @app.exception_handler(GatewayProblem)
    async def _gateway(request: Request, exc: GatewayProblem) -> ProblemResponse:
        return problem(exc.status, exc.detail, slug=exc.slug, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                  for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors) or "invalid request"
        return problem(422, detail, slug="validation-error", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route for {request.method} {request.url.path}"
        if exc.status_code == 405:
            headers["Allow"] = methods.allow_header(request.app, request.url.path)
        return problem(exc.status_code, detail, headers=headers)

    @app.exception_handler(BodyStalled)
    async def _stalled(request: Request, exc: BodyStalled) -> ProblemResponse:
        return problem(408, str(exc), slug="body-timeout", headers={"Connection": "close"})

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> ProblemResponse:
        # Nobody is listening any more; the status only reaches the audit log and metrics.
        return problem(400, "the client closed the connection mid-request",
                       slug="client-disconnected")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal error; see the gateway log", slug="internal-error")
