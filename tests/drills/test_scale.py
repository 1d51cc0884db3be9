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
