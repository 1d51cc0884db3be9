"""Drills between real servers: local -> SeaweedFS -> Azurite -> Swift -> local, each with empty
objects, awkward names, user metadata and a 40 MiB object that the target writes through its
multipart path (the rigs' `multipart_store`: small parts/blocks/segments); then verify-only.
Also: corruption in an S3 target, a target server stopped in the middle of a drill."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from adapters.contract import ObjectStore
from adapters.local.store import LocalStore
from exit_drills.engine import DrillEngine, Snapshot
from exit_drills.spec import Mode
from tests.conftest import empty_and_delete
from tests.rigs import Rig

from .helpers import METADATA, payload, run_engine, seed_dataset, spec

PAIRS = [("local", "s3_seaweedfs"), ("s3_seaweedfs", "azure_azurite"),
         ("azure_azurite", "swift"), ("swift", "local")]


@pytest.fixture
def buckets() -> Iterator[list[tuple[ObjectStore, str]]]:
    """Buckets to empty and delete after the test, whatever happens."""
    made: list[tuple[ObjectStore, str]] = []
    yield made
    for store, name in made:
        empty_and_delete(store, name)


def _stores(kind: str, request: pytest.FixtureRequest, tmp_path: Path
            ) -> tuple[ObjectStore, ObjectStore]:
    """(store to read from, store to write with: small parts so 40 MiB goes multipart)."""
    if kind == "local":
        store = LocalStore("local", tmp_path / f"local-{uuid.uuid4().hex[:6]}")
        return store, store
    rig: Rig = request.getfixturevalue(f"rig_{kind}")
    return rig.store, rig.multipart_store or rig.store


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("source_kind, target_kind", PAIRS,
                         ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_drill_between_backends(source_kind: str, target_kind: str, request: pytest.FixtureRequest,
                                tmp_path: Path, buckets: list[tuple[ObjectStore, str]]) -> None:
    source, _ = _stores(source_kind, request, tmp_path)
    _, target = _stores(target_kind, request, tmp_path)
    sb, tb = _name("drill-src"), _name("drill-dst")
    buckets += [(source, sb), (target, tb)]
    sizes = seed_dataset(source, sb, big=True)
    report = run_engine(spec(f"{source_kind.replace('_', '-')}:{sb}",
                             f"{target_kind.replace('_', '-')}:{tb}"), source, target, tmp_path)
    assert report.status == "passed", report.failures
    assert report.objects.copied == report.objects.verified == len(sizes)
    assert report.bytes.copied == report.bytes.verified_read == sum(sizes.values())
    for key in ("with space.txt", "hash#tag", "100% sure", "ünïcødé/文件.bin"):
        info = target.head(tb, key)
        assert info.metadata == METADATA, key
        assert info.content_type == "text/plain; charset=utf-8"
    assert target.head(tb, "large/forty-mib.bin").size == sizes["large/forty-mib.bin"]
    assert target.head(tb, "empty-0").size == 0
    check = run_engine(spec(f"s:{sb}", f"t:{tb}", Mode.verify_only), source, target, tmp_path)
    assert check.status == "passed", check.failures
    assert check.objects.verified == len(sizes) and check.objects.copied == 0


def test_corrupt_s3_target_fails_verify_only(request: pytest.FixtureRequest, tmp_path: Path,
                                             buckets: list[tuple[ObjectStore, str]]) -> None:
    rig: Rig = request.getfixturevalue("rig_s3_seaweedfs")
    source = LocalStore("local", tmp_path / "local")
    sb, tb = _name("corrupt-src"), _name("corrupt-dst")
    buckets += [(source, sb), (rig.store, tb)]
    seed_dataset(source, sb, big=False)
    assert run_engine(spec(f"local:{sb}", f"sw:{tb}"), source, rig.store, tmp_path).status == "passed"
    client = rig.extras["client"]()
    head = client.head_object(Bucket=tb, Key="small/002")  # type: ignore[attr-defined]
    original = source.get(sb, "small/002").read()
    # Same size, same metadata (the recorded sortie SHA-256 included), different bytes.
    client.put_object(Bucket=tb, Key="small/002", Body=bytes(b ^ 0xFF for b in original),  # type: ignore[attr-defined]
                      ContentType=head["ContentType"], Metadata=head["Metadata"])
    report = run_engine(spec(f"local:{sb}", f"sw:{tb}", Mode.verify_only), source, rig.store,
                        tmp_path)
    assert report.status == "failed"
    assert [f.key for f in report.failures] == ["small/002"]
    assert "SHA-256" in report.failures[0].reason


def test_target_stopped_mid_drill_fails_clearly_then_resume_completes(
        request: pytest.FixtureRequest, tmp_path: Path,
        buckets: list[tuple[ObjectStore, str]]) -> None:
    rig: Rig = request.getfixturevalue("rig_swift")
    server = rig.extras["server"]()
    source = LocalStore("local", tmp_path / "local")
    sb, tb = _name("stop-src"), _name("stop-dst")
    buckets += [(source, sb), (rig.store, tb)]
    source.create_bucket(sb)
    total = 80
    for i in range(total):
        source.put(sb, f"obj/{i:04d}", payload(str(i), 64 * 1024), content_type="text/plain")
    stopped = threading.Event()

    def stop_midway(snap: Snapshot) -> None:
        if not stopped.is_set() and snap.objects_settled >= 10:
            stopped.set()
            server.stop()

    drill = spec(f"local:{sb}", f"swift:{tb}", concurrency=4)
    folder = tmp_path / "drills" / "stopped"
    engine = DrillEngine(drill, source, rig.store, drill_dir=folder, drill_id="stopped",
                         state_dir=tmp_path, on_progress=stop_midway, progress_interval=0.05)
    try:
        report = engine.run()
    finally:
        server.start()
    assert stopped.is_set()
    assert report.status == "failed"
    # Bounded: the breaker stops retrying a dead backend object after object.
    assert report.duration_s < 60
    assert 10 <= report.objects.verified < total
    assert report.objects.failed == total - report.objects.verified
    reasons = {f.reason for f in report.failures}
    assert all("failed" in r and ("TransientError" in r or "connect" in r.lower()) for r in reasons), reasons
    done = report.objects.verified
    resumed = run_engine(drill, source, rig.store, tmp_path, drill_id="stopped")
    assert resumed.status == "passed", resumed.failures
    assert resumed.objects.resumed == done and resumed.objects.copied == total - done


def test_resume_copies_again_a_source_object_rewritten_with_the_same_size(
        request: pytest.FixtureRequest, tmp_path: Path,
        buckets: list[tuple[ObjectStore, str]]) -> None:
    """S3 listings carry no SHA-256: a resumed drill must not take a rewritten object (same
    size, other bytes) for the one it verified before. The source's ETag tells them apart."""
    source, _ = _stores("s3_seaweedfs", request, tmp_path)
    target = LocalStore("local", tmp_path / "target")
    sb, tb = _name("drill-src"), _name("drill-dst")
    buckets += [(source, sb)]
    source.create_bucket(sb)
    for i in range(6):
        source.put(sb, f"scan-{i}", payload(f"scan-{i}", 1000))
    drill = spec(f"s3-seaweedfs:{sb}", f"local:{tb}")
    first = run_engine(drill, source, target, tmp_path, drill_id="same-drill")
    assert first.status == "passed" and first.objects.copied == 6

    rewritten = bytes(reversed(payload("scan-2", 1000)))
    source.put(sb, "scan-2", rewritten)
    again = run_engine(drill, source, target, tmp_path, drill_id="same-drill")

    assert again.status == "passed", again.failures
    assert (again.objects.copied, again.objects.resumed) == (1, 5)
    assert target.get(tb, "scan-2").read() == rewritten
