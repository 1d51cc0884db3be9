"""Part-level resume: the drill's process SIGKILLed while a 300 MiB object is on its way, then
`--resume` sends only the parts the target had not acknowledged. The bytes that reach the target
are counted by a TCP proxy in front of the real server, not by Sortie."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import boto3
import pytest

from adapters.contract import MiB
from adapters.local.store import LocalStore
from tests.servers.faulty import FaultyProxy
from tests.servers.seaweedfs import SeaweedServer

from .helpers import SORTIE, count_in_checkpoint, drill_ids, report_of, sortie, write_config

SIZE = 300 * MiB


def _bytes(seed: int) -> Iterator[bytes]:
    for i in range(SIZE // MiB):
        yield hashlib.sha256(f"{seed}:{i}".encode()).digest() * (MiB // 32)


def _sessions_recorded(state: Path, drill_id: str) -> int:
    return count_in_checkpoint(state, drill_id, "SELECT COUNT(*) FROM uploads")


@pytest.fixture
def proxy(server_seaweedfs: SeaweedServer) -> Iterator[FaultyProxy]:
    url = urlparse(server_seaweedfs.endpoint)
    running = FaultyProxy(url.hostname or "127.0.0.1", int(url.port or 80)).start()
    yield running
    running.stop()


@pytest.mark.parametrize("workers", ["0", "2"], ids=["threads", "dask-2-workers"])
def test_killed_during_a_large_object_resumes_from_the_acknowledged_parts(
        tmp_path: Path, server_seaweedfs: SeaweedServer, proxy: FaultyProxy,
        workers: str) -> None:
    server = server_seaweedfs
    config = write_config(tmp_path, {
        "disk": {"type": "local", "path": str(tmp_path / "disk")},
        "sw": {"type": "s3", "preset": "seaweedfs", "endpoint": proxy.url(),
               "region": server.region, "access_key": "${DRILL_S3_AK}",
               "secret_key": "${DRILL_S3_SK}"}})
    env = {"DRILL_S3_AK": server.access_key, "DRILL_S3_SK": server.secret_key}
    disk = LocalStore("disk", tmp_path / "disk")
    disk.create_bucket("imaging")
    expected = disk.put("imaging", "series/ct-0001.dcm", _bytes(1),
                        content_type="application/dicom").sha256
    bucket = f"parts-{workers}-{os.getpid()}-{int(time.time())}"
    state = tmp_path / "state"
    process = subprocess.Popen([*SORTIE, "drill", "run", "-c", str(config), "--from",
                                "disk:imaging", "--to", f"sw:{bucket}", "--workers", workers],
                               env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while proxy.bytes_up < 0.7 * SIZE and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        assert proxy.bytes_up >= 0.7 * SIZE, "the drill sent too little in time"
        # The whole process group: the drill and, with Dask, its cluster's processes.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    [drill_id] = drill_ids(state)
    assert _sessions_recorded(state, drill_id) == 1
    sent_before = proxy.bytes_up
    assert sent_before < 1.05 * SIZE, "killed too late to test resume"
    proxy.bytes_up = 0

    resumed = sortie("drill", "run", "-c", str(config), "--resume", drill_id, env=env,
                     timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    report = report_of(state / "drills" / drill_id)
    assert report["status"] == "passed" and report["objects"]["verified"] == 1
    # Only the parts not acknowledged before the kill went up again (and the read-back GET).
    assert proxy.bytes_up < 0.6 * SIZE, (sent_before, proxy.bytes_up)
    assert _sessions_recorded(state, drill_id) == 0  # settled: the session row is gone
    # Read with boto3 straight from the server: the bytes and the recorded hash are the source's.
    client = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key)
    reply = client.get_object(Bucket=bucket, Key="series/ct-0001.dcm")
    digest = hashlib.sha256()
    for chunk in reply["Body"].iter_chunks(MiB):
        digest.update(chunk)
    assert digest.hexdigest() == expected
    assert reply["Metadata"].get("sortie-sha256") == expected
    assert reply["ContentType"] == "application/dicom"
