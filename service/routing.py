"""The routing table: which backend, and which bucket there, holds each logical bucket.

The configuration's `buckets:` are the base; routes created or switched at run time are kept in
STATE_DIR/routes.json (written atomically: temp file, fsync, rename) and take precedence, so they
survive a restart; processes of one host see each other's changes (service/state/ for several
hosts). A runtime entry `null` hides a config route (its bucket was deleted).

A bucket delete is journalled there too (`deleting`): marked before the backend is asked, cleared
with the route. A gateway killed in between finds the mark on restart and finishes or rolls back
the delete (`Gateway.recover_deletes`), instead of listing a route whose bucket is gone.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from .config import BucketRoute

_FILE = "routes.json"


@dataclass(frozen=True)
class Route:
    backend: str
    #: The bucket's name on that backend.
    physical: str


class RouteTable:
    """The routes file. Every read looks at the file's identity first (a stat) and reloads it
    when another process (the CLI, a second gateway on this host) replaced it; every change is a
    read-modify-write under an exclusive lock on `routes.json.lock`, so no process overwrites
    another's change with a stale copy."""

    def __init__(self, state_dir: Path, base: Mapping[str, BucketRoute]) -> None:
        self._path = state_dir / _FILE
        self._base = {logical: Route(r.backend, r.name or logical) for logical, r in base.items()}
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._runtime: dict[str, Route | None] = {}
        self._deleting: dict[str, Route] = {}
        with self._lock:
            self._refresh()

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _refresh(self, force: bool = False) -> None:
        """Reload the file if it changed since this process last read or wrote it."""
        identity = self._identity()
        if identity == self._seen and not force:
            return
        raw = self._load()
        self._runtime = {logical: _route(entry)
                         for logical, entry in raw.get("routes", {}).items()}
        self._deleting = {logical: route for logical, entry in raw.get("deleting", {}).items()
                          if (route := _route(entry)) is not None}
        self._seen = identity

    def _load(self) -> dict[str, dict[str, dict[str, str] | None]]:
        try:
            return json.loads(self._path.read_text("utf-8"))  # type: ignore[no-any-return]
        except FileNotFoundError:
            return {}

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Change the routes: the latest file, changed in memory, written back atomically; on
        any failure the file is as it was and so is this process's copy."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self._path.with_name(_FILE + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._refresh(force=True)
            try:
                yield
                self._save()
            except BaseException:
                self._refresh(force=True)
                raise
            self._seen = self._identity()

    def _save(self) -> None:
        data = {"routes": {logical: _entry(r) for logical, r in sorted(self._runtime.items())},
                "deleting": {logical: _entry(r) for logical, r in sorted(self._deleting.items())}}
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".routes-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def all(self) -> dict[str, Route]:
        with self._lock:
            self._refresh()
            merged: dict[str, Route | None] = {**self._base, **self._runtime}
        return {logical: route for logical, route in sorted(merged.items()) if route is not None}

    def get(self, logical: str) -> Route | None:
        with self._lock:
            self._refresh()
            if logical in self._runtime:
                return self._runtime[logical]
            return self._base.get(logical)

    def is_configured(self, logical: str) -> bool:
        return logical in self._base

    def owner_of(self, backend: str, physical: str) -> str | None:
        """The logical bucket routed to this physical bucket, if any."""
        for logical, route in self.all().items():
            if route == Route(backend, physical):
                return logical
        return None

    def set(self, logical: str, route: Route) -> None:
        with self._changing():
            self._runtime[logical] = route

    def remove(self, logical: str) -> None:
        """Forget the route (and its delete mark, in the same atomic write)."""
        with self._changing():
            self._deleting.pop(logical, None)
            if logical in self._base:
                self._runtime[logical] = None
            else:
                self._runtime.pop(logical, None)

    # ---- the delete journal ---------------------------------------------------------------------
    def mark_deleting(self, logical: str, route: Route) -> None:
        with self._changing():
            self._deleting[logical] = route

    def clear_deleting(self, logical: str) -> None:
        with self._changing():
            self._deleting.pop(logical, None)

    def pending_deletes(self) -> dict[str, Route]:
        with self._lock:
            self._refresh()
            return dict(self._deleting)

    # ---- moving an installation (`sortie state export` / `import`) ----------------------------
    def runtime_entries(self) -> dict[str, Route | None]:
        """The routes set at run time (None: a configured route hidden by a bucket delete)."""
        with self._lock:
            self._refresh()
            return dict(self._runtime)

    def import_entry(self, logical: str, route: Route | None) -> None:
        with self._changing():
            self._runtime[logical] = route


def _route(entry: Mapping[str, str] | None) -> Route | None:
    return Route(entry["backend"], entry["physical"]) if entry else None


def _entry(route: Route | None) -> dict[str, str] | None:
    return {"backend": route.backend, "physical": route.physical} if route else None
