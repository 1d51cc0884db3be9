"""The local-disk family's record: settings, build, facts and its `sweep` command."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from ..config import LocalBackend
from ..contract import ObjectStore
from ..family import Command, Family, ProviderFacts
from ..presets import ComplianceFacts, EgressPrice, Fact

#: A disk has no provider: its jurisdiction is wherever the machine stands (unknown to Sortie), and
#: moving bytes off it costs no provider fee. This 0 is a fact, not a default.
NO_EGRESS_FEE = Fact[EgressPrice](
    value=EgressPrice(per_gb=0.0, currency="EUR"),
    source="local disk: no provider, so no egress charge", checked=date(2026, 12, 2))


def build(name: str, settings: LocalBackend, base_dir: Path,
          overrides: Mapping[str, object]) -> ObjectStore:
    from .store import LOCAL_CAPABILITIES, LocalStore

    path = settings.path if settings.path.is_absolute() else base_dir / settings.path
    return LocalStore(name, path, replace(LOCAL_CAPABILITIES, **overrides))  # type: ignore[arg-type]


def facts(settings: LocalBackend) -> ProviderFacts:
    return ProviderFacts(None, "Local disk", None, ComplianceFacts(egress_price=NO_EGRESS_FEE),
                         "a local disk: where it stands (and under which law) is not recorded")


def sweep(store: Any, *, older_than_hours: float = 24.0, dry_run: bool = False) -> list[str]:
    from .sweep import sweep as sweep_store

    report = sweep_store(store, older_than_hours * 3600, dry_run=dry_run)
    lines = [f"{'would remove' if dry_run else 'removed'} {path}" for path in report.paths]
    lines.append(f"{store.name}: {report.files} orphan file(s), {report.bytes} bytes, "
                 f"{report.trash_folders} unfinished bucket delete(s), "
                 f"{report.upload_sessions} abandoned upload session(s)"
                 f"{' found (dry run)' if dry_run else ' removed'}")
    return lines


FAMILY = Family(
    type="local", title="Local disk", settings=LocalBackend, build=build,
    facts_without_preset=facts, modules=("adapters.local.store",),
    commands={"sweep": Command(help="Remove the bytes interrupted writes and deletes left on "
                                    "disk.", run=sweep)})
