"""Which methods a path accepts: the answer to OPTIONS, and the `Allow` header of a 405.

Starlette's own 405 names only the methods of the first route whose path matches (`PUT` for
`/v1/buckets/b`, where DELETE is served too); this asks every route, method by method.
"""

from __future__ import annotations

from fastapi import FastAPI, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

#: Verbs in the order an `Allow` header lists them (OPTIONS is answered here, for every path).
_VERBS = ("GET", "HEAD", "PUT", "POST", "DELETE")


def allowed(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at `path`, OPTIONS last once any is."""
    def served(method: str) -> bool:
        scope = {"type": "http", "path": path, "method": method, "root_path": ""}
        return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)

    methods = [method for method in _VERBS if served(method)]
    return methods + ["OPTIONS"] if methods else []


def allow_header(app: FastAPI, path: str) -> str:
    return ", ".join(allowed(app, path))


class OptionsMiddleware:
    """Answers OPTIONS for every path some route serves: 204 with `Allow`. Unknown paths fall
    through to the router (a 404 problem). Not a catch-all route: such a route would turn every
    unknown path's 404 into a 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            methods = allowed(scope["app"], scope["path"])
            if methods:
                await Response(status_code=204, headers={"Allow": ", ".join(methods)})(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)
