"""Drills on Dask distributed: the coordinator (the CLI, scheduler or gateway process) lists the
source, cuts the objects into batches and hands them to worker processes; each worker builds its
own stores, drills its batch with a few threads and returns how each object settled; the
coordinator alone writes the checkpoint, history and report.

- Secrets never travel in a task: settings are shipped with each secret as a `${VAR}` reference
  (adapters.config.shippable) that the worker resolves from its own environment. A LocalCluster
  started here gets those variables in its workers' environment; workers of an existing cluster
  (`--scheduler`) must have the variables the configuration names.
- Batches are idempotent (a copy overwrites, a read-back rereads): when a worker dies mid-batch
  Dask runs the batch again elsewhere, and only the result that comes back is counted.
- Memory stays flat: at most `IN_FLIGHT_PER_WORKER` batches per worker are submitted at once, and
  a batch holds at most `BATCH_OBJECTS` objects or `BATCH_BYTES` (a larger object goes alone).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from adapters.config import BackendConfig, from_shipped, secret_values, shippable
from adapters.contract import MiB, ObjectInfo, ObjectStore
from adapters.registry import store_modules

from .object_drill import ObjectDrill, Settled, keyring_of
from .parts import UploadRecord
from .retry import Retrier
from .spec import DrillSpec

#: Objects per batch. Every batch is a task, with its own scheduling, pickling and messages:
#: measured on 100,000 synthetic objects and 2 workers (same machine, alternating), 64 objects a
#: batch took 20.6-24.0 s and 10.8-13.0 s of coordinator CPU, 256 took 16.7-21.3 s and 7.6-10.0 s.
BATCH_OBJECTS = 256
BATCH_BYTES = 64 * MiB
IN_FLIGHT_PER_WORKER = 2
#: Environment variables a LocalCluster's workers get for secrets the configuration gave
#: directly (tests, embedded use): SORTIE_DRILL_SECRET_<BACKEND>_<FIELD>.
_SECRET_VAR = "SORTIE_DRILL_SECRET_{backend}_{field}"


@dataclass(frozen=True)
class Execution:
    """Where a drill's objects are drilled: threads of the coordinator (`workers` 0 and no
    scheduler), a LocalCluster of `workers` processes, or an existing Dask scheduler."""

    workers: int = 0
    scheduler: str | None = None

    @property
    def distributed(self) -> bool:
        return self.workers > 0 or self.scheduler is not None


IN_PROCESS = Execution()

#: Up to this many cores, a drill run without `--workers` stays in threads of one process.
#: Measured on a 2-core machine (bench/bench_drill.py, each run both ways on the same data):
#: the best round of threads was first or tied in each of eleven runs over three days (9.2-13.95
#: s against 10.9-15.4 s for 2 workers; single rounds on a loaded machine went either way), with
#: 30-52% less CPU: one process's threads drill at about half a core (the I/O and hashing run
#: outside the GIL), so worker processes add their start and Dask's exchange on cores the
#: storage needs, and gain no parallelism there is room for. That benchmark runs its storage
#: servers on the same two cores; where nothing else needs them, workers do pay: a million
#: synthetic objects (bench/bench_million.py, storage in-process) took 130.5 s on 2 workers
#: and 156.0 s in threads. A drill host whose storage is remote and whose concurrency is high
#: enough to be CPU-bound should name `--workers 2`.
THREADS_UP_TO_CORES = 2


def default_workers() -> int:
    """Worker processes for a drill that names none: one per core this process may run on, or
    0 (threads) on a machine of THREADS_UP_TO_CORES cores or fewer."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return cores if cores > THREADS_UP_TO_CORES else 0


#: Builds a store in a worker from what a job ships: (backend name, shipped settings, base dir).
StoreBuilder = Callable[[str, dict[str, Any], str], ObjectStore]


def from_registry(name: str, data: dict[str, Any], base_dir: str) -> ObjectStore:
    """The configured backend's store, its secrets read from this worker's environment."""
    from adapters.registry import build_store

    return build_store(name, from_shipped(data, os.environ), Path(base_dir))


