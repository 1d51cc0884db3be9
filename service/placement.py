"""Where a bucket's data may land: its placement policy (adapters/placement.py) applied at every
door data goes through: bucket creation and routing (configuration and API), the exit switch,
drill targets (CLI, API, scheduled drills at load).

A bucket's policy is its own (`buckets.NAME.policy`) or `default_policy`. A drill copies the data
of the logical bucket routed to its source (backend and physical bucket), so its target must
satisfy that bucket's policy; a source no logical bucket routes to gets `default_policy`.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

from adapters import registry
from adapters.config import BackendConfig
from adapters.errors import StorageError
from adapters.placement import Judgement, PlacementPolicy, judge
from exit_drills.spec import DrillSpec


class SortieConfig(Protocol):
    """What placement reads of the configuration (service/config.py's model), named here so
    that the configuration can check itself with this module without a circle of imports."""

    backends: Mapping[str, BackendConfig]
    buckets: Mapping[str, Any]
    policies: Mapping[str, PlacementPolicy]
    default_policy: str | None

    def encryption_key(self, logical: str | None) -> str | None: ...


def policy_of(settings: "SortieConfig", logical: str | None) -> tuple[str, PlacementPolicy] | None:
    route = settings.buckets.get(logical) if logical else None
    name = (route.policy if route is not None else None) or settings.default_policy
    if name is None:
        return None
    return name, settings.policies[name]


def judgement(settings: "SortieConfig", policy: tuple[str, PlacementPolicy],
              backend: str) -> Judgement:
    try:
        facts = registry.facts(settings.backends[backend])
    except StorageError as exc:  # a preset that does not load: every fact unknown
        from adapters.family import ProviderFacts
        from adapters.presets import ComplianceFacts

        facts = ProviderFacts(None, f"unknown ({exc})", None, ComplianceFacts())
    return judge(policy[0], policy[1], backend, facts)


def landing_refusal(settings: "SortieConfig", logical: str | None, backend: str) -> str | None:
    """Why bucket `logical`'s data may not land on `backend`, or None."""
    policy = policy_of(settings, logical)
    if policy is None:
        return None
    verdict = judgement(settings, policy, backend)
    encrypted = settings.encryption_key(logical) is not None
    if verdict.allowed(encrypted):
        return None
    return f"backend {backend!r} is refused: {verdict.refusal(encrypted)}"


def source_bucket(settings: "SortieConfig", spec: DrillSpec,
                  routes: Mapping[str, Any] | None) -> str | None:
    """The logical bucket whose data a drill copies (routed to its source), if any. `routes`:
    the gateway's current routes (None: the configuration's alone)."""
    if routes is None:
        routes_seen = {logical: (r.backend, r.name or logical)
                       for logical, r in settings.buckets.items()}
    else:
        routes_seen = {logical: (r.backend, r.physical) for logical, r in routes.items()}
    for logical, where in routes_seen.items():
        if where == (spec.source.backend, spec.source.bucket):
            return logical
    return None


def drill_refusal(settings: "SortieConfig", spec: DrillSpec,
                  routes: Mapping[str, Any] | None) -> str | None:
    """Why a drill may not copy its source's data to its target, or None."""
    if spec.mode.value == "verify-only" or spec.target.backend not in settings.backends:
        return None  # verify-only writes nothing; unknown backends are refused elsewhere
    logical = source_bucket(settings, spec, routes)
    refusal = landing_refusal(settings, logical, spec.target.backend)
    if refusal is None:
        return None
    whose = f"bucket {logical!r}" if logical else "the default policy"
    return f"the drill would copy data of {whose} to {spec.target}: {refusal}"


def drill_verdict(settings: "SortieConfig", spec: DrillSpec,
                  routes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The target's judgement under the source bucket's policy, for the drill's attestation."""
    logical = source_bucket(settings, spec, routes)
    policy = policy_of(settings, logical)
    if policy is None or spec.target.backend not in settings.backends:
        return None
    encrypted = settings.encryption_key(logical) is not None
    return {"bucket": logical,
            **judgement(settings, policy, spec.target.backend).as_dict(encrypted)}


def compliance(settings: "SortieConfig", logical: str, current: str) -> dict[str, Any]:
    """A bucket's policy judged on every configured backend (`sortie policy check`, the API)."""
    policy = policy_of(settings, logical)
    key = settings.encryption_key(logical)
    out: dict[str, Any] = {"bucket": logical, "backend": current,
                           "policy": policy[0] if policy else None, "encryption_key": key,
                           "backends": []}
    if policy is None:
        return out
    for backend in settings.backends:
        verdict = judgement(settings, policy, backend)
        out["backends"].append({**verdict.as_dict(key is not None), "current": backend == current})
    return out
