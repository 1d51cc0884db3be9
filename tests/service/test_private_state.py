"""State files are readable by Sortie's user only: folders 0700, files 0600 (tokens, audit log,
drill history, checkpoints, reports), whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastapi.testclient import TestClient

from adapters.config import LocalBackend
from exit_drills.runner import run_drill
from exit_drills.spec import DrillSpec, Endpoint
from service.app import create_app
from service.config import load


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_is_private(tmp_path: Path) -> None:
    config_path = tmp_path / "sortie.yaml"
    config_path.write_text("backends: {main: {type: local, path: main}, spare: {type: local, "
                           "path: spare}}\nstate_dir: state\n")
    old = os.umask(0o022)
    try:
        config = load(config_path, environ={})
        app = create_app(config)
        token, _ = app.state.tokens.create("t", ["admin"], ["*"])
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {token}"}
            assert client.put("/v1/buckets/data", headers=headers).status_code == 201
            assert client.put("/v1/buckets/data/objects/k", content=b"v",
                              headers=headers).status_code == 200
        backends = {"main": LocalBackend(type="local", path=tmp_path / "main"),
                    "spare": LocalBackend(type="local", path=tmp_path / "spare")}
        report = run_drill(DrillSpec(source=Endpoint(backend="main", bucket="data"),
                                     target=Endpoint(backend="spare", bucket="copy")),
                           backends, base_dir=tmp_path, state_dir=config.state_dir)
    finally:
        os.umask(old)
    state = config.state_dir
    drill = state / "drills" / report.id
    for folder in (state, state / "drills", drill):
        assert _mode(folder) == 0o700, folder
    for path in (state / "tokens.sqlite3", state / "audit.log", state / "drills" / "drills.sqlite3",
                 drill / "checkpoint.sqlite3", drill / "report.json", drill / "report.html",
                 drill / "manifest.jsonl"):
        assert _mode(path) == 0o600, path
