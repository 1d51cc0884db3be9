"""Two gateway processes (`sortie serve`) on one PostgreSQL state: tokens, revocations, routes and
switches hold across them; writes through both during a switch lose nothing; a database that goes
away gives clear 503s and the gateways recover when it returns. Plus moving an installation from
files to PostgreSQL (`sortie state export` / `import`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from exit_drills.runner import run_drill
from exit_drills.spec import DrillSpec, Endpoint, Mode
from service.config import LoadedConfig, load
from service.state import history_of, open_state
from tests.servers.postgres import PostgresServer, reachable_root, start_postgres
from tests.servers.process import free_port

from .conftest import new_database, write_config

SORTIE = [sys.executable, "-m", "service"]


class Replica:
    def __init__(self, config_path: Path, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / f"replica-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [*SORTIE, "serve", "--config", str(config_path), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **env})
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / f"replica-{self.port}.log").read_text()[-2000:])
            time.sleep(0.1)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture
def shared(tmp_path: Path, server_postgres: PostgresServer) -> Iterator[tuple[LoadedConfig,
                                                                              dict[str, str],
                                                                              Path]]:
    url = new_database(server_postgres)
    env = {"SORTIE_TEST_DB": url}
    path = write_config(tmp_path, url)
    yield load(path, environ=env), env, path


def _sortie(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SORTIE, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_two_replicas_share_tokens_revocations_routes_and_switches(
        shared: tuple[LoadedConfig, dict[str, str], Path], tmp_path: Path) -> None:
    config, env, path = shared
    made = _sortie("token", "create", "--config", str(path), "--scope", "admin", env=env)
    assert made.returncode == 0, made.stderr
    token = next(line.split()[-1] for line in made.stdout.splitlines() if "sortie_" in line)
    one, two = Replica(path, env, tmp_path), Replica(path, env, tmp_path)
    try:
        a, b = one.client(token), two.client(token)
        assert a.put("/v1/buckets/records").status_code == 201
        assert b.get("/v1/buckets").status_code == 200
        assert "records" in b.get("/v1/buckets").text  # a bucket made through one, seen by two
        for index in range(5):
            assert a.put(f"/v1/buckets/records/objects/r{index}",
                         content=f"record {index}".encode()).status_code == 200
        assert b.get("/v1/buckets/records/objects/r3").content == b"record 3"

        time.sleep(1.1)  # the switch compares write times in whole seconds
        # A drill started through one replica, followed and reported through the other (they
        # share the drill history's folder, as the compose stack's replicas share a volume).
        started = a.post("/v1/drills", json={"from": "main:records", "to": "spare:records-exit",
                                             "concurrency": 4})
        assert started.status_code == 202, started.text
        drill_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while (status := b.get(f"/v1/drills/{drill_id}").json())["status"] not in ("passed",
                                                                                  "failed"):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["status"] == "passed", status
        switched = a.put("/v1/buckets/records/route", json={"backend": "spare"})
        assert switched.status_code == 200, switched.text
        # The very next request through the other replica is served by the new route.
        route = b.get("/v1/buckets/records/route").json()
        assert route["backend"] == "spare", route
        assert b.get("/v1/buckets/records/objects/r3").content == b"record 3"

        # Revoked through the CLI: refused by both replicas within a second.
        token_id = token.split("_")[1]
        assert _sortie("token", "revoke", token_id, "--config", str(path), env=env).returncode == 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and (a.get("/v1/buckets").status_code != 401 or
                                               b.get("/v1/buckets").status_code != 401):
            time.sleep(0.05)
        assert a.get("/v1/buckets").status_code == 401
        assert b.get("/v1/buckets").status_code == 401
    finally:
        one.stop()
        two.stop()
    # Both replicas wrote one audit chain, and it holds.
    verified = _sortie("audit", "verify", "--config", str(path), env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "the audit chain holds" in verified.stdout


def test_writes_through_both_replicas_during_a_switch_lose_nothing(
        shared: tuple[LoadedConfig, dict[str, str], Path], tmp_path: Path) -> None:
    config, env, path = shared
    state = open_state(config)
    token, _ = state.tokens.create("t", ["admin"], ["*"])
    state.close()
    one, two = Replica(path, env, tmp_path), Replica(path, env, tmp_path)
    try:
        a, b = one.client(token), two.client(token)
        assert a.put("/v1/buckets/busy").status_code == 201
        assert a.put("/v1/buckets/busy/objects/seed", content=b"seed").status_code == 200
        time.sleep(1.1)
        spec = DrillSpec(source=Endpoint(backend="main", bucket="busy"),
                         target=Endpoint(backend="spare", bucket="busy-exit"), mode=Mode.full)
        with history_of(config) as history_at:  # recorded in the shared database
            assert run_drill(spec, config.settings.backends, base_dir=config.base_dir,
                             state_dir=config.state_dir, history_at=history_at).status == "passed"
        time.sleep(1.1)
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(n: int) -> None:
            client = (a if n % 2 else b)
            index = 0
            while not stop.is_set():
                key = f"w{n}-{index}"
                if client.put(f"/v1/buckets/busy/objects/{key}",
                              content=key.encode() * 1000).status_code == 200:
                    with lock:
                        acknowledged.append(key)
                index += 1

        with ThreadPoolExecutor(20) as pool:
            for n in range(20):
                pool.submit(writer, n)
            time.sleep(0.5)
            switched = (a if time.monotonic() % 2 else b).put("/v1/buckets/busy/route",
                                                               json={"backend": "spare"})
            time.sleep(0.5)
            stop.set()
        # Written after the drill: the switch is refused, and says which object; the route
        # stays, so every acknowledged write is served (nothing went to the other backend).
        assert switched.status_code == 409, switched.text
        assert "written" in switched.json()["detail"]
        assert a.get("/v1/buckets/busy/route").json()["backend"] == "main"
        assert len(acknowledged) > 20
        for key in acknowledged:
            assert b.get(f"/v1/buckets/busy/objects/{key}").content == key.encode() * 1000
    finally:
        one.stop()
        two.stop()


def test_the_database_going_away_gives_503s_then_recovers(tmp_path: Path) -> None:
    root = reachable_root()
    server = start_postgres(root / "own")
    try:
        url = new_database(server)
        env = {"SORTIE_TEST_DB": url}
        path = write_config(tmp_path, url)
        config = load(path, environ=env)
        state = open_state(config)
        token, _ = state.tokens.create("t", ["admin"], ["*"])
        state.close()
        replica = Replica(path, env, tmp_path)
        try:
            client = replica.client(token)
            assert client.put("/v1/buckets/bucket-one").status_code == 201
            server.stop()
            for request in (lambda: client.get("/v1/buckets"),
                            lambda: client.put("/v1/buckets/bucket-one/objects/k", content=b"x"),
                            lambda: client.get("/v1/buckets/bucket-one/objects/k")):
                answer = request()
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert "state database" in answer.json()["detail"]
            server.start()
            deadline = time.monotonic() + 20
            while client.get("/v1/buckets").status_code != 200:
                assert time.monotonic() < deadline, "the gateway did not recover"
                time.sleep(0.2)
            assert client.put("/v1/buckets/bucket-one/objects/k", content=b"x").status_code == 200
        finally:
            replica.stop()
    finally:
        server.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def test_an_installation_moves_from_files_to_postgresql(tmp_path: Path,
                                                        server_postgres: PostgresServer) -> None:
    files_dir, pg_dir = tmp_path / "files", tmp_path / "pg"
    files_dir.mkdir()
    pg_dir.mkdir()
    files = load(write_config(files_dir), environ={})
    before = open_state(files)
    token, info = before.tokens.create("ops", ["read"], ["imaging-*"])
    revoked, gone = before.tokens.create("old", ["read"], ["*"])
    before.tokens.revoke(gone.id)
    from service.routing import Route

    before.routes.set("imaging", Route("spare", "imaging-exit"))
    before.routes.remove("configured")
    for index in range(7):
        before.audit.write({"action": "GET", "n": index})
    spec = DrillSpec(source=Endpoint(backend="main", bucket="imaging"),
                     target=Endpoint(backend="spare", bucket="imaging-exit"), mode=Mode.full)
    from datetime import datetime, timezone

    from exit_drills import history

    history.record_start(before.history, "d-moved", spec, files_dir / "reports",
                         datetime.now(timezone.utc))
    history.record_finish(before.history, "d-moved", "passed", datetime.now(timezone.utc),
                          switch_eligible=True)
    before.close()
    exported = _sortie("state", "export", "--out", str(tmp_path / "state.jsonl"), "--config",
                       str(files_dir / "sortie.yaml"), env={})
    assert exported.returncode == 0, exported.stderr
    assert "2 token, 2 route, 0 deleting, 1 drill, 7 audit" in exported.stdout

    url = new_database(server_postgres)
    env = {"SORTIE_TEST_DB": url}
    write_config(pg_dir, url)
    imported = _sortie("state", "import", str(tmp_path / "state.jsonl"), "--config",
                       str(pg_dir / "sortie.yaml"), env=env)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "imported 2 token(s)" in imported.stdout and "the audit chain holds" in imported.stdout
    after = open_state(load(pg_dir / "sortie.yaml", environ=env))
    try:
        assert after.tokens.verify(token) is not None and after.tokens.verify(revoked) is None
        assert after.routes.all() == {"imaging": Route("spare", "imaging-exit")}
        assert after.routes.get("configured") is None
        assert after.audit.verify().lines == 7
        moved = history.latest_passed_drill(after.history, "main", "imaging", "spare")
        assert moved is not None and moved["id"] == "d-moved"
    finally:
        after.close()
