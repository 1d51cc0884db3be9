"""Console sessions: a token given once at the login form opens a session, kept in this process
(never the token itself: its id), carried by an HttpOnly, SameSite=Strict cookie; each session
has its own CSRF secret that every form posts back. The token is checked again on every page, so
a revoked or expired token ends its sessions at once."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from ..tokens import TokenInfo, TokenStore

COOKIE = "sortie_console"
#: A session ends this long after it opened, whatever happens.
LIFETIME_S = 8 * 3600


@dataclass(frozen=True)
class Session:
    token_id: str
    csrf: str
    opened: float


class Sessions:
    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens
        self._open: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, token: str) -> tuple[str, TokenInfo] | None:
        """(session id, token) for a valid token, else None."""
        info = self._tokens.verify(token)
        if info is None:
            return None
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._open[sid] = Session(info.id, secrets.token_urlsafe(32), time.monotonic())
        return sid, info

    def find(self, sid: str | None) -> tuple[Session, TokenInfo] | None:
        if not sid:
            return None
        with self._lock:
            session = self._open.get(sid)
            if session is not None and time.monotonic() - session.opened > LIFETIME_S:
                del self._open[sid]
                session = None
        if session is None:
            return None
        info = next((t for t in self._tokens.list() if t.id == session.token_id), None)
        if info is None or info.revoked or info.expired():
            self.close(sid)
            return None
        return session, info

    def close(self, sid: str | None) -> None:
        with self._lock:
            self._open.pop(sid or "", None)

    @staticmethod
    def csrf_holds(session: Session, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(session.csrf, given)
