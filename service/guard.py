"""What every /v1 request passes before any route reads its body:

- its path: percent-escapes must decode to UTF-8 and hold no control character, else 400
  `invalid-name` (the HTTP server would otherwise turn `caf%e9` into `caf\\ufffd`, making two
  keys one, and `a%0ab` into a path no route matches);
- its bearer token: a missing, invalid or revoked token is refused with 401 before a byte of the
  body is read (scopes are checked by the routes, which find the verified token here);
- its size, for everything but object uploads: a JSON body is capped (413), so an anonymous
  100 MB body costs nothing;
- its share: requests in flight at once are bounded per token and per client address (429 with
  Retry-After beyond), so one tenant's slow uploads cannot hold every worker thread while the
  others wait.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.errors import TransientError

from .config import Limits
from .problems import RETRY_AFTER_SECONDS, problem
from .tokens import TokenStore

#: JSON bodies (drill requests, route switches) are a few hundred bytes; this leaves room.
MAX_JSON_BODY = 256 * 1024
PROTECTED = "/v1/"
_OBJECT_PATH = re.compile(r"^/v1/buckets/[^/]+/objects/")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CHALLENGE = 'Bearer realm="sortie"'


class RequestGuard:
    def __init__(self, app: ASGIApp, tokens: TokenStore, limits: Limits) -> None:
        self.app = app
        self.tokens = tokens
        self.limits = limits
        # Counted on the event loop only (one thread): no lock needed.
        self._per_token: dict[str, int] = {}
        self._per_client: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        refusal = self._path_refusal(scope) or await self._token_refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        token = scope["state"]["token"].id
        client = (scope.get("client") or ("-",))[0]
        busy = self._busy(token, client)
        if busy is not None:
            await busy(scope, receive, send)
            return
        self._per_token[token] = self._per_token.get(token, 0) + 1
        self._per_client[client] = self._per_client.get(client, 0) + 1
        try:
            if _OBJECT_PATH.match(scope["path"]):
                await self.app(scope, receive, send)  # object bodies stream, of any size
            else:
                await self._capped(scope, receive, send)
        finally:
            _release(self._per_token, token)
            _release(self._per_client, client)

    def _busy(self, token: str, client: str) -> Any:
        for count, limit, who, setting in (
                (self._per_token.get(token, 0), self.limits.max_in_flight_per_token,
                 f"token {token}", "max_in_flight_per_token"),
                (self._per_client.get(client, 0), self.limits.max_in_flight_per_client,
                 f"client {client}", "max_in_flight_per_client")):
            if count >= limit:
                return problem(429, f"{who} already has {count} requests in flight "
                                    f"(limits.{setting}); retry when one has finished",
                               slug="too-many-requests", headers={"Retry-After": "1"})
        return None

    def _path_refusal(self, scope: Scope) -> Any:
        raw = scope.get("raw_path") or scope["path"].encode("utf-8")
        try:
            path = unquote_to_bytes(raw.split(b"?", 1)[0]).decode("utf-8")
        except UnicodeDecodeError:
            return problem(400, "the path is not valid UTF-8 once percent-decoded: bucket names "
                                "and object keys are UTF-8 text", slug="invalid-name")
        if _CONTROL.search(path):
            return problem(400, "the path holds a control character (NUL, newline, tab, DEL...), "
                                "which no bucket name or object key may contain",
                           slug="invalid-name")
        return None

    async def _token_refusal(self, scope: Scope) -> Any:
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return problem(401, "a bearer token is required (Authorization: Bearer ...)",
                           slug="unauthorized", headers={"WWW-Authenticate": CHALLENGE})
        try:
            # In a worker thread: with the state in PostgreSQL this is a network round trip,
            # and a database that does not answer must not stall the event loop.
            return await anyio.to_thread.run_sync(self._check_token, scope, credentials.strip())
        except TransientError as exc:  # the state database is down: say so, never a 500
            return problem(503, exc.message, slug="state-unavailable",
                           headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    def _check_token(self, scope: Scope, token: str) -> Any:
        info = self.tokens.verify(token)
        if info is None:
            expired = self.tokens.expired_on(token)
            if expired:
                return problem(401, f"the bearer token expired at {expired}; create a new one "
                                    "(sortie token create)", slug="token-expired",
                               headers={"WWW-Authenticate":
                                        f'{CHALLENGE}, error="invalid_token"'})
            return problem(401, "the bearer token is invalid or revoked", slug="unauthorized",
                           headers={"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'})
        scope.setdefault("state", {})["token"] = info
        return None

    async def _capped(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_large = problem(413, f"request bodies are limited to {MAX_JSON_BODY} bytes here",
                            slug="body-too-large")
        if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BODY:
            await too_large(scope, receive, send)
            return
        received = 0
        over = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_JSON_BODY:
                    # Stop reading: the route sees a client gone, and its answer is replaced.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not over:
                await send(message)

        await self.app(scope, counting_receive, guarded_send)
        if over:
            await too_large(scope, receive, send)


def _release(counts: dict[str, int], who: str) -> None:
    left = counts.get(who, 1) - 1
    if left:
        counts[who] = left
    else:
        counts.pop(who, None)
