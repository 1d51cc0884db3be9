"""Bucket routes: placement, persistence across restarts, and the exit switch guarded by drills."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import load
from service.tokens import TokenStore

from .live import LiveGateway
from .test_objects import assert_problem, url


def test_switch_is_refused_without_a_passed_drill(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    assert live.client.put(url(bucket, "k"), content=b"v").status_code == 200
    refused = assert_problem(live.client.put(f"/v1/buckets/{bucket}/route",
                                             json={"backend": "spare"}), 409)
    assert refused["detail"].startswith(f"no passed exit drill of bucket {bucket} to backend spare")
    assert live.client.get(f"/v1/buckets/{bucket}/route").json() == {
        "bucket": bucket, "backend": "main", "physical_bucket": bucket}
    assert_problem(live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "main"}), 409)
    assert_problem(live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "nope"}), 400)
    assert_problem(live.client.put(f"/v1/buckets/{bucket}/route", json={}), 422)
    writer = live.as_token(live.token(["read", "write"]))
    assert_problem(writer.put(f"/v1/buckets/{bucket}/route", json={"backend": "spare"}), 403)
    assert_problem(writer.get(f"/v1/buckets/{bucket}/route"), 403)
    assert live.client.get(url(bucket, "k")).content == b"v"


def test_switch_follows_a_passed_drill_and_refuses_writes_made_since(live_local: LiveGateway) -> None:
    runner = pytest.importorskip("exit_drills.runner", reason="exit drills not available yet")
    spec_module = pytest.importorskip("exit_drills.spec")
    live = live_local
    bucket = live.new_bucket()
    for index in range(5):
        assert live.client.put(url(bucket, f"doc/{index}"), content=b"d" * index,
                               headers={"X-Sortie-Meta-Ward": str(index)}).status_code == 200

    def drill() -> None:
        spec = spec_module.DrillSpec(source=spec_module.Endpoint(backend="main", bucket=bucket),
                                     target=spec_module.Endpoint(backend="spare",
                                                                 bucket=f"{bucket}-exit"))
        report = runner.run_drill(spec, live.config.settings.backends,
                                  base_dir=live.config.base_dir, state_dir=live.state_dir)
        assert report.status == "passed"

    drill()
    time.sleep(1.1)  # the check works in whole seconds
    assert live.client.put(url(bucket, "late"), content=b"late").status_code == 200
    refused = assert_problem(live.client.put(f"/v1/buckets/{bucket}/route",
                                             json={"backend": "spare"}), 409)
    assert "'late'" in refused["detail"] and "run a new drill" in refused["detail"]
    time.sleep(1.1)
    drill()
    switched = live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "spare"})
    assert switched.status_code == 200, switched.text
    body = switched.json()
    assert body["backend"] == "spare" and body["physical_bucket"] == f"{bucket}-exit"
    assert body["previous_backend"] == "main" and body["drill_id"]
    # Clients keep the same names; the bytes and metadata now come from the spare backend.
    got = live.client.get(url(bucket, "doc/3"))
    assert got.content == b"ddd" and got.headers["x-sortie-meta-ward"] == "3"
    assert live.client.get(url(bucket, "late")).content == b"late"
    spare_root = live.config.base_dir / "spare" / f"{bucket}-exit"
    assert spare_root.is_dir()
    audit = [line for line in live.audit_lines() if line["action"] == "switch_route"
             and line["bucket"] == bucket and line["status"] == 200]
    assert audit and audit[-1]["drill"] == body["drill_id"]
    assert audit[-1]["previous_backend"] == "main" and audit[-1]["target_backend"] == "spare"


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "sortie.yaml"
    path.write_text(yaml.safe_dump({
        "backends": {"main": {"type": "local", "path": "main"},
                     "spare": {"type": "local", "path": "spare"}},
        "buckets": {"declared": {"backend": "spare", "name": "phys-declared"}},
        "state_dir": "state"}))
    return path


def test_runtime_routes_survive_a_restart_over_config_routes(tmp_path: Path) -> None:
    config = load(_config(tmp_path), environ={})
    token, _ = TokenStore(config.state_dir).create("t", ["admin"], ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(config)) as client:
        listed = client.get("/v1/buckets", headers=auth).json()["buckets"]
        assert listed == [{"name": "declared", "backend": "spare"}]
        # A configured bucket is created under its physical name on its backend.
        assert client.put("/v1/buckets/declared", headers=auth).status_code == 201
        assert (tmp_path / "spare" / "phys-declared").is_dir()
        assert client.put(url("declared", "k"), content=b"x", headers=auth).status_code == 200
        assert client.put("/v1/buckets/made-at-runtime", params={"backend": "spare"},
                          headers=auth).status_code == 201
        assert client.put("/v1/buckets/on-default", headers=auth).json()["backend"] == "main"
    with TestClient(create_app(load(_config(tmp_path), environ={}))) as client:
        listed = {b["name"]: b["backend"] for b in client.get("/v1/buckets", headers=auth).json()["buckets"]}
        assert listed == {"declared": "spare", "made-at-runtime": "spare", "on-default": "main"}
        assert client.get(url("declared", "k"), headers=auth).content == b"x"
        assert client.delete("/v1/buckets/made-at-runtime", headers=auth).status_code == 204
    with TestClient(create_app(load(_config(tmp_path), environ={}))) as client:
        listed = [b["name"] for b in client.get("/v1/buckets", headers=auth).json()["buckets"]]
        assert listed == ["declared", "on-default"]


def test_switch_names_missing_drills_support(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on a build without the exit_drills package: importing its history fails.
    monkeypatch.setitem(__import__("sys").modules, "exit_drills.history", None)
    config = load(_config(tmp_path), environ={})
    token, _ = TokenStore(config.state_dir).create("t", ["admin"], ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(config)) as client:
        assert client.put("/v1/buckets/declared", headers=auth).status_code == 201
        refused = client.put("/v1/buckets/declared/route", json={"backend": "main"}, headers=auth)
        body = assert_problem(refused, 409)
        assert body["detail"] == ("no passed exit drill of bucket declared to backend main "
                                  "(drills not available)")
