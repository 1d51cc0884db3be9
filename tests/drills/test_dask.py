"""Drills on real Dask clusters: a LocalCluster of 2 worker processes (SeaweedFS -> Azurite) and
an existing cluster, `dask scheduler` + 2 `dask worker` over TCP (Azurite -> Swift), with the
wave-1 dataset (empty objects, awkward names, metadata, 40 MiB); verify-only after each; and a
worker process SIGKILLed mid-drill: the batch runs again elsewhere, every object counts once,
and the target, read without Sortie's code, holds every object with its bytes."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator

import psutil
import pytest

from adapters.config import AzureBackend, LocalBackend, S3Backend, SwiftBackend
from adapters.registry import build_store
from exit_drills.distributed import Execution
from exit_drills.engine import Snapshot
from exit_drills.runner import run_drill
from exit_drills.spec import Mode
from tests.conftest import empty_and_delete
from tests.servers.dask import DaskCluster, start_dask

from .helpers import METADATA, payload, seed_dataset, spec

pytestmark = pytest.mark.timeout(240)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _seaweed(server: Any, **secrets: str) -> S3Backend:
    return S3Backend(type="s3", preset="seaweedfs", endpoint=server.endpoint,
                     region=server.region,
                     access_key=secrets.get("access_key", server.access_key),  # type: ignore[arg-type]
                     secret_key=secrets.get("secret_key", server.secret_key))  # type: ignore[arg-type]


@pytest.fixture
def made() -> Iterator[list[tuple[Any, str]]]:
    buckets: list[tuple[Any, str]] = []
    yield buckets
    for store, name in buckets:
        empty_and_delete(store, name)
        store.close()


def _check_copy(settings: Any, bucket: str, sizes: dict[str, int], tmp_path: Path) -> None:
    target = build_store("check", settings, tmp_path)
    try:
        for key in ("with space.txt", "hash#tag", "ünïcødé/文件.bin"):
            assert target.head(bucket, key).metadata == METADATA
        assert target.head(bucket, "large/forty-mib.bin").size == sizes["large/forty-mib.bin"]
    finally:
        target.close()


def test_a_drill_on_a_local_cluster_of_two_workers(server_seaweedfs: Any, server_azurite: Any,
                                                    tmp_path: Path, made: list) -> None:
    backends = {"sw": _seaweed(server_seaweedfs),
                "az": AzureBackend(type="azure",  # type: ignore[arg-type]
                                   connection_string=server_azurite.connection_string())}
    source = build_store("sw", backends["sw"], tmp_path)
    sb, tb = _name("dask-src"), _name("dask-dst")
    made += [(source, sb), (build_store("az", backends["az"], tmp_path), tb)]
    sizes = seed_dataset(source, sb, big=True, extra=40)
    execution = Execution(workers=2)
    report = run_drill(spec(f"sw:{sb}", f"az:{tb}"), backends, base_dir=tmp_path,
                       state_dir=tmp_path / "state", execution=execution)
    assert report.status == "passed", report.failures
    assert report.objects.copied == report.objects.verified == len(sizes)
    assert report.bytes.copied == report.bytes.verified_read == sum(sizes.values())
    _check_copy(backends["az"], tb, sizes, tmp_path)
    check = run_drill(spec(f"sw:{sb}", f"az:{tb}", Mode.verify_only), backends,
                      base_dir=tmp_path, state_dir=tmp_path / "state", execution=execution)
    assert check.status == "passed" and check.objects.verified == len(sizes)


def test_a_drill_on_an_existing_cluster_over_tcp(server_azurite: Any, server_swift: Any,
                                                 tmp_path: Path, made: list) -> None:
    # Secrets reach the workers only through their environment, named by the configuration.
    env = {"DRILL_AZ": server_azurite.connection_string(), "DRILL_SWIFT_KEY": server_swift.key}
    backends = {"az": AzureBackend(type="azure",  # type: ignore[arg-type]
                                   connection_string=env["DRILL_AZ"]),
                "sw": SwiftBackend(type="swift", auth_url=server_swift.auth_url,
                                   auth_version="1", username=server_swift.user,
                                   password=env["DRILL_SWIFT_KEY"])}  # type: ignore[arg-type]
    refs = {"az": {"connection_string": "DRILL_AZ"}, "sw": {"password": "DRILL_SWIFT_KEY"}}
    source = build_store("az", backends["az"], tmp_path)
    sb, tb = _name("dask-src"), _name("dask-dst")
    made += [(source, sb), (build_store("sw", backends["sw"], tmp_path), tb)]
    sizes = seed_dataset(source, sb, big=True, extra=20)
    cluster: DaskCluster = start_dask(tmp_path, env)
    try:
        execution = Execution(scheduler=cluster.address)
        report = run_drill(spec(f"az:{sb}", f"sw:{tb}"), backends, base_dir=tmp_path,
                           state_dir=tmp_path / "state", execution=execution, secret_refs=refs)
        assert report.status == "passed", report.failures
        assert report.objects.verified == len(sizes)
        _check_copy(backends["sw"], tb, sizes, tmp_path)
        check = run_drill(spec(f"az:{sb}", f"sw:{tb}", Mode.verify_only), backends,
                          base_dir=tmp_path, state_dir=tmp_path / "state", execution=execution,
                          secret_refs=refs)
        assert check.status == "passed" and check.objects.verified == len(sizes)
        # A secret without an environment variable is refused rather than shipped.
        from exit_drills.runner import DrillSetupError

        with pytest.raises(DrillSetupError, match="environment variable"):
            run_drill(spec(f"az:{sb}", f"sw:{tb}"), backends, base_dir=tmp_path,
                      state_dir=tmp_path / "state", execution=execution)
    finally:
        cluster.stop()


def _worker_processes() -> list[psutil.Process]:
    """The LocalCluster's worker processes: children of this process's fork server."""
    servers = [p for p in psutil.Process().children()
               if "forkserver" in " ".join(p.cmdline())]
    return [worker for server in servers for worker in server.children()]


def test_a_worker_killed_mid_drill_changes_nothing(server_seaweedfs: Any, tmp_path: Path,
                                                   made: list) -> None:
    # The target is a local disk: a worker killed in the middle of an upload to SeaweedFS or
    # Azurite made those servers hold later uploads of the same key for minutes (seen here).
    backends = {"sw": _seaweed(server_seaweedfs),
                "disk": LocalBackend(type="local", path=tmp_path / "disk")}
    store = build_store("sw", backends["sw"], tmp_path)
    sb, tb = _name("dask-src"), _name("dask-dst")
    made.append((store, sb))
    store.create_bucket(sb)
    keys = [f"series/{i:04d}.dcm" for i in range(600)]
    for key in keys:
        store.put(sb, key, payload(key, 8192))
    killed = threading.Event()

    def kill_one(snapshot: Snapshot) -> None:
        if not killed.is_set() and snapshot.objects_settled >= 100:
            workers = _worker_processes()
            if workers:
                workers[0].kill()  # SIGKILL: no goodbye to the scheduler
                killed.set()

    report = run_drill(spec(f"sw:{sb}", f"disk:{tb}", concurrency=4), backends,
                       base_dir=tmp_path, state_dir=tmp_path / "state", on_progress=kill_one,
                       execution=Execution(workers=2))
    assert killed.is_set(), "no worker was killed: the drill ended before 100 objects"
    assert report.status == "passed", report.failures
    assert report.objects.total == report.objects.copied == report.objects.verified == 600
    # Read the target without Sortie's code: its index with sqlite3, its blobs with open().
    index = sqlite3.connect(tmp_path / "disk" / tb / "index.sqlite3")
    rows = dict(index.execute("SELECT key, blob FROM objects").fetchall())
    index.close()
    assert sorted(rows) == keys
    for key, blob in rows.items():
        data = (tmp_path / "disk" / tb / "blobs" / blob[:2] / blob).read_bytes()
        assert hashlib.sha256(data).digest() == hashlib.sha256(payload(key, 8192)).digest()


def test_local_workers_read_secrets_the_coordinator_has_now(
        server_seaweedfs: Any, tmp_path: Path, made: list,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """LocalCluster workers fork from a server started by this process's first drill: a secret
    named `${VAR}` and set after that must still reach them (they get the variables the drill's
    configuration names, with their values now)."""
    disk = LocalBackend(type="local", path=tmp_path / "disk")
    store = build_store("disk", disk, tmp_path)
    store.create_bucket("first")
    store.put("first", "a", b"a")
    first = run_drill(spec("disk:first", "disk:first-copy"), {"disk": disk}, base_dir=tmp_path,
                      state_dir=tmp_path / "state", execution=Execution(workers=1))
    assert first.status == "passed", first.failures
    variable = f"DRILL_SECRET_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(variable, server_seaweedfs.secret_key)
    backends = {"sw": _seaweed(server_seaweedfs), "disk": disk}
    source = build_store("sw", backends["sw"], tmp_path)
    sb = _name("dask-src")
    made.append((source, sb))
    source.create_bucket(sb)
    source.put(sb, "k", b"k" * 100)
    report = run_drill(spec(f"sw:{sb}", "disk:second"), backends, base_dir=tmp_path,
                       state_dir=tmp_path / "state", execution=Execution(workers=1),
                       secret_refs={"sw": {"secret_key": variable}})
    assert report.status == "passed", report.failures
