"""A drill over a synthetic source (bytes derived from each key, never stored) into a discard
target that checks what it receives: the checkpoint and manifest stay consistent and the
coordinator's memory stays flat. `python -m bench million` runs the same at 1,000,000 objects."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psutil

from bench import synthetic
from bench.synthetic import DiscardStore, SyntheticStore, key_of, sha_of
from exit_drills.distributed import BatchJob, Execution, Shipment
from exit_drills.engine import DrillEngine
from exit_drills.spec import DrillSpec, Endpoint

COUNT = 20_000
SIZE = 256


def test_a_large_synthetic_drill_stays_consistent_and_flat(tmp_path: Path) -> None:
    source = SyntheticStore("synthetic", "dataset", COUNT, SIZE)
    target = DiscardStore("discard", SIZE)
    spec = DrillSpec(source=Endpoint(backend="synthetic", bucket="dataset"),
                     target=Endpoint(backend="discard", bucket="dataset"), concurrency=8)
    before = psutil.Process().memory_info().rss
    report = DrillEngine(spec, source, target, drill_dir=tmp_path / "drill",
                         state_dir=tmp_path / "state").run()
    grown = psutil.Process().memory_info().rss - before
    assert report.status == "passed", report.failures[:3]
    assert report.objects.total == report.objects.verified == target.received == COUNT
    assert report.bytes.copied == report.bytes.verified_read == COUNT * SIZE
    db = sqlite3.connect(tmp_path / "drill" / "checkpoint.sqlite3")
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM objects WHERE status = "
                      "'verified'").fetchone() == (COUNT, COUNT)
    db.close()
    lines = (tmp_path / "drill" / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == COUNT
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    assert first == {"key": key_of(0), "size": SIZE, "sha256": sha_of(key_of(0), SIZE)}
    assert last["key"] == key_of(COUNT - 1)
    # Nothing per object stays in memory: 20,000 objects cost far less than 60 MiB.
    assert grown < 60 * 1024 * 1024, grown


def test_a_synthetic_drill_on_dask_workers_checkpoints_every_object_once(tmp_path: Path) -> None:
    """The same stores built in 2 Dask worker processes (BatchJob.build): every object settles
    once in the coordinator's checkpoint and manifest, whatever worker drilled it."""
    count = 5_000
    source = SyntheticStore("synthetic", "dataset", count, SIZE)
    target = DiscardStore("discard", SIZE)
    spec = DrillSpec(source=Endpoint(backend="synthetic", bucket="dataset"),
                     target=Endpoint(backend="discard", bucket="dataset"), concurrency=4)
    job = BatchJob(spec, synthetic.shipped(source), synthetic.shipped(target), str(tmp_path), 2,
                   "sortie-test-synthetic", build=synthetic.build)
    report = DrillEngine(spec, source, target, drill_dir=tmp_path / "drill",
                         state_dir=tmp_path / "state", execution=Execution(workers=2),
                         shipment=Shipment(job)).run()
    assert report.status == "passed", report.failures[:3]
    assert report.objects.total == report.objects.verified == count
    assert report.bytes.copied == report.bytes.verified_read == count * SIZE
    assert target.received == 0  # the coordinator's own target saw nothing: the workers did
    db = sqlite3.connect(tmp_path / "drill" / "checkpoint.sqlite3")
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM objects WHERE status = "
                      "'verified'").fetchone() == (count, count)
    db.close()
    keys = [json.loads(line)["key"]
            for line in (tmp_path / "drill" / "manifest.jsonl").read_text().splitlines()]
    assert sorted(keys) == [key_of(i) for i in range(count)]


def _steps_to_read_back(folder: Path, rows: int) -> tuple[int, int]:
    """SQLite virtual-machine steps (counted in thousands) to page through a checkpoint of
    `rows` settled objects in key order: the manifest's rows, then the cleanup's keys."""
    from exit_drills.checkpoint import Checkpoint

    checkpoint = Checkpoint(folder)
    for i in range(rows):
        checkpoint.record(key_of(i), key_of(i), SIZE, sha_of(key_of(i), SIZE), status="verified",
                          outcome="copied", reason=None, run=1, wrote=True)
    checkpoint.flush()
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    # Reaching into the checkpoint's connection: the work its queries do is what is measured.
    checkpoint._db.set_progress_handler(count, 1000)
    assert sum(1 for _ in checkpoint.verified_rows(1)) == rows
    manifest, steps[0] = steps[0], 0
    assert sum(1 for _ in checkpoint.written_target_keys()) == rows
    checkpoint.close()
    return manifest, steps[0]


def test_reading_a_checkpoint_back_costs_the_same_per_object_at_any_size(tmp_path: Path) -> None:
    """The manifest and the cleanup page through the checkpoint in key order, 1,000 rows a
    query: each page must start where the last one ended, not scan from the first key again
    (which made a 300,000-object drill's manifest take 7 s, and would make 100 million never
    end)."""
    small = _steps_to_read_back(tmp_path / "small", 6_000)
    large = _steps_to_read_back(tmp_path / "large", 18_000)
    for few, many in zip(small, large):
        # Three times the rows: three times the work (a scan from the start of every page
        # tends to nine times; measured 6.6 at these sizes).
        assert many < 4 * few, (small, large)
