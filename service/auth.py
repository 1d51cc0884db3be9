"""Bearer-token authorisation as FastAPI dependencies: 403 outside the token's scopes or bucket
patterns. The token itself was verified (401 without a valid one) by the request guard
(service/guard.py), before any body was read. Only its id reaches the audit, never the token."""

from __future__ import annotations

from typing import Annotated, Any, Awaitable, Callable

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .access import access_of
from .problems import GatewayProblem
from .tokens import Scope, TokenInfo

bearer = HTTPBearer(auto_error=False, description="A token from `sortie token create`.")


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
        # The request guard (service/guard.py) verified the token before any body was read and
        # refused the request without one; `credentials` only documents the scheme in OpenAPI.
        info: TokenInfo | None = request.scope.get("state", {}).get("token")
        if info is None:
            raise GatewayProblem(500, "no verified token: the request guard is not installed",
                                 slug="internal-error")
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
