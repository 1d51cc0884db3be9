"""The routing table: which backend, and which bucket there, holds each logical bucket.

The configuration's `buckets:` are the base; routes created or switched at run time are kept in
STATE_DIR/routes.json (written atomically: temp file, fsync, rename) and take precedence, so they
survive a restart. A runtime entry `null` hides a config route (its bucket was deleted).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .config import BucketRoute

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
        self._runtime: dict[str, Route | None] = self._load()

    def _load(self) -> dict[str, Route | None]:
        try:
            raw = json.loads(self._path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return {logical: (Route(entry["backend"], entry["physical"]) if entry else None)
                for logical, entry in raw.get("routes", {}).items()}

    def _save(self) -> None:
        data = {"routes": {logical: ({"backend": r.backend, "physical": r.physical} if r else None)
                           for logical, r in sorted(self._runtime.items())}}
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
        with self._lock:
            previous = self._runtime.get(logical, ...)
            if logical in self._base:
                self._runtime[logical] = None
            else:
                self._runtime.pop(logical, None)
            try:
                self._save()
            except BaseException:
                self._restore(logical, previous)
                raise

    def _restore(self, logical: str, previous: object) -> None:
        if previous is ...:
            self._runtime.pop(logical, None)
        else:
            self._runtime[logical] = previous  # type: ignore[assignment]
