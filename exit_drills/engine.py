"""One drill from start to report: inventory -> plan -> copy -> verify -> report.

Threads: one inventory thread walks the source listing into a bounded queue; `concurrency`
workers take objects from it, each settled object is checkpointed at once; the calling thread
samples progress. One object's failure is recorded and the others go on.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from adapters.contract import ObjectInfo, ObjectStore
from adapters.encryption.keys import Keyring
from adapters.errors import NotFound, StorageError

from . import distributed, history
from .checkpoint import Checkpoint
from .distributed import IN_PROCESS, Execution, Shipment
from .evidence.attestation import (EvidenceContext, attest, evidence_of, place_of,
                                   provenance_of)
from .inventory import walk
from .object_drill import ObjectDrill, Settled
from .parts import UploadRecord
from .projection import EgressPrice, choose_rate, project
from .report import write_report
from .retry import Retrier
from .spec import (ByteCounts, DrillReport, DrillSpec, EncryptionNote, Failure, Mode, ObjectCounts,
                   Sample)

#: Extra keys and failures listed in report.json beyond which only the count is given.
REPORT_LIST_LIMIT = 1000
#: Target keys written to the checkpoint per transaction while the target is listed.
_LISTING_BATCH = 1000
_MAX_SAMPLES = 600


def new_drill_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@dataclass
class Snapshot:
    """Live progress, for progress bars, logs and the gateway's status route."""

    drill_id: str
    state: str = "starting"  # starting | running | cleaning | finished
    objects_seen: int = 0
    bytes_seen: int = 0
    inventory_done: bool = False
    objects_settled: int = 0
    bytes_done: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    status: str | None = None
    #: Dask workers alive (0: the objects are drilled by threads of this process).
    workers: int = 0
    #: Times each source byte passes at most (copied, then read back: 2; verify-only: 1, the
    #: target read). `bytes_done` counts every pass, so its total is bytes_seen x passes.
    passes: int = 2


@dataclass
class _Counters:
    lock: threading.Lock = field(default_factory=threading.Lock)
    total: int = 0
    total_bytes: int = 0
    copied: int = 0
    skipped: int = 0
    compared: int = 0
    resumed: int = 0
    failed: int = 0
    not_read_back: int = 0  # skipped on recorded hashes alone (read_back_skipped off)
    encrypted: int = 0  # ciphertext of client-side encryption, settled in this run
    decrypted: int = 0  # of those, decrypted and checked against their plaintext SHA-256
    bytes_copied: int = 0
    bytes_read: int = 0
    bytes_live: int = 0  # counted as bytes pass, for progress (includes retried attempts)


