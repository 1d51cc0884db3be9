"""Drills between two local-disk backends: every engine behaviour, fast and on real disks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from adapters.config import LocalBackend
from adapters.local.store import LocalStore
from exit_drills import history
from exit_drills.spec import Mode

from .helpers import AWKWARD, METADATA, corrupt_local, run_engine, seed_dataset, spec


@pytest.fixture
def pair(tmp_path: Path) -> tuple[LocalStore, LocalStore]:
    return LocalStore("src", tmp_path / "src"), LocalStore("dst", tmp_path / "dst")


def test_full_then_verify_only(pair: tuple[LocalStore, LocalStore], tmp_path: Path) -> None:
    source, target = pair
    sizes = seed_dataset(source, "data", big=True)
    report = run_engine(spec("src:data", "dst:copy"), source, target, tmp_path,
                        source_settings=LocalBackend(type="local", path=source.root))
    assert report.status == "passed", report.failures
    assert report.objects.total == len(sizes) == report.objects.copied == report.objects.verified
    assert report.bytes.total == sum(sizes.values()) == report.bytes.copied
    assert report.bytes.verified_read == report.bytes.copied  # every byte was read back
    for key in AWKWARD:
        info = target.head("copy", key)
        assert info.metadata == METADATA and info.content_type == "text/plain; charset=utf-8"
        assert info.sha256 == source.head("data", key).sha256
    folder = tmp_path / "drills" / report.id
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert [m["key"] for m in manifest] == sorted(sizes, key=lambda k: k.encode())
    assert {m["key"]: m["size"] for m in manifest} == sizes
    html = (folder / "report.html").read_text()
    assert "PASSED" in html and "<svg" in html
    saved = json.loads((folder / "report.json").read_text())
    assert saved["status"] == "passed" and saved["projection"]["fits"] is True
    assert saved["projection"]["egress_cost"] == 0.0  # local disk: a known zero, with its reason
    again = run_engine(spec("src:data", "dst:copy", Mode.verify_only), source, target, tmp_path)
    assert again.status == "passed" and again.objects.copied == 0
    assert again.objects.verified == len(sizes)
    # Nothing copied: the projection rests on the read rate, and says so.
    assert again.projection.fits is True
    assert again.projection.throughput_basis.startswith("read throughput of this verify-only")


def test_corrupt_target_fails_verify_only_naming_the_key(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    assert run_engine(spec("src:data", "dst:copy"), source, target, tmp_path).status == "passed"
    corrupt_local(target, "copy", "hash#tag")
    report = run_engine(spec("src:data", "dst:copy", Mode.verify_only), source, target, tmp_path)
    assert report.status == "failed"
    assert [f.key for f in report.failures] == ["hash#tag"]
    assert "SHA-256" in report.failures[0].reason
    assert report.objects.failed == 1 and report.objects.verified == report.objects.total - 1


def test_corrupt_source_is_refused_and_named(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    corrupt_local(source, "data", "100% sure")
    report = run_engine(spec("src:data", "dst:copy"), source, target, tmp_path)
    assert report.status == "failed"
    assert [f.key for f in report.failures] == ["100% sure"]
    assert "source copy is corrupt" in report.failures[0].reason
    # Nothing was stored for it: the target's ingest refused the announced hash.
    assert "100% sure" not in {i.key for i in target.iter_objects("copy")}


def test_missing_and_extra_objects(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    assert run_engine(spec("src:data", "dst:copy"), source, target, tmp_path).status == "passed"
    target.delete("copy", "small/001")
    target.put("copy", "not-in-source", b"stray")
    report = run_engine(spec("src:data", "dst:copy", Mode.verify_only), source, target, tmp_path)
    assert report.status == "failed"
    assert [f.key for f in report.failures] == ["small/001"]
    assert "missing in target" in report.failures[0].reason
    assert report.extra_in_target == ["not-in-source"]


def test_metadata_change_in_target_is_a_difference(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    run_engine(spec("src:data", "dst:copy"), source, target, tmp_path)
    body = target.get("copy", "with space.txt").read()
    target.put("copy", "with space.txt", body, content_type="text/plain; charset=utf-8",
               metadata={**METADATA, "Owner": "someone else"})
    report = run_engine(spec("src:data", "dst:copy", Mode.verify_only), source, target, tmp_path)
    assert [f.key for f in report.failures] == ["with space.txt"]
    assert "metadata differs" in report.failures[0].reason and "Owner" in report.failures[0].reason


def test_incremental_copies_exactly_the_new_objects(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    first = run_engine(spec("src:data", "dst:copy", Mode.incremental), source, target, tmp_path)
    assert first.status == "passed" and first.objects.copied == first.objects.total
    for i in range(3):
        source.put("data", f"new/{i}", f"new {i}".encode())
    second = run_engine(spec("src:data", "dst:copy", Mode.incremental), source, target, tmp_path)
    assert second.status == "passed"
    assert second.objects.copied == 3
    assert second.objects.skipped == first.objects.total
    assert second.objects.verified == first.objects.total + 3


def test_prefix_and_target_prefix_keep_keys_whole(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False, extra=4)
    report = run_engine(spec("src:data/small/", "dst:copy/rehearsal/"), source, target, tmp_path)
    assert report.status == "passed" and report.objects.total == 4
    assert sorted(i.key for i in target.iter_objects("copy")) == [
        f"rehearsal/small/{i:03d}" for i in range(4)]


def test_cleanup_deletes_only_what_the_drill_wrote(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    target.create_bucket("copy")
    target.put("copy", "kept-by-owner", b"not the drill's")
    report = run_engine(spec("src:data", "dst:copy", cleanup=True), source, target, tmp_path)
    assert report.status == "passed"
    assert report.cleanup == {"deleted": report.objects.copied, "failed": 0}
    assert [i.key for i in target.iter_objects("copy")] == ["kept-by-owner"]


def test_cleanup_removes_a_bucket_the_drill_created(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    report = run_engine(spec("src:data", "dst:fresh", cleanup=True), source, target, tmp_path)
    assert report.status == "passed" and report.cleanup["bucket_deleted"] == 1
    assert not target.bucket_exists("fresh")


def test_missing_source_bucket_fails_clearly(pair, tmp_path: Path) -> None:
    source, target = pair
    report = run_engine(spec("src:nothing", "dst:copy"), source, target, tmp_path)
    assert report.status == "failed"
    assert "source bucket src:nothing does not exist" in report.failures[0].reason


def test_history_and_latest_passed_drill(pair, tmp_path: Path) -> None:
    source, target = pair
    seed_dataset(source, "data", big=False)
    assert history.latest_passed_drill(tmp_path, "src", "data", "dst") is None
    ok = run_engine(spec("src:data", "dst:copy"), source, target, tmp_path)
    run_engine(spec("src:data/small/", "dst:other"), source, target, tmp_path)  # a prefix only
    run_engine(spec("src:data", "dst:gone", cleanup=True), source, target, tmp_path)  # cleaned up
    latest = history.latest_passed_drill(tmp_path, "src", "data", "dst")
    assert latest is not None
    assert latest["id"] == ok.id and latest["target_bucket"] == "copy" and latest["finished"]
    assert history.latest_passed_drill(tmp_path, "src", "data", "elsewhere") is None
    corrupt_local(target, "copy", "hash#tag")
    failed = run_engine(spec("src:data", "dst:copy", Mode.verify_only), source, target, tmp_path)
    assert failed.status == "failed"
    assert history.latest_passed_drill(tmp_path, "src", "data", "dst")["id"] == ok.id
    assert [r["id"] for r in history.list_drills(tmp_path)][0] == failed.id


def test_checkpoint_from_before_the_etag_column_still_resumes(tmp_path: Path) -> None:
    """A drill checkpointed by an older Sortie (no etag column) is resumed, not refused."""

    from exit_drills.checkpoint import FILE_NAME, Checkpoint

    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.executescript(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE objects (key TEXT PRIMARY KEY, target_key TEXT NOT NULL, "
            "size INTEGER NOT NULL, sha256 TEXT, status TEXT NOT NULL, outcome TEXT NOT NULL, "
            "reason TEXT, wrote INTEGER NOT NULL DEFAULT 0, run INTEGER NOT NULL) WITHOUT ROWID;"
            "INSERT INTO objects VALUES ('old', 'old', 3, NULL, 'verified', 'copied', NULL, 0, 1);")
    checkpoint = Checkpoint(tmp_path)
    try:
        assert checkpoint.done("old") == (3, None, None)
        checkpoint.record("new", "new", 5, "ab" * 32, status="verified", outcome="copied",
                          reason=None, run=2, etag="e1")
        checkpoint.flush()  # records are committed in batches
        assert checkpoint.done("new") == (5, "ab" * 32, "e1")
    finally:
        checkpoint.close()


def test_history_written_before_switch_eligibility_is_migrated(tmp_path: Path) -> None:
    """Full and verify-only drills always read everything back; incremental ones did not read
    back what they skipped, so an old incremental drill cannot carry the switch."""
    folder = history.drills_dir(tmp_path)
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / history.FILE_NAME)
    db.executescript(history._SCHEMA.replace(
        ",\n    -- 1: passed with every object read back, so the exit switch may follow it\n"
        "    switch_eligible INTEGER NOT NULL DEFAULT 0", ""))
    for drill_id, mode in (("old-full", "full"), ("old-incr", "incremental")):
        db.execute("INSERT INTO drills VALUES (?, 'n', 'a', 'b', '', 'c', 'b', '', ?, 0, "
                   "'passed', '2026-01-01T00:00:00+00:00', '2026-01-01T00:01:00+00:00', 'r')",
                   (drill_id, mode))
    db.commit()
    db.close()
    assert history.get(tmp_path, "old-full")["switch_eligible"] == 1  # type: ignore[index]
    assert history.get(tmp_path, "old-incr")["switch_eligible"] == 0  # type: ignore[index]


def test_progress_ends_with_every_pass_counted(pair, tmp_path: Path) -> None:
    """A finished drill's progress counts each byte copied and read back (2 passes); threads
    counted the copy only, so a finished drill showed half its bytes done."""
    from exit_drills.engine import DrillEngine

    source, target = pair
    sizes = seed_dataset(source, "data", big=True)
    seen = []
    engine = DrillEngine(spec("src:data", "dst:copy"), source, target,
                         drill_dir=tmp_path / "drills" / "p", state_dir=tmp_path,
                         on_progress=seen.append)
    assert engine.run().status == "passed"
    last = seen[-1]
    assert last.status == "passed" and last.passes == 2
    assert last.bytes_seen == sum(sizes.values())
    assert last.bytes_done == 2 * last.bytes_seen
