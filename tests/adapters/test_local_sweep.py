"""The local sweep removes exactly the bytes interrupted operations left, never an object's.

The crash states are made on the real disk and index the way a killed process leaves them: a
file in tmp/, a blob whose row was deleted but whose unlink never ran, a half-removed bucket.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.local.store import LocalStore
from adapters.local.sweep import sweep
from service.cli import app

LATER = 10 * 24 * 3600.0  # "now" for the sweep: everything on disk is old by then


def _blob_of(root: Path, bucket: str, key: str) -> Path:
    with sqlite3.connect(root / bucket / "index.sqlite3") as db:
        blob = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()[0]
    return root / bucket / "blobs" / blob[:2] / blob


def _forget_row(root: Path, bucket: str, key: str) -> Path:
    """A delete killed after its index commit and before its unlink: the bytes stay."""
    blob = _blob_of(root, bucket, key)
    with sqlite3.connect(root / bucket / "index.sqlite3") as db:
        db.execute("DELETE FROM objects WHERE key = ?", (key,))
    return blob


def test_orphans_go_and_every_object_stays(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    for bucket in ("scans", "reports"):
        store.create_bucket(bucket)
    # Enough objects to spread over many shard folders, so the ordered merge is exercised.
    for i in range(300):
        store.put("scans", f"study/{i:04d}.dcm", f"scan {i}".encode())
    store.put("reports", "r1", b"report")
    deleted = [f"study/{i:04d}.dcm" for i in range(0, 300, 7)]
    orphans = [_forget_row(tmp_path, "scans", key) for key in deleted]
    unfinished = tmp_path / "scans" / "tmp" / "0123abcd"
    unfinished.write_bytes(b"half an upload")
    trash = tmp_path / ".trash-old-bucket-1234"
    (trash / "blobs").mkdir(parents=True)
    (trash / "blobs" / "x").write_bytes(b"left by a bucket delete")

    report = sweep(store, 3600, now=time.time() + LATER)

    assert report.files == len(orphans) + 1 and report.trash_folders == 1
    assert report.bytes == sum(len(f"scan {int(k[6:10])}") for k in deleted) + len(b"half an upload")
    assert not any(p.exists() for p in orphans) and not unfinished.exists() and not trash.exists()
    kept = {o.key for o in store.iter_objects("scans")}
    assert len(kept) == 300 - len(deleted)
    for key in kept:
        assert store.get("scans", key).read() == f"scan {int(key[6:10])}".encode()
    assert store.get("reports", "r1").read() == b"report"
    assert sweep(store, 3600, now=time.time() + LATER).files == 0  # nothing left to find


def test_recent_files_are_left_alone(tmp_path: Path) -> None:
    """Within the age limit nothing goes: a put writing its tmp file, a blob renamed or
    hard-linked (copy) just before its commit."""
    store = LocalStore("local", tmp_path)
    store.create_bucket("scans")
    store.put("scans", "a", b"aaa")
    old_orphan = _forget_row(tmp_path, "scans", "a")
    store.put("scans", "b", b"bbb")
    time.sleep(1.5)
    # A copy about to commit: a fresh hard link to an existing blob. The link shares the old
    # file's mtime, but linking changed the inode's ctime, which the sweep also looks at.
    linked = tmp_path / "scans" / "blobs" / "ff" / "ffcopyinprogress"
    linked.parent.mkdir(exist_ok=True)
    os.link(_blob_of(tmp_path, "scans", "b"), linked)
    writing = tmp_path / "scans" / "tmp" / "uploading"
    writing.write_bytes(b"in progress")

    report = sweep(store, older_than=1.0)

    assert report.paths == [old_orphan]
    assert linked.exists() and writing.exists()
    assert store.get("scans", "b").read() == b"bbb"


def test_dry_run_removes_nothing(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    store.create_bucket("scans")
    store.put("scans", "a", b"aaa")
    orphan = _forget_row(tmp_path, "scans", "a")
    report = sweep(store, 3600, dry_run=True, now=time.time() + LATER)
    assert report.paths == [orphan] and orphan.exists()


def test_cli_sweeps_a_local_backend_and_refuses_others(tmp_path: Path) -> None:
    config = tmp_path / "sortie.yaml"
    config.write_text("backends:\n"
                      "  disk: {type: local, path: data}\n"
                      "  cloud: {type: azure, connection_string: '${NOT_USED}'}\n")
    store = LocalStore("disk", tmp_path / "data")
    store.create_bucket("scans")
    store.put("scans", "a", b"aaa")
    orphan = _forget_row(tmp_path / "data", "scans", "a")
    runner = CliRunner()
    env = {"NOT_USED": "UseDevelopmentStorage=true"}

    dry = runner.invoke(app, ["backends", "sweep", "disk", "--config", str(config),
                              "--older-than-hours", "0", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"would remove {orphan}" in dry.output and orphan.exists()
    done = runner.invoke(app, ["backends", "sweep", "disk", "--config", str(config),
                               "--older-than-hours", "0"], env=env)
    assert done.exit_code == 0, done.output
    assert "disk: 1 orphan file(s), 3 bytes" in done.output and not orphan.exists()

    refused = runner.invoke(app, ["backends", "sweep", "cloud", "--config", str(config)], env=env)
    assert refused.exit_code == 2 and "not local" in refused.output
    missing = runner.invoke(app, ["backends", "sweep", "nope", "--config", str(config)], env=env)
    assert missing.exit_code == 2 and "no backend named 'nope'" in missing.output


@pytest.mark.parametrize("hours", ["-1", "soon"])
def test_cli_rejects_a_bad_age(tmp_path: Path, hours: str) -> None:
    config = tmp_path / "sortie.yaml"
    config.write_text("backends:\n  disk: {type: local, path: data}\n")
    result = CliRunner().invoke(app, ["backends", "sweep", "disk", "--config", str(config),
                                      "--older-than-hours", hours])
    assert result.exit_code == 2 and "--older-than-hours" in result.output


def test_abandoned_upload_sessions_go_and_fresh_ones_stay(tmp_path: Path) -> None:
    import hashlib

    store = LocalStore("local", tmp_path)
    store.create_bucket("scans")
    digest = hashlib.sha256(b"ab").hexdigest()
    old = store.start_upload("scans", "old", sha256=digest)
    store.upload_part("scans", "old", old, 1, b"a")
    fresh = store.start_upload("scans", "fresh", sha256=digest)
    store.upload_part("scans", "fresh", fresh, 1, b"a")
    # Age the first session's files; the second stays recent.
    old_folder = next(f for f in (tmp_path / "scans" / "uploads").iterdir()
                      if (f / "upload.json").read_text().find('"old"') >= 0)
    for path in [old_folder, *old_folder.iterdir()]:
        os.utime(path, (time.time() - 2 * 3600, time.time() - 2 * 3600))

    report = sweep(store, 3600)

    assert report.upload_sessions == 1 and not old_folder.exists()
    store.upload_part("scans", "fresh", fresh, 2, b"b")
    parts = store.list_parts("scans", "fresh", fresh)
    assert store.complete_upload("scans", "fresh", fresh, parts, sha256=digest).size == 2
