"""Bearer-token authorisation as FastAPI dependencies: 401 without a valid token, 403 outside
its scopes or bucket patterns. The token itself is never logged: only its id reaches the audit."""

from __future__ import annotations

from typing import Annotated, Any, Awaitable, Callable

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .access import access_of
from .problems import GatewayProblem
from .tokens import Scope, TokenInfo, TokenStore

bearer = HTTPBearer(auto_error=False, description="A token from `sortie token create`.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="sortie"'}


def authorize(scope: Scope, action: str) -> Callable[..., Awaitable[TokenInfo]]:
    """A dependency: the caller's token, checked for `scope` on the path's `bucket` (if any)."""

    async def dependency(request: Request,
                         credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                Security(bearer)]) -> TokenInfo:
        access = access_of(request)
        access.action = action
        bucket = request.path_params.get("bucket")
        access.bucket = bucket
        access.key = request.path_params.get("key")
        # Verified by the request guard (service/guard.py) before the body was read.
        info: TokenInfo | None = request.scope.get("state", {}).get("token")
        if info is None and credentials is not None:  # an app mounted without the guard
            tokens: TokenStore = request.app.state.tokens
            info = tokens.verify(credentials.credentials)
        if credentials is None:
            raise GatewayProblem(401, "a bearer token is required (Authorization: Bearer ...)",
                                 slug="unauthorized", headers=_CHALLENGE)
        if info is None:
            raise GatewayProblem(401, "the bearer token is invalid or revoked",
                                 slug="unauthorized",
                                 headers={**_CHALLENGE, "WWW-Authenticate":
                                          'Bearer realm="sortie", error="invalid_token"'})
        access.token_id = info.id
        if not info.allows(scope, bucket):
            where = f" on bucket {bucket!r}" if bucket else ""
            raise GatewayProblem(403, f"token {info.id} has no {scope!r} scope{where}",
                                 slug="forbidden")
        return info

    return dependency


def require(scope: Scope, action: str) -> Any:
    """`Depends(authorize(...))`, for a route's `dependencies=[...]`."""
    return Depends(authorize(scope, action))
