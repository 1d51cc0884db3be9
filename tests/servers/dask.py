"""A real Dask cluster for tests: `dask scheduler` and two `dask worker` processes over TCP on
127.0.0.1, started and stopped by a fixture, their environment given by the test (the
variables the drill's configuration names for secrets)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from exit_drills.distributed import WORKER_ENV

from .process import ServerProcess, free_port, port_open

DASK = str(Path(sys.executable).with_name("dask"))


@dataclass
class DaskCluster:
    address: str
    scheduler: ServerProcess
    workers: list[ServerProcess]

    def stop(self) -> None:
        for process in (*self.workers, self.scheduler):
            process.stop()


def start_dask(log_dir: Path, env: dict[str, str], workers: int = 2) -> DaskCluster:
    port = free_port()
    scheduler = ServerProcess("dask-scheduler", [
        DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        log_dir).start()
    scheduler.wait_until(lambda: port_open(port), timeout=60)
    address = f"tcp://127.0.0.1:{port}"
    started = [ServerProcess(f"dask-worker-{i}", [
        DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
        "--no-dashboard", "--memory-limit", "0", "--death-timeout", "30"],
        log_dir, env={**WORKER_ENV, **env}, cwd=Path(__file__).resolve().parents[2]).start()
        for i in range(workers)]
    cluster = DaskCluster(address, scheduler, started)
    from distributed import Client

    with Client(address, timeout=30) as client:
        try:
            client.wait_for_workers(workers, timeout=90)
        except Exception:
            cluster.stop()
            raise RuntimeError("dask workers did not join; logs:\n" +
                               "\n".join(w.log_tail() for w in started)) from None
    return cluster


def dask_cluster(log_dir: Path, env: dict[str, str]) -> Iterator[DaskCluster]:
    cluster = start_dask(log_dir, env)
    try:
        yield cluster
    finally:
        cluster.stop()
