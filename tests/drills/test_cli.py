"""`sortie drill ...` as users run it: exit codes, reports on disk, SIGKILL then --resume."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from adapters.local.store import LocalStore
from tests.servers.seaweedfs import SeaweedServer

from .helpers import (SORTIE, corrupt_local, drill_ids, payload, report_of, seed_dataset,
                      sortie, verified_in_checkpoint, write_config)


@pytest.fixture
def local_config(tmp_path: Path) -> Path:
    return write_config(tmp_path, {"a": {"type": "local", "path": str(tmp_path / "a")},
                                   "b": {"type": "local", "path": str(tmp_path / "b")}})


def test_exit_codes_0_then_1_naming_the_key(local_config: Path, tmp_path: Path) -> None:
    seed_dataset(LocalStore("a", tmp_path / "a"), "data", big=False)
    ok = sortie("drill", "run", "-c", str(local_config), "--from", "a:data", "--to", "b:copy",
                "--report-dir", str(tmp_path / "r1"))
    assert ok.returncode == 0, ok.stderr
    assert "passed" in ok.stdout and report_of(tmp_path / "r1")["status"] == "passed"
    assert (tmp_path / "r1" / "report.html").is_file()
    assert (tmp_path / "r1" / "manifest.jsonl").is_file()
    corrupt_local(LocalStore("b", tmp_path / "b"), "copy", "ünïcødé/文件.bin")
    bad = sortie("drill", "run", "-c", str(local_config), "--from", "a:data", "--to", "b:copy",
                 "--mode", "verify-only", "--report-dir", str(tmp_path / "r2"))
    assert bad.returncode == 1
    assert "ünïcødé/文件.bin" in bad.stderr and "failed" in bad.stdout
    report = report_of(tmp_path / "r2")
    assert report["status"] == "failed" and report["failures"][0]["key"] == "ünïcødé/文件.bin"
    listed = sortie("drill", "history", "-c", str(local_config))
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2
    assert listed.stdout.splitlines()[0].split("\t")[1] == "failed"


@pytest.mark.parametrize("args, message", [
    (["--from", "a:data"], "needs --from"),
    (["--from", "nocolon", "--to", "b:copy"], "expected BACKEND:BUCKET"),
    (["--from", "a:Bad_Bucket", "--to", "b:copy"], "Bad_Bucket"),
    (["--from", "zz:data", "--to", "b:copy"], "backend 'zz' is not configured"),
    (["--from", "a:data", "--to", "b:copy", "--mode", "sideways"], "--mode 'sideways'"),
    (["--resume", "no-such-drill"], "no drill 'no-such-drill'"),
    (["--resume", "x", "--from", "a:data"], "do not give --from/--to"),
    (["--from", "a:data", "--to", "b:copy", "--concurrency", "0"], "concurrency"),
])
def test_usage_errors_exit_2_naming_the_problem(local_config: Path, args: list[str],
                                                message: str) -> None:
    result = sortie("drill", "run", "-c", str(local_config), *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr


def test_configuration_error_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"a": {"type": "local", "path": "a"}},
                          drills=[{"name": "nightly", "from": "a:data", "to": "ghost:copy",
                                   "cron": "0 2 * * *"}])
    result = sortie("drill", "run", "-c", str(config), "--from", "a:data", "--to", "a:copy")
    assert result.returncode == 2
    assert "backend 'ghost' is not configured" in result.stderr


def _s3_config(tmp_path: Path, server: SeaweedServer) -> tuple[Path, dict[str, str]]:
    config = write_config(tmp_path, {
        "disk": {"type": "local", "path": str(tmp_path / "disk")},
        "sw": {"type": "s3", "preset": "seaweedfs", "endpoint": server.endpoint,
               "region": server.region, "access_key": "${DRILL_S3_AK}",
               "secret_key": "${DRILL_S3_SK}"}})
    return config, {"DRILL_S3_AK": server.access_key, "DRILL_S3_SK": server.secret_key}


def test_sigkill_midway_then_resume_copies_what_remained(tmp_path: Path,
                                                         server_seaweedfs: SeaweedServer) -> None:
    config, env = _s3_config(tmp_path, server_seaweedfs)
    disk = LocalStore("disk", tmp_path / "disk")
    disk.create_bucket("records")
    total = 600
    for i in range(total):
        # An explicit type: SeaweedFS replaces application/octet-stream by one guessed from a
        # ".json" name, which a drill rightly reports as a difference.
        disk.put("records", f"patient/{i:05d}.json", payload(str(i), 48 * 1024),
                 content_type="application/json", metadata={"Index": str(i)})
    bucket = f"kill-{os.getpid()}-{int(time.time())}"
    state = tmp_path / "state"
    process = subprocess.Popen([*SORTIE, "drill", "run", "-c", str(config), "--from",
                                "disk:records", "--to", f"sw:{bucket}", "--concurrency", "2",
                                "--workers", "2"],
                               env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        drill_id = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ids = drill_ids(state) if (state / "drills" / "drills.sqlite3").exists() else []
            if ids and verified_in_checkpoint(state, ids[0]) >= 40:
                drill_id = ids[0]
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        assert drill_id is not None, "the drill made no progress"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    done = verified_in_checkpoint(state, drill_id)
    assert 40 <= done < total, "killed too late to test resume"
    resumed = sortie("drill", "run", "-c", str(config), "--resume", drill_id, env=env)
    assert resumed.returncode == 0, resumed.stderr
    report = report_of(state / "drills" / drill_id)
    assert report["status"] == "passed" and report["runs"] == 2
    assert report["objects"]["resumed"] == done
    assert report["objects"]["copied"] == total - done
    assert report["objects"]["verified"] == total


@pytest.mark.parametrize("cores, workers", [(1, 0), (2, 0), (3, 3), (8, 8)])
def test_default_workers_follow_the_cores_this_process_may_use(
        cores: int, workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker process per core, except on machines of 2 cores or fewer, where the drill
    stays in threads (measured faster there: exit_drills/distributed.py)."""
    from exit_drills.distributed import default_workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert default_workers() == workers
