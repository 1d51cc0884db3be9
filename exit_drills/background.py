"""Drills started by another program (the gateway): each runs in its own thread, its live progress
kept in memory, its record and report on disk like any other drill."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from adapters.config import BackendConfig

from . import history
from .engine import Snapshot, new_drill_id
from .evidence.attestation import Signer
from .distributed import IN_PROCESS, Execution
from .runner import check_backends, run_drill
from .spec import DrillSpec

log = logging.getLogger("sortie.drills")


class BackgroundDrills:
    def __init__(self, backends: Mapping[str, BackendConfig], *, base_dir: Path,
                 state_dir: Path, max_running: int = 2,
                 secret_refs: Mapping[str, Mapping[str, str]] | None = None,
                 signer: Callable[[str], Signer] | None = None,
                 key_files: Mapping[str, Path] | None = None,
                 history_at: history.Where | None = None) -> None:
        self.backends = backends
        #: Where drills are recorded (the state folder, or the shared database).
        self.history_at = history_at if history_at is not None else state_dir
        self.key_files = key_files or {}
        #: started_by -> what the drill's attestation says of who started it, and its key.
        self.signer = signer or (lambda started_by: Signer(started_by=started_by))
        self.secret_refs = secret_refs or {}
        self.base_dir = base_dir
        self.state_dir = state_dir
        self.max_running = max_running
        self._live: dict[str, Snapshot] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def start(self, spec: DrillSpec, execution: Execution = IN_PROCESS,
              started_by: str = "unnamed caller") -> str:
        """Check the spec (DrillSetupError names the problem), start it, return its id."""
        check_backends(spec, self.backends)
        with self._lock:
            running = sum(t.is_alive() for t in self._threads.values())
            if running >= self.max_running:
                raise RuntimeError(f"{running} drills are already running; try again later")
            drill_id = new_drill_id()
            self._live[drill_id] = Snapshot(drill_id=drill_id)
            thread = threading.Thread(target=self._run,
                                      args=(spec, drill_id, execution, started_by),
                                      name=f"drill-{drill_id}", daemon=True)
            self._threads[drill_id] = thread
        thread.start()
        return drill_id

    def _run(self, spec: DrillSpec, drill_id: str, execution: Execution,
             started_by: str) -> None:
        def progress(snapshot: Snapshot) -> None:
            self._live[drill_id] = snapshot

        try:
            run_drill(spec, self.backends, base_dir=self.base_dir, state_dir=self.state_dir,
                      drill_id=drill_id, on_progress=progress, execution=execution,
                      secret_refs=self.secret_refs, signer=self.signer(started_by),
                      key_files=self.key_files, history_at=self.history_at)
        except Exception as exc:  # noqa: BLE001 - reported through status()
            log.exception("drill %s could not run", drill_id)
            self._errors[drill_id] = f"{type(exc).__name__}: {exc}"

    def status(self, drill_id: str) -> dict[str, Any] | None:
        """The drill's record (any drill in the history) with live progress if this process runs it."""
        record = history.get(self.history_at, drill_id)
        live = self._live.get(drill_id)
        if record is None and live is None:
            return None
        out: dict[str, Any] = dict(record or {"id": drill_id, "status": "starting"})
        if live is not None:
            out["progress"] = dataclasses.asdict(live)
        if drill_id in self._errors:
            out["status"] = "failed"
            out["error"] = self._errors[drill_id]
        return out

    def report_dir(self, drill_id: str) -> Path | None:
        record = history.get(self.history_at, drill_id)
        return Path(record["report_dir"]) if record else None

    def wait(self, drill_id: str, timeout: float | None = None) -> None:
        thread = self._threads.get(drill_id)
        if thread is not None:
            thread.join(timeout)
