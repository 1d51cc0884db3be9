"""Routes in PostgreSQL: every lookup reads the table, so a switch committed through one replica
is served by every replica for each request that arrives after the switch returned (linearizable;
no cache to expire). The configuration's `buckets:` stay the base, as with the route file."""

from __future__ import annotations

from typing import Mapping

from ..config import BucketRoute
from ..routing import Route, RouteTable
from .postgres import Database


class PgRouteTable(RouteTable):
    def __init__(self, db: Database, base: Mapping[str, BucketRoute]) -> None:
        self.db = db
        self._base = {logical: Route(r.backend, r.name or logical) for logical, r in base.items()}

    def _stored(self) -> dict[str, Route | None]:
        return {logical: Route(backend, physical) if backend else None
                for logical, backend, physical in
                self.db.query("SELECT logical, backend, physical FROM routes")}

    def all(self) -> dict[str, Route]:
        merged: dict[str, Route | None] = {**self._base, **self._stored()}
        return {logical: route for logical, route in sorted(merged.items()) if route is not None}

    def get(self, logical: str) -> Route | None:
        rows = self.db.query("SELECT backend, physical FROM routes WHERE logical = %s",
                             (logical,))
        if rows:
            backend, physical = rows[0]
            return Route(backend, physical) if backend else None
        return self._base.get(logical)

    def set(self, logical: str, route: Route) -> None:
        self.db.execute("INSERT INTO routes (logical, backend, physical) VALUES (%s, %s, %s) "
                        "ON CONFLICT (logical) DO UPDATE SET backend = EXCLUDED.backend, "
                        "physical = EXCLUDED.physical", (logical, route.backend, route.physical))

    def remove(self, logical: str) -> None:
        """Forget the route and its delete mark, in one transaction."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM route_deletes WHERE logical = %s", (logical,))
            if logical in self._base:  # hide the configured route
                conn.execute("INSERT INTO routes (logical, backend, physical) "
                             "VALUES (%s, NULL, NULL) ON CONFLICT (logical) DO UPDATE "
                             "SET backend = NULL, physical = NULL", (logical,))
            else:
                conn.execute("DELETE FROM routes WHERE logical = %s", (logical,))

    def mark_deleting(self, logical: str, route: Route) -> None:
        self.db.execute("INSERT INTO route_deletes (logical, backend, physical) "
                        "VALUES (%s, %s, %s) ON CONFLICT (logical) DO UPDATE SET "
                        "backend = EXCLUDED.backend, physical = EXCLUDED.physical",
                        (logical, route.backend, route.physical))

    def clear_deleting(self, logical: str) -> None:
        self.db.execute("DELETE FROM route_deletes WHERE logical = %s", (logical,))

    def runtime_entries(self) -> dict[str, Route | None]:
        return self._stored()

    def import_entry(self, logical: str, route: Route | None) -> None:
        self.db.execute("INSERT INTO routes (logical, backend, physical) VALUES (%s, %s, %s) "
                        "ON CONFLICT (logical) DO UPDATE SET backend = EXCLUDED.backend, "
                        "physical = EXCLUDED.physical",
                        (logical, route.backend if route else None,
                         route.physical if route else None))

    def pending_deletes(self) -> dict[str, Route]:
        return {logical: Route(backend, physical) for logical, backend, physical in
                self.db.query("SELECT logical, backend, physical FROM route_deletes")}
