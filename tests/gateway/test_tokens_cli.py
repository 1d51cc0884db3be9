"""`sortie token create|list|revoke` against a live gateway, and the first-start admin token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from typer.testing import CliRunner

from service.cli import app
from tests.servers.process import free_port

from .live import LiveGateway
from .test_objects import assert_problem

runner = CliRunner()


def cli(live: LiveGateway, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["token", *args, "--config", str(live.config_path)], env=live.env)
    return result.exit_code, result.stdout, result.stderr


def test_token_create_list_revoke(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    code, out, err = cli(live, "create", "--name", "reporting", "-s", "read", "-b", bucket)
    assert code == 0, err
    token = out.strip()
    token_id = token.split("_")[1]
    assert re.fullmatch(r"sortie_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    client = live.as_token(token)
    assert client.get(f"/v1/buckets/{bucket}/objects").status_code == 200
    assert_problem(client.put(f"/v1/buckets/{bucket}/objects/x", content=b"x"), 403)

    code, out, _ = cli(live, "list")
    row = next(line.split("\t") for line in out.splitlines() if line.startswith(token_id))
    assert row[1:4] == ["reporting", "read", bucket] and row[5] == "active"
    assert token.split("_", 2)[2] not in out  # the secret is never shown again
    assert token.split("_", 2)[2] not in (live.state_dir / "tokens.sqlite3").read_bytes().decode(
        "latin-1")

    code, _, err = cli(live, "revoke", token_id)
    assert code == 0, err
    assert_problem(client.get(f"/v1/buckets/{bucket}/objects"), 401)
    code, out, _ = cli(live, "list")
    assert "revoked" in next(line for line in out.splitlines() if line.startswith(token_id))
    code, _, err = cli(live, "revoke", token_id)
    assert code == 1 and "no active token" in err
    code, _, err = cli(live, "create", "-s", "superuser")
    assert code == 2 and "scopes must be among" in err


def test_write_only_and_admin_scopes(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    code, out, _ = cli(live, "create", "-s", "write", "-b", "g-*")
    writer = live.as_token(out.strip())
    assert writer.put(f"/v1/buckets/{bucket}/objects/w", content=b"w").status_code == 200
    assert_problem(writer.get(f"/v1/buckets/{bucket}/objects/w"), 403)  # write does not read
    code, out, _ = cli(live, "create", "-s", "admin", "-b", bucket)
    admin = live.as_token(out.strip())
    assert admin.get(f"/v1/buckets/{bucket}/objects/w").content == b"w"  # admin implies read
    assert admin.get(f"/v1/buckets/{bucket}/route").status_code == 200


def test_serve_creates_the_first_admin_token_once(tmp_path: Path) -> None:
    config = tmp_path / "sortie.yaml"
    config.write_text(yaml.safe_dump({"backends": {"disk": {"type": "local", "path": "disk"}},
                                      "state_dir": "state"}))
    sortie = Path(sys.executable).parent / "sortie"

    def serve() -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        process = subprocess.Popen([str(sortie), "serve", "--config", str(config), "--host",
                                    "127.0.0.1", "--port", str(port)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={**os.environ, "SORTIE_CONFIG": ""})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return process, port
            except httpx.HTTPError:
                time.sleep(0.1)
        process.kill()
        raise AssertionError(process.communicate()[1].decode())

    process, port = serve()
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/v1/buckets")
        assert_problem(response, 401)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    text = err.decode()
    tokens = re.findall(r"sortie_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", text)
    assert len(tokens) == 1, text
    process, port = serve()
    try:
        ok = httpx.get(f"http://127.0.0.1:{port}/v1/buckets",
                       headers={"Authorization": f"Bearer {tokens[0]}"})
        assert ok.status_code == 200 and ok.json() == {"buckets": []}
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    # The second start prints no token, and the access log never shows one.
    assert "sortie_" not in err.decode()


def test_tokens_expire(live_local: LiveGateway) -> None:
    live = live_local
    code, out, err = cli(live, "create", "--name", "short", "-s", "read", "--expires-in", "30m")
    assert code == 0, err
    token = out.strip()
    token_id = token.split("_")[1]
    assert live.as_token(token).get("/v1/buckets").status_code == 200
    code, out, _ = cli(live, "list")
    row = next(line.split("\t") for line in out.splitlines() if line.startswith(token_id))
    assert row[5].startswith("active, expires ")
    # Expire it (as if 30 minutes had passed): refused with a clear message, listed as expired.
    import sqlite3

    db = sqlite3.connect(live.state_dir / "tokens.sqlite3")
    db.execute("UPDATE tokens SET expires = '2020-01-01T00:00:00+00:00' WHERE id = ?", (token_id,))
    db.commit()
    db.close()
    refused = assert_problem(live.as_token(token).get("/v1/buckets"), 401)
    assert "expired at 2020-01-01" in refused["detail"] and "sortie token create" in refused["detail"]
    code, out, _ = cli(live, "list")
    row = next(line.split("\t") for line in out.splitlines() if line.startswith(token_id))
    assert row[5] == "expired 2020-01-01T00:00:00+00:00"
    for bad in ("0d", "90x", "-1d", "1.5h"):
        code, _, err = cli(live, "create", "-s", "read", "--expires-in", bad)
        assert code == 2 and "--expires-in" in err, (bad, err)
