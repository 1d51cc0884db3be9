"""`sortie scheduler`: a real process running a configured drill, its history and its metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from adapters.local.store import LocalStore
from exit_drills import history

from ..servers.process import free_port


def test_scheduler_runs_the_configured_drill_and_exposes_metrics(tmp_path: Path) -> None:
    source = LocalStore("primary", tmp_path / "primary")
    source.create_bucket("imaging")
    for i in range(4):
        source.put("imaging", f"scan-{i}.dcm", b"x" * (100 * i), metadata={"Study": str(i)})
    config = tmp_path / "sortie.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": "state",
        "backends": {"primary": {"type": "local", "path": "primary"},
                     "exit": {"type": "local", "path": "exit"}},
        # A schedule that will not come round during the test: only --run-now runs it.
        "drills": [{"name": "nightly-exit", "from": "primary:imaging", "to": "exit:imaging",
                    "cron": "0 3 1 1 *"}],
    }))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "service", "scheduler", "--config", str(config),
                                "--metrics-port", str(port), "--run-now"],
                               env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
                    text = reply.read().decode()
                if 'sortie_drill_last_passed{drill="nightly-exit"} 1.0' in text:
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
            time.sleep(0.2)
        assert 'sortie_drill_last_passed{drill="nightly-exit"} 1.0' in text, text
        assert 'sortie_drill_failed_objects{drill="nightly-exit"} 0.0' in text
        assert 'sortie_drill_last_success_timestamp_seconds{drill="nightly-exit"}' in text
    finally:
        process.terminate()
        process.wait(20)
    records = history.list_drills(tmp_path / "state")
    assert [(r["name"], r["status"]) for r in records] == [("nightly-exit", "passed")]
    copy = LocalStore("exit", tmp_path / "exit")
    assert sorted(o.key for o in copy.iter_objects("imaging")) == [f"scan-{i}.dcm" for i in range(4)]
    assert copy.head("imaging", "scan-2.dcm").metadata == {"Study": "2"}