class DrillEngine:
    def __init__(self, spec: DrillSpec, source: ObjectStore, target: ObjectStore, *,
                 drill_dir: Path, report_dir: Path | None = None, drill_id: str | None = None,
                 state_dir: Path | None = None, price: EgressPrice | None = None,
                 price_note: str = "unknown", retrier: Retrier | None = None,
                 on_progress: Callable[[Snapshot], None] | None = None,
                 progress_interval: float = 0.5, execution: Execution = IN_PROCESS,
                 shipment: Shipment | None = None,
                 evidence: EvidenceContext | None = None,
                 keyring: Keyring | None = None,
                 history_at: history.Where | None = None) -> None:
        self.spec = spec
        #: Signs the report (attestation.json) when it holds a key.
        self.evidence = evidence
        self.source = source
        self.target = target
        self.drill_id = drill_id or drill_dir.name
        self.drill_dir = drill_dir
        self.report_dir = report_dir or drill_dir
        self.state_dir = state_dir
        #: Where the drill is recorded: the state folder's history, or the shared database's.
        self.history_at = history_at if history_at is not None else state_dir
        self.price = price
        self.price_note = price_note
        self.retrier = retrier or Retrier(breaker_threshold=max(8, spec.concurrency * 2))
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        if execution.distributed and shipment is None:
            raise ValueError("a distributed drill needs its shipment (exit_drills.distributed)")
        self.execution = execution
        self.shipment = shipment
        self.workers_alive = 0
        self._c = _Counters()
        self._errors: list[str] = []
        self._inventory_complete = False
        self._inventory_done = False
        self._state = "starting"
        self._started_mono = 0.0
        self._workers_left = 0
        self._all_done = threading.Event()  # set when the last worker ends
        self._extras: list[str] = []  # target keys no source object accounts for (listed ones)
        self._extras_count = 0
        self._target_listed = False
        self.report: DrillReport | None = None
        self._driller = ObjectDrill(spec, source, target, self.retrier, self._count_live,
                                    keyring=keyring)

    # ---- public ------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        c = self._c
        return Snapshot(drill_id=self.drill_id, state=self._state, objects_seen=c.total,
                        bytes_seen=c.total_bytes, inventory_done=self._inventory_done,
                        objects_settled=c.copied + c.skipped + c.compared + c.resumed + c.failed,
                        bytes_done=c.bytes_live, failed=c.failed,
                        elapsed_s=time.monotonic() - self._started_mono if self._started_mono else 0.0,
                        status=self.report.status if self.report else None,
                        workers=self.workers_alive,
                        passes=1 if self.spec.mode is Mode.verify_only else 2)

    def run(self) -> DrillReport:
        spec = self.spec
        checkpoint = Checkpoint(self.drill_dir)
        try:
            saved = checkpoint.load_spec()
            if saved is not None and saved != spec:
                raise ValueError(f"drill {self.drill_id} was started with a different spec "
                                 f"({saved.source} -> {saved.target}, {saved.mode.value})")
            checkpoint.save_spec(spec)
            run = checkpoint.begin_run()
            self._driller.sessions = checkpoint  # large objects' upload sessions, for resume
            started = datetime.now(timezone.utc)
            self._started_mono = time.monotonic()
            if self.history_at is not None:
                history.record_start(self.history_at, self.drill_id, spec, self.report_dir,
                                     started)
            self._state = "running"
            timeline = self._execute(checkpoint, run)
            finished = datetime.now(timezone.utc)
            duration = max(time.monotonic() - self._started_mono, 1e-6)
            cleanup = self._cleanup(checkpoint) if spec.cleanup else None
            self.report = self._build_report(checkpoint, run, started, finished, duration,
                                             timeline, cleanup)
            write_report(self.report, self.report_dir, checkpoint.verified_rows(run))
            if self.evidence is not None:
                attest(self.report_dir, self.report, self.evidence)
            if self.history_at is not None:
                history.record_finish(self.history_at, self.drill_id, self.report.status, finished,
                                      switch_eligible=self.report.switch_eligible)
            self._state = "finished"
            self._emit()
            return self.report
        finally:
            checkpoint.close()

    # ---- the run -----------------------------------------------------------------------------
    def _execute(self, checkpoint: Checkpoint, run: int) -> list[Sample]:
        spec = self.spec
        work: queue.Queue[ObjectInfo | None] = queue.Queue(maxsize=spec.concurrency * 4)
        if not self._prepare_buckets(checkpoint):
            self._inventory_done = True
            return []
        inventory = threading.Thread(target=self._inventory, args=(checkpoint, run, work),
                                     name=f"drill-{self.drill_id}-inventory", daemon=True)
        # The target is listed while the objects are drilled, not after: extras are those no
        # settled object accounts for, which only the checkpoint can say once all are settled.
        scan = threading.Thread(target=self._list_target, args=(checkpoint,),
                                name=f"drill-{self.drill_id}-target-listing", daemon=True)
        with self._executors(checkpoint, run, work) as workers:
            inventory.start()
            scan.start()
            for worker in workers:
                worker.start()
            timeline = self._watch(inventory, workers)
        scan.join()
        if self._inventory_complete and self._target_listed:
            self._extras_count, self._extras = checkpoint.extras(run, REPORT_LIST_LIMIT)
        return timeline

    @contextmanager
    def _executors(self, checkpoint: Checkpoint, run: int,
                   work: "queue.Queue[ObjectInfo | None]") -> Iterator[list[threading.Thread]]:
        """The threads that drill the objects: `concurrency` of them here, or one that hands
        batches to Dask workers (on a cluster that lives as long as the drill)."""
        if not self.execution.distributed:
            threads = [threading.Thread(target=self._worker, args=(checkpoint, run, work),
                                        name=f"drill-{self.drill_id}-w{i}", daemon=True)
                       for i in range(self.spec.concurrency)]
            self._workers_left = len(threads)
            yield threads
            return
        assert self.shipment is not None
        with distributed.cluster(self.execution, self.shipment.worker_env,
                                 self.shipment.modules) as client:
            self.workers_alive = distributed.worker_count(client)
            counted_at = time.monotonic()

            def workers() -> int:
                # Asking the scheduler is a round trip: once a second is enough to follow
                # workers that come and go, and costs nothing per batch at a million objects.
                nonlocal counted_at
                if time.monotonic() - counted_at >= 1.0:
                    self.workers_alive = distributed.worker_count(client)
                    counted_at = time.monotonic()
                return self.workers_alive

            def record(infos: list[ObjectInfo], results: list[Settled]) -> None:
                for info, settled in zip(infos, results):  # the checkpoint batches the commits
                    self._record(checkpoint, run, info, settled)
                    self._count_live(settled.bytes_copied + settled.bytes_read)

            def resume_for(info: ObjectInfo) -> UploadRecord | None:
                if info.size <= self.target.capabilities.max_single_put:
                    return None
                return checkpoint.resume_for(info.key)

            def reported(event: object) -> None:
                checkpoint.started(*distributed.session_reported(event))

            job = self.shipment.job
            client.subscribe_topic(job.sessions_topic, reported)

            def dispatcher() -> None:
                self._workers_left = 1
                try:
                    distributed.dispatch(client, job, work, record, workers, resume_for)
                except Exception as exc:  # noqa: BLE001 - the cluster failed: say so, end
                    self._errors.append(f"the Dask cluster failed: {type(exc).__name__}: {exc}")
                    while work.get() is not None:  # let the inventory finish
                        pass
                finally:
                    with self._c.lock:
                        self._workers_left = 0
                        self._all_done.set()

            yield [threading.Thread(target=dispatcher, name=f"drill-{self.drill_id}-dask",
                                    daemon=True)]

    def _watch(self, inventory: threading.Thread,
               workers: list[threading.Thread]) -> list[Sample]:
        """Sample progress until the inventory and every worker are done."""
        timeline: list[Sample] = [Sample(t=0.0, bytes=0)]
        interval, last_sample = 1.0, time.monotonic()
        while any(w.is_alive() for w in workers) or inventory.is_alive():
            # Wake at once when the workers are done, so a small drill does not wait a tick.
            self._all_done.wait(self.progress_interval)
            now = time.monotonic()
            if now - last_sample >= interval:
                timeline.append(Sample(t=round(now - self._started_mono, 3), bytes=self._c.bytes_live))
                last_sample = now
                if len(timeline) > _MAX_SAMPLES:  # long drills: halve the resolution
                    timeline = timeline[::2]
                    interval *= 2
            self._emit()
        timeline.append(Sample(t=round(time.monotonic() - self._started_mono, 3),
                               bytes=self._c.bytes_live))
        return timeline

    def _prepare_buckets(self, checkpoint: Checkpoint) -> bool:
        spec = self.spec
        try:
            if not self.retrier.call(lambda: self.source.bucket_exists(spec.source.bucket),
                                     spec.source.backend):
                self._errors.append(f"source bucket {spec.source} does not exist")
                return False
            if spec.mode is not Mode.verify_only and not self.retrier.call(
                    lambda: self.target.bucket_exists(spec.target.bucket), spec.target.backend):
                self.retrier.call(lambda: self.target.create_bucket(spec.target.bucket),
                                  spec.target.backend)
                # Remembered so that --cleanup removes the bucket too once it is empty again.
                checkpoint.set_info("created_bucket", True)
        except StorageError as exc:
            self._errors.append(f"cannot open the buckets: {exc}")
            return False
        return True

    def _inventory(self, checkpoint: Checkpoint, run: int,
                   work: "queue.Queue[ObjectInfo | None]") -> None:
        c = self._c
        try:
            for info in walk(self.source, self.spec.source.bucket, self.spec.source.prefix,
                             self.retrier, self.spec.source.backend):
                with c.lock:
                    c.total += 1
                    c.total_bytes += info.size
                if _unchanged_since(checkpoint.done(info.key), info):
                    checkpoint.touch(info.key, run)
                    with c.lock:
                        c.resumed += 1
                    continue
                work.put(info)
            self._inventory_complete = True
        except StorageError as exc:
            self._errors.append(f"listing the source {self.spec.source} failed after "
                                f"{c.total} objects: {exc}")
        except Exception as exc:  # noqa: BLE001 - any crash must still end the workers
            self._errors.append(f"inventory crashed: {type(exc).__name__}: {exc}")
        finally:
            self._inventory_done = True
            for _ in range(self.spec.concurrency):
                work.put(None)

    def _worker(self, checkpoint: Checkpoint, run: int,
                work: "queue.Queue[ObjectInfo | None]") -> None:
        try:
            while True:
                info = work.get()
                if info is None:
                    return
                self._settle(checkpoint, run, info)
        finally:
            with self._c.lock:
                self._workers_left -= 1
                if self._workers_left == 0:
                    self._all_done.set()

    def _settle(self, checkpoint: Checkpoint, run: int, info: ObjectInfo) -> None:
        """Drill one object in this thread and checkpoint how it settled; never raises."""
        target_key = self.spec.target_key(info.key)
        if self.spec.cleanup:
            # Known before verification, so that cleanup finds it if the drill dies right after.
            settled = self._driller.settle(info, on_written=lambda: checkpoint.mark_written(
                info.key, target_key, info.size, run))
        else:
            settled = self._driller.settle(info)
        self._record(checkpoint, run, info, settled)

    def _record(self, checkpoint: Checkpoint, run: int, info: ObjectInfo,
                settled: Settled) -> None:
        """The one place an object's outcome is written and counted (threads and Dask alike)."""
        status = settled.final_status
        checkpoint.record(info.key, self.spec.target_key(info.key), info.size, settled.sha256,
                          status=status, outcome=settled.outcome,
                          reason="; ".join(settled.problems) or None, run=run, etag=info.etag,
                          wrote=settled.wrote)
        with self._c.lock:
            self._c.bytes_copied += settled.bytes_copied
            self._c.bytes_read += settled.bytes_read
            kind = settled.outcome
            if kind == "failed":
                self._c.failed += 1
            elif kind == "copied":
                self._c.copied += 1
            elif kind == "skipped":
                self._c.skipped += 1
            else:
                self._c.compared += 1
            if status == "unverified":
                self._c.not_read_back += 1
            if settled.encrypted:
                self._c.encrypted += 1
            if settled.decrypted:
                self._c.decrypted += 1

    def _count_live(self, n: int) -> None:
        with self._c.lock:
            self._c.bytes_live += n

    def _list_target(self, checkpoint: Checkpoint) -> None:
        """List the target under the drill's prefix into the checkpoint (page by page: memory
        stays flat for any bucket)."""
        spec = self.spec
        cut = len(spec.target.prefix)
        checkpoint.clear_target_listing()
        page: list[tuple[str, str]] = []
        try:
            for info in walk(self.target, spec.target.bucket, spec.target_scan_prefix,
                             self.retrier, spec.target.backend):
                page.append((info.key[cut:], info.key))
                if len(page) >= _LISTING_BATCH:
                    checkpoint.add_target_keys(page)
                    page = []
            checkpoint.add_target_keys(page)
            self._target_listed = True
        except NotFound:
            self._target_listed = True  # no target bucket: nothing extra
        except StorageError as exc:
            self._errors.append(f"listing the target for extra objects failed: {exc}")
        except Exception as exc:  # noqa: BLE001 - say it in the report, never hang the drill
            self._errors.append(f"listing the target crashed: {type(exc).__name__}: {exc}")

    def _cleanup(self, checkpoint: Checkpoint) -> dict[str, int | str]:
        """Delete exactly the objects this drill wrote (and the bucket if it created it)."""
        self._state = "cleaning"
        self._emit()
        deleted = failed = 0
        last_error = ""
        for target_key in list(checkpoint.written_target_keys()):
            try:
                self.retrier.call(lambda: self.target.delete(self.spec.target.bucket, target_key),
                                  self.spec.target.backend)
                checkpoint.unmark_written(target_key)
                deleted += 1
            except StorageError as exc:
                failed += 1
                last_error = str(exc)
        result: dict[str, int | str] = {"deleted": deleted, "failed": failed}
        if last_error:
            result["last_error"] = last_error
        if checkpoint.get_info("created_bucket") and not failed:
            try:
                self.target.delete_bucket(self.spec.target.bucket)
                result["bucket_deleted"] = 1
            except StorageError as exc:  # e.g. someone else wrote into it meanwhile
                result["bucket_kept"] = str(exc)
        if failed:
            self._errors.append(f"cleanup could not delete {failed} object(s) the drill wrote: "
                                f"{last_error}")
        return result

    # ---- report ------------------------------------------------------------------------------
    def _build_report(self, checkpoint: Checkpoint, run: int, started: datetime,
                      finished: datetime, duration: float, timeline: list[Sample],
                      cleanup: dict[str, int | str] | None) -> DrillReport:
        spec, c = self.spec, self._c
        failures = [Failure(key="", reason=e) for e in self._errors]
        failures += [Failure(key=k, reason=r)
                     for k, r in checkpoint.failures(run, REPORT_LIST_LIMIT)]
        settled = c.copied + c.skipped + c.compared + c.resumed + c.failed
        verified = settled - c.failed - c.not_read_back
        if self._inventory_complete and settled != c.total:
            failures.append(Failure(key="", reason=f"{c.total - settled} object(s) were listed "
                                                   "but never settled"))
        # One definition of throughput everywhere (CLI, report.json, report.html, the chart's
        # average): bytes moved (copied; read, in verify-only) over the drill's wall duration.
        moved = c.bytes_copied if spec.mode is not Mode.verify_only else c.bytes_read
        throughput = moved / duration
        rate = choose_rate(spec.mode.value, c.bytes_copied, c.bytes_read, duration,
                           self._earlier_full_rate)
        projection = project(c.total_bytes, rate.bytes_per_s, self.price, self.price_note,
                             rate.basis)
        passed = (not failures and c.failed == 0 and self._inventory_complete)
        return DrillReport(
            id=self.drill_id, name=spec.name, status="passed" if passed else "failed",
            source=str(spec.source), target=str(spec.target), mode=spec.mode,
            concurrency=spec.concurrency, started=started, finished=finished,
            duration_s=round(duration, 3),
            objects=ObjectCounts(total=c.total, copied=c.copied, skipped=c.skipped,
                                 resumed=c.resumed, verified=verified,
                                 not_read_back=c.not_read_back, failed=c.failed),
            bytes=ByteCounts(total=c.total_bytes, copied=c.bytes_copied, verified_read=c.bytes_read),
            throughput_bytes_per_s=round(throughput, 1), failures=failures,
            extra_in_target=self._extras, extra_in_target_count=self._extras_count,
            projection=projection, timeline=timeline, cleanup=cleanup, runs=run,
            switch_eligible=passed and c.not_read_back == 0,
            not_read_back_keys=checkpoint.keys_with_status("unverified", run, REPORT_LIST_LIMIT),
            encryption=EncryptionNote.of(c.encrypted, c.decrypted),
            evidence=evidence_of(self.evidence),
            source_place=place_of(self.evidence.source) if self.evidence else None,
            target_place=place_of(self.evidence.target) if self.evidence else None,
            provenance=provenance_of(self.evidence) if self.evidence else {})

    def _earlier_full_rate(self) -> tuple[str, str, float] | None:
        if self.history_at is None:
            return None
        return history.last_full_copy_rate(self.history_at, self.spec)

    def _emit(self) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(self.snapshot())
            except Exception:  # noqa: BLE001 - a broken progress display must not stop a drill
                pass


def _unchanged_since(done: tuple[int, str | None, str | None] | None, info: ObjectInfo) -> bool:
    """Whether a source object verified by an earlier run is still the one listed now. Listings
    of S3-like stores carry no SHA-256: their ETag tells a rewrite of the same size."""
    if done is None:
        return False
    size, sha256, etag = done
    return (size == info.size and (info.sha256 is None or sha256 == info.sha256)
            and (info.etag is None or etag is None or etag == info.etag))
