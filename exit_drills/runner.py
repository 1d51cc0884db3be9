"""Run a drill from configured backends: build the two stores, pick the folders, price the egress.

The one entry point for the CLI, the scheduler and the gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from adapters.config import BackendConfig
from adapters.registry import build_store

from . import distributed, history
from .distributed import IN_PROCESS, Execution
from .checkpoint import FILE_NAME as CHECKPOINT_FILE
from .checkpoint import Checkpoint
from .engine import DrillEngine, Snapshot, new_drill_id
from .object_drill import keyring_of
from .evidence.attestation import Signer, context_for
from .projection import egress_price
from .spec import DrillReport, DrillSpec


#: A drill started by code that says nothing of who started it (tests, embedded use).
UNNAMED = Signer(started_by="unnamed caller")


class DrillSetupError(Exception):
    """The drill cannot start as asked (unknown backend or drill id): a usage error."""


def drill_dir(state_dir: Path, drill_id: str) -> Path:
    return history.drills_dir(state_dir) / drill_id


def check_backends(spec: DrillSpec, backends: Mapping[str, BackendConfig]) -> None:
    for label, endpoint in (("--from", spec.source), ("--to", spec.target)):
        if endpoint.backend not in backends:
            raise DrillSetupError(f"{label}: backend {endpoint.backend!r} is not configured "
                                  f"(configured: {', '.join(sorted(backends))})")


def resume_spec(state_dir: Path, drill_id: str,
                history_at: history.Where | None = None) -> tuple[DrillSpec, Path | None]:
    """The spec a drill was started with, and its report folder, to continue it."""
    folder = drill_dir(state_dir, drill_id)
    if "/" in drill_id or drill_id.startswith(".") or not (folder / CHECKPOINT_FILE).is_file():
        raise DrillSetupError(f"--resume: no drill {drill_id!r} under {history.drills_dir(state_dir)}")
    checkpoint = Checkpoint(folder)
    try:
        spec = checkpoint.load_spec()
    finally:
        checkpoint.close()
    if spec is None:
        raise DrillSetupError(f"--resume: drill {drill_id!r} has no saved spec")
    row = history.get(history_at if history_at is not None else state_dir, drill_id)
    return spec, Path(row["report_dir"]) if row else None


def run_drill(spec: DrillSpec, backends: Mapping[str, BackendConfig], *, base_dir: Path,
              state_dir: Path, report_dir: Path | None = None, drill_id: str | None = None,
              on_progress: Callable[[Snapshot], None] | None = None,
              on_engine: Callable[[DrillEngine], None] | None = None,
              execution: Execution = IN_PROCESS,
              secret_refs: Mapping[str, Mapping[str, str]] | None = None,
              signer: Signer | None = None,
              key_files: Mapping[str, Path] | None = None,
              history_at: history.Where | None = None) -> DrillReport:
    """Run one drill. `execution` says where its objects are drilled (threads here, or Dask
    workers); `secret_refs` (backend -> field -> environment variable, from the configuration)
    lets secrets reach Dask workers as references instead of values; `key_files` (the
    configuration's KEKs) let the drill decrypt encrypted copies to check their plaintext."""
    check_backends(spec, backends)
    shipment = None
    if execution.distributed:
        try:
            shipment = distributed.prepare(spec, backends, base_dir, secret_refs or {},
                                           execution, execution.workers or 1, key_files)
        except ValueError as exc:
            raise DrillSetupError(str(exc)) from None
    drill_id = drill_id or new_drill_id()
    folder = drill_dir(state_dir, drill_id)
    price, note = egress_price(backends[spec.source.backend])
    source = build_store(spec.source.backend, backends[spec.source.backend], base_dir)
    try:
        target = build_store(spec.target.backend, backends[spec.target.backend], base_dir)
        try:
            engine = DrillEngine(spec, source, target, drill_dir=folder,
                                 report_dir=report_dir or folder, drill_id=drill_id,
                                 state_dir=state_dir, price=price, price_note=note,
                                 on_progress=on_progress, execution=execution,
                                 shipment=shipment, keyring=keyring_of(key_files),
                                 history_at=history_at,
                                 evidence=context_for(spec, backends, signer or UNNAMED))
            if on_engine is not None:
                on_engine(engine)
            return engine.run()
        finally:
            target.close()
    finally:
        source.close()