@dataclass(frozen=True)
class BatchJob:
    """What every task of one drill carries: the spec and the settings, secrets as references."""

    spec: DrillSpec
    source: dict[str, Any]
    target: dict[str, Any]
    base_dir: str
    #: Objects of a batch drilled at once by one worker.
    threads: int
    #: The Dask event topic on which workers report the upload sessions they start.
    sessions_topic: str = "sortie-upload-sessions"
    #: How a worker builds the stores from `source` and `target` (shipped by reference): the
    #: registry for configured backends; benchmarks ship their own (bench/synthetic.py).
    build: StoreBuilder = from_registry
    #: Key files of the configuration's KEKs (name -> path), read by each worker: a worker on
    #: another host needs them at the same paths, else it checks ciphertext only.
    key_files: dict[str, str] = field(default_factory=dict)


@dataclass
class Shipment:
    """A drill ready to be distributed: its job, and what its local workers need: environment
    variables, and the modules their stores run on (imported once, before the workers fork)."""

    job: BatchJob
    worker_env: dict[str, str] = field(default_factory=dict)
    modules: tuple[str, ...] = ()


def prepare(spec: DrillSpec, backends: Mapping[str, BackendConfig], base_dir: Path,
            secret_refs: Mapping[str, Mapping[str, str]], execution: Execution,
            workers: int, key_files: Mapping[str, Path] | None = None) -> Shipment:
    """The job and the variables a LocalCluster's workers get: those the configuration names
    for secrets, with their values in this process now (workers fork from a server started
    by this process's first drill, whose environment may be older), and variables made up
    for secrets the configuration gave directly. An existing cluster cannot be handed any."""
    env: dict[str, str] = {}
    shipped: dict[str, dict[str, Any]] = {}
    for backend in (spec.source.backend, spec.target.backend):
        settings = backends[backend]
        refs = dict(secret_refs.get(backend, {}))
        if execution.scheduler is None:
            env.update({var: os.environ[var] for var in refs.values() if var in os.environ})
        for name, value in secret_values(settings).items():
            if name in refs:
                continue
            if execution.scheduler is not None:
                raise ValueError(f"backend {backend!r}: secret {name!r} must come from an "
                                 "environment variable (${VAR}) that the Dask workers have")
            var = _SECRET_VAR.format(backend=backend.upper().replace("-", "_"),
                                     field=name.upper())
            refs[name], env[var] = var, value
        shipped[backend] = shippable(settings, refs)
    threads = max(1, spec.concurrency // max(1, workers))
    # One topic per drill: drills sharing a cluster must not record each other's sessions.
    modules = {m: None for b in (spec.source.backend, spec.target.backend)
               for m in store_modules(backends[b].type)}
    return Shipment(BatchJob(spec, shipped[spec.source.backend], shipped[spec.target.backend],
                             str(base_dir), threads, f"sortie-upload-sessions-{uuid.uuid4().hex}",
                             key_files={name: str(path)
                                        for name, path in (key_files or {}).items()}),
                    env, tuple(modules))


log = logging.getLogger("sortie.drills")


# ---- the worker side ---------------------------------------------------------------------------
_stores: dict[str, ObjectStore] = {}
_keyrings: dict[tuple[tuple[str, str], ...], Any] = {}
_retriers: dict[str, Retrier] = {}
_pools: dict[int, Any] = {}
_lock = threading.Lock()
#: Dask's worker profiler calls sys._current_frames() every 10 ms; on CPython 3.11 that can
#: deadlock the whole worker against the garbage collection of a thread-local (seen here: every
#: thread waiting on the GIL, the profiler holding it). Drill workers run without it.
#: Every Dask comm also keeps its last `low-level-log-length` (1000) batches of messages for
#: debugging, each message with its task's payload (a batch's ObjectInfos): measured, that
#: kept about 100 MiB in the coordinator of a 200,000-object drill. A few entries are enough.
#: Every Dask server (scheduler, nanny, worker) also wakes every 20 ms to time its event loop
#: and every 500 ms to sample the host's CPU, memory, network and disk for a dashboard drills
#: do not serve: measured on an idle LocalCluster of 2 workers, 0.067 CPU-seconds a second
#: (about 0.8 s of a 12-second drill, on the cores the servers also need); 0.014 with a loop
#: check a second and a sample every 5 s (memory limits, which read the samples, are off).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                 "distributed.admin.low-level-log-length": 8,
                 "distributed.admin.tick.interval": "1s",
                 "distributed.admin.system-monitor.interval": "5s"}
