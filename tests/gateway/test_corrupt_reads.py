"""A GET never completes with bytes that do not match the SHA-256 recorded at ingest: the last
chunk is held back until the digest is checked. A large body is cut short (curl exits 18, a
truncated transfer); a small one, checked before anything is sent, is answered 502. Each refusal
is counted in a metric, audited and logged. Ranged reads cannot be checked and pass through."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

from .live import LiveGateway
from .test_objects import assert_problem, url


def _damage(root: Path, bucket: str, key: str, offset: int) -> None:
    db = sqlite3.connect(root / bucket / "index.sqlite3")
    blob = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()[0]
    db.close()
    path = root / bucket / "blobs" / blob[:2] / blob
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


def _corrupt_reads(live: LiveGateway) -> float:
    text = live.client.get("/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sortie_corrupt_reads_total{"))


def test_a_damaged_large_object_is_cut_short(live_local: LiveGateway, tmp_path: Path) -> None:
    live = live_local
    bucket = live.new_bucket()
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)  # 3 MiB: streamed
    assert live.client.put(url(bucket, "scan.dcm"), content=data).status_code == 200
    before = _corrupt_reads(live)
    _damage(live.config.base_dir / "main", bucket, "scan.dcm", len(data) // 2)
    out = tmp_path / "got"
    done = subprocess.run(["curl", "-sS", "-o", str(out), "-H",
                           f"Authorization: Bearer {live.admin_token}",
                           live.url + url(bucket, "scan.dcm")], capture_output=True, timeout=60)
    assert done.returncode == 18, done.stderr  # "transfer closed with outstanding data"
    assert out.stat().st_size < len(data)
    assert _corrupt_reads(live) == before + 1
    events = [line for line in live.audit_lines() if line["action"] == "integrity_failure"]
    assert events and events[-1]["key"] == "scan.dcm" and events[-1]["bucket"] == bucket
    # A range is served as stored: the recorded hash covers the whole object only.
    ranged = live.client.get(url(bucket, "scan.dcm"), headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == data[:100]


def test_a_damaged_small_object_is_refused_before_any_byte(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    assert live.client.put(url(bucket, "note.txt"), content=b"patient 42: stable").status_code == 200
    before = _corrupt_reads(live)
    _damage(live.config.base_dir / "main", bucket, "note.txt", 3)
    body = assert_problem(live.client.get(url(bucket, "note.txt")), 502)
    assert "recorded at ingest" in body["detail"]
    assert _corrupt_reads(live) == before + 1
    # An intact object is still served whole.
    assert live.client.put(url(bucket, "ok.txt"), content=b"fine").status_code == 200
    assert live.client.get(url(bucket, "ok.txt")).content == b"fine"
