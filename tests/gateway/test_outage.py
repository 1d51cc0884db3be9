"""A backend that goes away: the gateway answers 503 with Retry-After, promptly, and /readyz says
which backend is down."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .live import start_gateway
from .test_objects import assert_problem


def test_backend_outage_is_503_with_retry_after_and_readyz_names_it(tmp_path: Path) -> None:
    seaweedfs = pytest.importorskip("tests.servers.seaweedfs")
    if seaweedfs.weed_binary() is None:
        pytest.skip("SeaweedFS `weed` not installed")
    server = seaweedfs.start_seaweedfs(tmp_path / "weed")  # private: this test stops it
    backend = {"type": "s3", "preset": "seaweedfs", "endpoint": server.endpoint,
               "region": server.region, "access_key": "${GW_OUT_ACCESS}",
               "secret_key": "${GW_OUT_SECRET}"}
    env = {"GW_OUT_ACCESS": server.access_key, "GW_OUT_SECRET": server.secret_key}
    live = start_gateway("outage", tmp_path / "gw", backend, env)
    try:
        bucket = live.new_bucket()
        assert live.client.put(f"/v1/buckets/{bucket}/objects/k", content=b"v").status_code == 200
        server.stop()
        started = time.monotonic()
        response = live.client.get(f"/v1/buckets/{bucket}/objects/k")
        elapsed = time.monotonic() - started
        assert_problem(response, 503)
        assert int(response.headers["retry-after"]) > 0
        assert elapsed < 60, f"the outage took {elapsed:.0f} s to report"
        ready = live.anonymous().get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["backends"]["spare"] == "ok"
        assert ready.json()["backends"]["main"] != "ok"
        # Writes fail the same way.
        assert_problem(live.client.put(f"/v1/buckets/{bucket}/objects/new", content=b"n"), 503)
    finally:
        live.stop()
        server.stop()