#: The same, for `dask worker` processes started outside Sortie (compose, a cluster).
WORKER_ENV = {"DASK_" + name.upper().replace(".", "__").replace("-", "_"): str(value)
              for name, value in WORKER_CONFIG.items()}


def _keyring(key_files: Mapping[str, str]) -> Any:
    """The job's KEKs, loaded once per worker; a worker that cannot read them checks ciphertext
    only (and says so in its log) rather than failing the drill."""
    cache_key = tuple(sorted(key_files.items()))
    with _lock:
        if cache_key not in _keyrings:
            try:
                _keyrings[cache_key] = keyring_of({n: Path(p) for n, p in key_files.items()})
            except Exception as exc:  # noqa: BLE001 - KeyFileError or OSError, on this host
                log.warning("key files unreadable on this worker (%s): ciphertext checked only",
                            exc)
                _keyrings[cache_key] = None
        return _keyrings[cache_key]


def _store(job: BatchJob, name: str, data: dict[str, Any]) -> ObjectStore:
    cache_key = f"{name}:{sorted(data.items())}:{job.base_dir}:{job.build.__module__}.{job.build.__qualname__}"
    with _lock:
        if cache_key not in _stores:
            _stores[cache_key] = job.build(name, data, job.base_dir)
        return _stores[cache_key]


class _ReportedSessions:
    """A worker's `Sessions` book: sessions to resume come with the batch; sessions started are
    reported to the coordinator (a Dask event), which writes them into the checkpoint. Delivery
    is asynchronous: a coordinator killed in between loses the newest session, which a resumed
    run then starts again (its parts stay invisible until the backend expires them)."""

    def __init__(self, worker: Any, topic: str, resumes: Mapping[str, UploadRecord]) -> None:
        self._worker = worker  # taken in the task's thread: the drill's own threads have none
        self._topic = topic
        self._resumes = resumes

    def resume_for(self, key: str) -> UploadRecord | None:
        return self._resumes.get(key)

    def started(self, key: str, record: UploadRecord) -> None:
        self._worker.log_event(self._topic, {"key": key, **record.__dict__})


def session_reported(event: Any) -> tuple[str, UploadRecord]:
    """(source key, session) of a worker's event (Dask hands `(time, message)` or the message)."""
    message = dict(event[1] if isinstance(event, tuple) else event)  # Dask adds "worker"
    return str(message["key"]), UploadRecord(
        upload_id=message["upload_id"], part_size=int(message["part_size"]),
        size=int(message["size"]), source_etag=message["source_etag"],
        sha256=message["sha256"])


def drill_batch(job: BatchJob, infos: list[ObjectInfo],
                resumes: Mapping[str, UploadRecord] | None = None) -> list[Settled]:
    """A Dask task: drill each object of the batch in this worker process."""
    from concurrent.futures import ThreadPoolExecutor

    spec = job.spec
    source = _store(job, spec.source.backend, job.source)
    target = _store(job, spec.target.backend, job.target)
    with _lock:
        retrier = _retriers.setdefault(spec.target.backend + "|" + spec.source.backend,
                                       Retrier(breaker_threshold=max(8, spec.concurrency * 2)))
        # One pool per worker process, kept across batches: threads (and their thread-locals)
        # are not created and destroyed for every batch.
        pool = _pools.get(job.threads)
        if pool is None:
            pool = _pools[job.threads] = ThreadPoolExecutor(job.threads,
                                                            thread_name_prefix="sortie-drill")
    from distributed import get_worker

    driller = ObjectDrill(spec, source, target, retrier, sessions=_ReportedSessions(
        get_worker(), job.sessions_topic, resumes or {}),
        keyring=_keyring(job.key_files))
    return list(pool.map(driller.settle, infos))


# ---- the coordinator side ----------------------------------------------------------------------
#: What every drill worker imports, whatever its stores: Dask's worker and the drill itself.
WORKER_MODULES = ("distributed", "exit_drills.distributed", "exit_drills.object_drill")


