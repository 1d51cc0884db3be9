"""Logging in to Swift and handing each thread its own connection.

Two ways in, both through python-swiftclient:
- v1 (tempauth, swauth, some private clouds): `auth_url` ending in `/auth/v1.0`,
  user `account:user`, key = password. swiftclient does the GET and keeps the token.
- Keystone v3 (OVHcloud and most public OpenStack clouds): a keystoneauth1 session built from
  either user + password + project (+ domains) or an application credential. The session caches
  and renews the token for every thread at once, and picks the object-store endpoint of the region.

A swiftclient `Connection` holds one HTTP connection and is not thread-safe, so the pool gives each
thread its own, all sharing the same credentials (and, for Keystone, the same token).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from swiftclient.client import Connection


@dataclass(frozen=True)
class SwiftAuth:
    auth_url: str
    auth_version: str = "3"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    project: str | None = None
    project_id: str | None = None
    user_domain: str = "Default"
    project_domain: str = "Default"
    region: str | None = None
    #: Keystone endpoint interface: public, internal or admin.
    interface: str = "public"
    application_credential_id: str | None = None
    application_credential_secret: str | None = field(default=None, repr=False)
    #: Skip the catalog and use this storage URL (e.g. https://.../v1/AUTH_<project>).
    storage_url: str | None = None

    @property
    def is_v1(self) -> bool:
        return self.auth_version in ("1", "1.0")


@dataclass(frozen=True)
class Limits:
    """Bounded waits: a dead proxy costs at most about retries x timeout, never hours."""

    #: Seconds for connecting and for each read (requests' timeout).
    timeout: float = 60.0
    #: swiftclient's own retries of idempotent calls (5xx, connection errors); 0 by default, as
    #: the registry's retry layer retries every store call. Streams are never replayed.
    retries: int = 0
    starting_backoff: float = 0.5
    max_backoff: float = 4.0


def keystone_session(auth: SwiftAuth, limits: Limits) -> Any:
    """A keystoneauth1 session for Keystone v3 (imported here: v1 needs none of it)."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    plugin: Any
    if auth.application_credential_id or auth.application_credential_secret:
        plugin = v3.ApplicationCredential(
            auth_url=auth.auth_url,
            application_credential_id=auth.application_credential_id,
            application_credential_secret=auth.application_credential_secret or "")
    else:
        plugin = v3.Password(
            auth_url=auth.auth_url, username=auth.username, password=auth.password or "",
            user_domain_name=auth.user_domain, project_name=auth.project,
            project_id=auth.project_id, project_domain_name=auth.project_domain)
    return ks_session.Session(auth=plugin, timeout=limits.timeout)


def connection_kwargs(auth: SwiftAuth, limits: Limits, session: Any | None) -> dict[str, Any]:
    """Keyword arguments of swiftclient's Connection for these settings."""
    kwargs: dict[str, Any] = {
        "retries": limits.retries, "starting_backoff": limits.starting_backoff,
        "max_backoff": limits.max_backoff, "timeout": limits.timeout,
        # A 498/429 from the rate limiter is retried by us (TransientError), not slept on here.
        "retry_on_ratelimit": False,
    }
    os_options: dict[str, Any] = {"endpoint_type": auth.interface}
    if auth.region:
        os_options["region_name"] = auth.region
    if auth.storage_url:
        os_options["object_storage_url"] = auth.storage_url
    if auth.is_v1:
        kwargs.update(authurl=auth.auth_url, user=auth.username, key=auth.password,
                      auth_version="1.0")
        if auth.storage_url:
            kwargs["preauthurl"] = auth.storage_url
    else:
        kwargs.update(session=session, auth_version="3")
        if auth.storage_url:
            kwargs["preauthurl"] = auth.storage_url
    kwargs["os_options"] = os_options
    return kwargs


class ConnectionPool:
    """One swiftclient Connection per thread, taken from the idle ones or created on first use;
    `discard()` drops the calling thread's connection after a failure that may have left it
    half-used.

    A body being streamed holds its connection alone (`lend`, then `give_back`): swiftclient
    reads a body through its connection's *latest* response, so a connection that served
    another request meanwhile would hand the body that request's bytes. The gateway opens a
    body in one thread and streams it from another while the first serves the next request."""

    def __init__(self, auth: SwiftAuth, limits: Limits) -> None:
        self.auth = auth
        self.limits = limits
        self._session = None if auth.is_v1 else keystone_session(auth, limits)
        self._kwargs = connection_kwargs(auth, limits, self._session)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Connection] = []
        self._idle: list[Connection] = []

    def get(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = Connection(**self._kwargs)
                with self._lock:
                    self._all.append(conn)
            self._local.conn = conn
        return conn

    def lend(self) -> Connection:
        """The calling thread's connection, now held by a body until `give_back`: the thread
        takes another one for its next call."""
        conn = self.get()
        self._local.conn = None
        return conn

    def give_back(self, conn: Connection, reusable: bool) -> None:
        """A lent connection, done with: idle for the next caller, or closed if its body was
        left unread (its socket still holds the rest)."""
        with self._lock:
            if reusable and conn in self._all:
                self._idle.append(conn)
                return
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    def discard(self) -> None:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)
            conn.close()

    def close(self) -> None:
        with self._lock:
            conns, self._all, self._idle = self._all, [], []
        for conn in conns:
            conn.close()
