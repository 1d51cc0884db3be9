"""Datasets, configurations and runners shared by the drill tests."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

from adapters.contract import MiB, ObjectStore
from adapters.local.store import LocalStore
from exit_drills.engine import DrillEngine
from exit_drills.projection import egress_price
from exit_drills.spec import DrillReport, DrillSpec, Endpoint, Mode

SORTIE = [sys.executable, "-m", "service"]

#: Names that break naive copies: space, '#', '%', unicode, nesting, and a 40 MiB object that
#: every target takes through its multipart (blocks, segments) path.
AWKWARD = ["with space.txt", "hash#tag", "100% sure", "ünïcødé/文件.bin", "deep/er/still/x",
           "plus+and=equals", "tilde~(parens)"]
METADATA = {"Owner": "Jeanne Dupont", "Note": "café crème", "dept": "cardio-42"}


def payload(key: str, size: int) -> bytes:
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def big_payload(size: int) -> Iterable[bytes]:
    """Deterministic bytes in 1 MiB chunks, never the whole object in memory."""
    for i in range(0, size, MiB):
        block = hashlib.sha256(i.to_bytes(8, "big")).digest() * (MiB // 32)
        yield block[:min(MiB, size - i)]


def seed_dataset(store: ObjectStore, bucket: str, *, big: bool = True, extra: int = 5) -> dict[str, int]:
    """Empty objects, awkward names with metadata, small objects, and (optionally) 40 MiB."""
    if not store.bucket_exists(bucket):
        store.create_bucket(bucket)
    sizes: dict[str, int] = {}
    for i in range(2):
        key = f"empty-{i}"
        store.put(bucket, key, b"", metadata={"Kind": "empty"})
        sizes[key] = 0
    for i, key in enumerate(AWKWARD):
        data = payload(key, 1000 + i * 777)
        store.put(bucket, key, data, content_type="text/plain; charset=utf-8", metadata=METADATA)
        sizes[key] = len(data)
    for i in range(extra):
        key = f"small/{i:03d}"
        data = payload(key, 4096 + i)
        store.put(bucket, key, data, content_type="application/json")
        sizes[key] = len(data)
    if big:
        size = 40 * MiB
        store.put(bucket, "large/forty-mib.bin", big_payload(size), size=size,
                  content_type="application/octet-stream", metadata={"Scan": "IRM-2026"})
        sizes["large/forty-mib.bin"] = size
    return sizes


def run_engine(spec: DrillSpec, source: ObjectStore, target: ObjectStore, folder: Path,
               drill_id: str | None = None, source_settings: object | None = None) -> DrillReport:
    drill_id = drill_id or f"d-{os.urandom(4).hex()}"
    price, note = egress_price(source_settings)
    engine = DrillEngine(spec, source, target, drill_dir=folder / "drills" / drill_id,
                         drill_id=drill_id, state_dir=folder, price=price, price_note=note)
    return engine.run()


def spec(source: str, target: str, mode: Mode = Mode.full, concurrency: int = 4,
         cleanup: bool = False) -> DrillSpec:
    return DrillSpec(source=Endpoint.parse(source), target=Endpoint.parse(target), mode=mode,
                     concurrency=concurrency, cleanup=cleanup)


def write_config(folder: Path, backends: dict[str, dict[str, Any]], **extra: Any) -> Path:
    path = folder / "sortie.yaml"
    path.write_text(json.dumps({"state_dir": str(folder / "state"), "backends": backends, **extra}))
    return path


def sortie(*args: str, env: dict[str, str] | None = None, timeout: float = 240,
           cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SORTIE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def report_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "report.json").read_text())


def drill_ids(state_dir: Path) -> list[str]:
    db = sqlite3.connect(state_dir / "drills" / "drills.sqlite3")
    try:
        return [r[0] for r in db.execute("SELECT id FROM drills ORDER BY started, id")]
    finally:
        db.close()


def count_in_checkpoint(state_dir: Path, drill_id: str, query: str) -> int:
    """The single number `query` gives on a drill's checkpoint (0 before it exists)."""
    path = state_dir / "drills" / drill_id / "checkpoint.sqlite3"
    if not path.is_file():
        return 0
    db = sqlite3.connect(path, timeout=30)
    try:
        return int(db.execute(query).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def verified_in_checkpoint(state_dir: Path, drill_id: str) -> int:
    return count_in_checkpoint(state_dir, drill_id,
                               "SELECT COUNT(*) FROM objects WHERE status = 'verified'")


def corrupt_local(store: LocalStore, bucket: str, key: str) -> None:
    """Overwrite the blob's bytes on disk (same size), bypassing the adapter."""
    db = sqlite3.connect(store.root / bucket / "index.sqlite3")
    blob = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()[0]
    db.close()
    path = store.root / bucket / "blobs" / blob[:2] / blob
    size = path.stat().st_size
    path.write_bytes(b"\x00" * size)