def _fork_workers_from(modules: tuple[str, ...]) -> None:
    """Start this process's LocalCluster workers from a fork server that imported `modules`
    once (multiprocessing's "forkserver"), not as fresh interpreters that each import Dask,
    Sortie and the SDKs again (Dask's default, "spawn"): measured, 0.6 CPU-s per worker
    before its first object. Only the first call of a process chooses the modules: the fork
    server then lives as long as the process (a nanny restarting a lost worker forks from it
    too). Forking from a fork server, not from this process, keeps its threads and locks out
    of the workers."""
    import multiprocessing

    from distributed.utils import get_mp_context

    get_mp_context()  # Dask names its own modules on its first use: ours must come after
    multiprocessing.get_context("forkserver").set_forkserver_preload(
        [*WORKER_MODULES, *modules])


@contextmanager
def cluster(execution: Execution, worker_env: Mapping[str, str],
            modules: tuple[str, ...] = ()) -> Iterator[Any]:
    """A Dask client: on a LocalCluster started (and stopped) here, its workers forked from a
    process that imported `modules`, or on `execution.scheduler`."""
    import dask
    from distributed import Client, LocalCluster

    if execution.scheduler is not None:
        with dask.config.set(WORKER_CONFIG):  # this process's side of the comms
            client = Client(execution.scheduler, timeout=30)
        try:
            yield client
        finally:
            client.close()
        return
    with dask.config.set({**WORKER_CONFIG,
                          "distributed.worker.multiprocessing-method": "forkserver"}):
        _fork_workers_from(modules)
        local = LocalCluster(n_workers=execution.workers, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR,
                             env={**WORKER_ENV, **worker_env}, memory_limit=0)
        client = Client(local)
    try:
        yield client
    finally:
        _close(client, local)


#: How long stopping a LocalCluster may take before its worker processes are killed.
CLOSE_TIMEOUT = 30


def _close(client: Any, local: Any) -> None:
    """Stop the cluster; a nanny still restarting a lost worker can make a clean close hang
    (seen after a worker was killed), so give up after CLOSE_TIMEOUT and kill what is left."""
    import multiprocessing

    try:
        client.close(timeout=CLOSE_TIMEOUT)
        local.close(timeout=CLOSE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - the drill is over; leave no process behind
        logging.getLogger("sortie.drills").warning("the Dask cluster did not stop cleanly "
                                                   "(%s); killing its workers", exc)
    for child in multiprocessing.active_children():
        child.kill()
        child.join(5)


def worker_count(client: Any) -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


def batches(work: "queue.Queue[ObjectInfo | None]") -> Iterator[list[ObjectInfo]]:
    """Objects from the inventory queue, cut by count and bytes; None ends the stream."""
    batch: list[ObjectInfo] = []
    size = 0
    while True:
        info = work.get()
        if info is None:
            if batch:
                yield batch
            return
        if batch and (len(batch) >= BATCH_OBJECTS or size + info.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(info)
        size += info.size


def dispatch(client: Any, job: BatchJob, work: "queue.Queue[ObjectInfo | None]",
             record: Callable[[list[ObjectInfo], list[Settled]], None],
             workers: Callable[[], int],
             resume_for: Callable[[ObjectInfo], UploadRecord | None] = lambda info: None) -> None:
    """Submit batches as the inventory produces them, at most IN_FLIGHT_PER_WORKER per worker,
    and record each batch's objects as it comes back (one call per batch). Each batch carries
    the upload sessions a resumed drill continues (`resume_for`)."""
    from distributed import wait

    pending: dict[Any, list[ObjectInfo]] = {}

    def collect(futures: set[Any]) -> None:
        for future in futures:
            infos = pending.pop(future)
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - the batch failed as a whole
                results = [Settled("failed", i.sha256, [f"batch failed on its worker: "
                                                        f"{type(exc).__name__}: {exc}"])
                           for i in infos]
            record(infos, results)

    for batch in batches(work):
        while len(pending) >= IN_FLIGHT_PER_WORKER * workers():
            done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
            collect(set(done))
        resumes = {i.key: r for i in batch if (r := resume_for(i)) is not None}
        # pure=False: the same batch submitted again (a resumed drill) runs again.
        pending[client.submit(drill_batch, job, batch, resumes, pure=False, retries=2)] = batch
    while pending:
        done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
        collect(set(done))
