"""A drill at exit scale: a synthetic source of N objects (1,000,000 by default; bytes derived
from each key, never stored) into a discard target that checks what it receives, both real
ObjectStores (bench/synthetic.py), through the drill engine with its checkpoint and report.

Runs it twice: with the engine's threads in this process, and on a LocalCluster of 2 Dask
workers (which build the same synthetic stores: `BatchJob.build`). Measures objects settled
(listed, planned, copied, read back, checkpointed) per second, the peak RSS of the coordinator
(this process) and of the whole tree (coordinator + Dask scheduler + workers), sampled every
50 ms, and the CPU seconds of each. Target: coordinator peak RSS < 300 MiB.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from adapters.contract import MiB
from exit_drills.distributed import BatchJob, Execution, Shipment
from exit_drills.engine import DrillEngine
from exit_drills.spec import DrillSpec, Endpoint

from . import synthetic
from .synthetic import DiscardStore, SyntheticStore

SIZE = 512
CONCURRENCY = 8


class Sampler:
    """Peak RSS of this process and of its whole tree, and CPU seconds of each process seen."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.tree_peak = self.process.memory_info().rss
        self.cpu: dict[int, tuple[str, float]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "Sampler":
        self._cpu_before = self._cpu(self.process)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.own_cpu = self._cpu(self.process) - self._cpu_before

    @staticmethod
    def _cpu(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            try:
                children = self.process.children(recursive=True)
                own = self.process.memory_info().rss
                tree = own
                for child in children:
                    try:
                        tree += child.memory_info().rss
                        self.cpu[child.pid] = (child.name(), self._cpu(child))
                    except psutil.Error:
                        pass
                self.peak, self.tree_peak = max(self.peak, own), max(self.tree_peak, tree)
            except psutil.Error:
                pass

    def children_cpu(self) -> float:
        return sum(cpu for _, cpu in self.cpu.values())


def drill(workdir: Path, count: int, workers: int) -> dict[str, Any]:
    source = SyntheticStore("synthetic", "dataset", count, SIZE)
    target = DiscardStore("discard", SIZE)
    spec = DrillSpec(source=Endpoint(backend="synthetic", bucket="dataset"),
                     target=Endpoint(backend="discard", bucket="dataset"),
                     concurrency=CONCURRENCY)
    execution = Execution(workers=workers)
    shipment = None
    if workers:
        shipment = Shipment(BatchJob(spec, synthetic.shipped(source), synthetic.shipped(target),
                                     str(workdir), max(1, CONCURRENCY // workers),
                                     f"sortie-bench-{uuid.uuid4().hex}", build=synthetic.build))
    folder = workdir / f"workers-{workers}"
    engine = DrillEngine(spec, source, target, drill_dir=folder / "drill",
                         state_dir=folder / "state", progress_interval=1.0,
                         execution=execution, shipment=shipment)
    with Sampler() as sampler:
        started = time.perf_counter()
        report = engine.run()
        seconds = time.perf_counter() - started
    checkpoint = folder / "drill" / "checkpoint.sqlite3"
    with open(folder / "drill" / "manifest.jsonl", "rb") as manifest:
        lines = sum(1 for _ in manifest)
    return {"status": report.status, "verified": report.objects.verified,
            "failed": report.objects.failed, "seconds": round(seconds, 1),
            "objects_per_s": round(count / seconds, 1),
            "coordinator_cpu_seconds": round(sampler.own_cpu, 1),
            "workers_and_scheduler_cpu_seconds": round(sampler.children_cpu(), 1),
            "coordinator_peak_rss_mib": round(sampler.peak / MiB, 1),
            "tree_peak_rss_mib": round(sampler.tree_peak / MiB, 1),
            "checkpoint_mib": round(checkpoint.stat().st_size / MiB, 1),
            "manifest_lines": lines}


def run(workdir: Path) -> dict[str, Any]:
    count = int(os.environ.get("SORTIE_BENCH_OBJECTS", "1000000"))
    figures: dict[str, Any] = {"objects": count, "object_size": SIZE,
                               "concurrency": CONCURRENCY}
    for workers in (0, 2):
        figures["threads_1_process" if workers == 0 else f"dask_{workers}_workers"] = drill(
            workdir, count, workers)
    figures["targets"] = {"coordinator_peak_rss_mib_max": 300}
    return figures
