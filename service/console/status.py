"""What the console's overview says of each bucket: where it lives and under which law, whether
its data may stay there, and whether an exit is proven (its last drill, how old, how long a full
exit would take against the 30-day window)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from adapters import registry
from adapters.errors import StorageError
from exit_drills import history

from ..config import LoadedConfig
from ..placement import landing_refusal
from ..routing import Route

#: A passed drill older than this no longer proves the exit (data and providers change).
FRESH_DAYS = 7
WINDOW_DAYS = 30


@dataclass(frozen=True)
class BucketStatus:
    bucket: str
    backend: str
    physical: str
    provider: str
    region: str
    jurisdiction: str
    policy: str
    placement: str
    last_drill: dict[str, Any] | None
    last_passed: dict[str, Any] | None
    age_days: float | None
    exit_days: float | str
    status: str        # reversible | at risk | unknown
    why: str


def bucket_status(loaded: LoadedConfig, logical: str, route: Route,
                  now: datetime | None = None, history_at: Any = None) -> BucketStatus:
    settings = loaded.settings
    provider, region, jurisdiction = _place(settings.backends[route.backend])
    policy_name = (settings.buckets[logical].policy if logical in settings.buckets else None) \
        or settings.default_policy
    refusal = landing_refusal(settings, logical, route.backend) if policy_name else None
    placement = "no policy" if policy_name is None else ("refused: " + refusal if refusal
                                                          else "allowed")
    where = history_at if history_at is not None else loaded.state_dir
    drill = _last_drill(where, route)
    passed = drill if drill is None or drill["status"] == "passed" else \
        _last_drill(where, route, status="passed")
    now = now or datetime.now(timezone.utc)
    age = exit_days = None
    if drill is not None and drill.get("finished"):
        age = (now - datetime.fromisoformat(drill["finished"])).total_seconds() / 86400
    report = _report(drill)
    exit_days = (report.get("projection") or {}).get("full_exit_days", "unknown") \
        if report else "unknown"
    status, why = _verdict(drill, age, exit_days, refusal)
    return BucketStatus(logical, route.backend, route.physical, provider, region, jurisdiction,
                        policy_name or "none", placement, drill, passed, age, exit_days, status,
                        why)


def _verdict(drill: dict[str, Any] | None, age: float | None, exit_days: float | str,
             refusal: str | None) -> tuple[str, str]:
    if refusal:
        return "at risk", "its data sits where its placement policy refuses it"
    if drill is None:
        return "unknown", "no exit drill from this bucket yet"
    if drill["status"] == "failed":
        return "at risk", f"the last exit drill ({drill['id']}) failed"
    if drill["status"] != "passed":
        return "unknown", f"an exit drill is {drill['status']}"
    if age is not None and age > FRESH_DAYS:
        return "unknown", f"the last passed drill is {age:.0f} days old (stale after {FRESH_DAYS})"
    if not isinstance(exit_days, (int, float)):
        return "unknown", "the last drill measured no exit time"
    if exit_days > WINDOW_DAYS:
        return "at risk", f"a full exit would take {exit_days:.1f} days (> {WINDOW_DAYS})"
    return "reversible", f"drill {drill['id']} passed; a full exit takes {exit_days:.2f} days"


def _place(settings: Any) -> tuple[str, str, str]:
    try:
        facts = registry.facts(settings)
    except StorageError as exc:
        return f"unknown ({exc})", "unknown", "unknown"
    return (facts.title, facts.region or "unknown",
            facts.compliance.hq_jurisdiction.value or "unknown")


def _last_drill(where: history.Where, route: Route,
                status: str | None = None) -> dict[str, Any] | None:
    for row in history.find(where, bucket=route.physical, status=status, limit=50):
        if (row["source_backend"], row["source_bucket"]) == (route.backend, route.physical):
            return row
    return None


def _report(drill: dict[str, Any] | None) -> dict[str, Any] | None:
    if drill is None:
        return None
    try:
        return json.loads((Path(drill["report_dir"]) / "report.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
