"""The routing table: which backend, and which bucket there, holds each logical bucket.

The configuration's `buckets:` are the base; routes created or switched at run time are kept in
STATE_DIR/routes.json (written atomically: temp file, fsync, rename) and take precedence, so they
survive a restart. A runtime entry `null` hides a config route (its bucket was deleted).

A bucket delete is journalled there too (`deleting`): marked before the backend is asked, cleared
with the route. A gateway killed in between finds the mark on restart and finishes or rolls back
the delete (`Gateway.recover_deletes`), instead of listing a route whose bucket is gone.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .config import BucketRoute, LoadedConfig

_FILE = "routes.json"


@dataclass(frozen=True)
class Route:
    backend: str
    #: The bucket's name on that backend.
    physical: str


class RouteTable:
    def __init__(self, state_dir: Path, base: Mapping[str, BucketRoute]) -> None:
        self._path = state_dir / _FILE
        self._base = {logical: Route(r.backend, r.name or logical) for logical, r in base.items()}
        self._lock = threading.Lock()
        raw = self._load()
        self._runtime: dict[str, Route | None] = {
            logical: _route(entry) for logical, entry in raw.get("routes", {}).items()}
        self._deleting: dict[str, Route] = {
            logical: route for logical, entry in raw.get("deleting", {}).items()
            if (route := _route(entry)) is not None}

    def _load(self) -> dict[str, dict[str, dict[str, str] | None]]:
        try:
            return json.loads(self._path.read_text("utf-8"))  # type: ignore[no-any-return]
        except FileNotFoundError:
            return {}

    def _save(self) -> None:
        data = {"routes": {logical: _entry(r) for logical, r in sorted(self._runtime.items())},
                "deleting": {logical: _entry(r) for logical, r in sorted(self._deleting.items())}}
        self._path.parent.mkdir(parents=True, exist_ok=True)
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
            merged: dict[str, Route | None] = {**self._base, **self._runtime}
        return {logical: route for logical, route in sorted(merged.items()) if route is not None}

    def get(self, logical: str) -> Route | None:
        with self._lock:
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
        with self._lock:
            previous = self._runtime.get(logical, ...)
            self._runtime[logical] = route
            try:
                self._save()
            except BaseException:
                self._restore(logical, previous)
                raise

    def remove(self, logical: str) -> None:
        """Forget the route (and its delete mark, in the same atomic write)."""
        with self._lock:
            previous = self._runtime.get(logical, ...)
            mark = self._deleting.pop(logical, None)
            if logical in self._base:
                self._runtime[logical] = None
            else:
                self._runtime.pop(logical, None)
            try:
                self._save()
            except BaseException:
                self._restore(logical, previous)
                if mark is not None:
                    self._deleting[logical] = mark
                raise

    # ---- the delete journal ---------------------------------------------------------------------
    def mark_deleting(self, logical: str, route: Route) -> None:
        with self._lock:
            self._deleting[logical] = route
            try:
                self._save()
            except BaseException:
                del self._deleting[logical]
                raise

    def clear_deleting(self, logical: str) -> None:
        with self._lock:
            mark = self._deleting.pop(logical, None)
            if mark is None:
                return
            try:
                self._save()
            except BaseException:
                self._deleting[logical] = mark
                raise

    def pending_deletes(self) -> dict[str, Route]:
        with self._lock:
            return dict(self._deleting)

    def _restore(self, logical: str, previous: object) -> None:
        if previous is ...:
            self._runtime.pop(logical, None)
        else:
            self._runtime[logical] = previous  # type: ignore[assignment]


def current_routes(loaded: LoadedConfig) -> dict[str, Route]:
    """The routes as the gateway serves them (configuration, then runtime switches)."""
    return RouteTable(loaded.state_dir, loaded.settings.buckets).all()


def _route(entry: Mapping[str, str] | None) -> Route | None:
    return Route(entry["backend"], entry["physical"]) if entry else None


def _entry(route: Route | None) -> dict[str, str] | None:
    return {"backend": route.backend, "physical": route.physical} if route else None
