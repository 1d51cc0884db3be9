"""A drill at exit scale: a synthetic source of N objects (1,000,000 by default; bytes derived
from each key, never stored) into a discard target that checks what it receives, both real
ObjectStores (bench/synthetic.py), through the drill engine with its checkpoint and report.

Measures objects settled (listed, planned, copied, read back, checkpointed) per second and the
peak RSS of the coordinator (this process), sampled every 50 ms. Target: peak RSS < 300 MiB.
The engine runs its threads here: Dask workers build their stores from configured backends,
which these synthetic stores are not; the coordinator's own state (inventory, queue,
checkpoint, counters) is the same either way.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from adapters.contract import MiB
from exit_drills.engine import DrillEngine
from exit_drills.spec import DrillSpec, Endpoint

from .synthetic import DiscardStore, SyntheticStore

SIZE = 512


def run(workdir: Path) -> dict[str, Any]:
    count = int(os.environ.get("SORTIE_BENCH_OBJECTS", "1000000"))
    source = SyntheticStore("synthetic", "dataset", count, SIZE)
    target = DiscardStore("discard", SIZE)
    spec = DrillSpec(source=Endpoint(backend="synthetic", bucket="dataset"),
                     target=Endpoint(backend="discard", bucket="dataset"), concurrency=8)
    engine = DrillEngine(spec, source, target, drill_dir=workdir / "drill",
                         state_dir=workdir / "state", progress_interval=1.0)
    process = psutil.Process()
    peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    cpu = time.process_time()
    report = engine.run()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    checkpoint = workdir / "drill" / "checkpoint.sqlite3"
    return {"objects": count, "object_size": SIZE, "status": report.status,
            "verified": report.objects.verified, "target_received": target.received,
            "seconds": round(seconds, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
            "objects_per_s": round(count / seconds, 1),
            "coordinator_peak_rss_mib": round(peak / MiB, 1),
            "checkpoint_mib": round(checkpoint.stat().st_size / MiB, 1),
            "manifest_lines": sum(1 for _ in open(workdir / "drill" / "manifest.jsonl")),
            "targets": {"coordinator_peak_rss_mib_max": 300}}
