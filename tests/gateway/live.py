"""A real gateway for tests: the app under a real uvicorn server (in a thread) on a free port.

Each live gateway has its own config file and state dir, two backends: `main` (the backend under
test: local disk, SeaweedFS or Azurite) and `spare` (local disk, for bucket placement and route
switches), and an admin token.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import uvicorn
import yaml
from fastapi import FastAPI

from service.app import create_app
from service.config import LoadedConfig, load
from service.tokens import TokenStore

from ..servers.process import free_port


class ThreadedUvicorn:
    """uvicorn.Server running in a daemon thread; `stop()` asks it to exit and waits."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}",
                                       daemon=True)

    def start(self) -> "ThreadedUvicorn":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass
class LiveGateway:
    kind: str
    url: str
    config_path: Path
    env: dict[str, str]
    config: LoadedConfig
    app: FastAPI
    server: ThreadedUvicorn
    admin_token: str
    client: httpx.Client = field(repr=False)

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    def token(self, scopes: list[str], buckets: list[str] | None = None) -> str:
        token, _ = TokenStore(self.state_dir).create("test", scopes, buckets or ["*"])
        return token

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120)

    def as_token(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120,
                            headers={"Authorization": f"Bearer {token}"})

    def new_bucket(self, backend: str | None = None) -> str:
        name = "g-" + uuid.uuid4().hex[:16]
        params = {"backend": backend} if backend else None
        response = self.client.put(f"/v1/buckets/{name}", params=params)
        assert response.status_code == 201, response.text
        return name

    def audit_lines(self) -> list[dict[str, Any]]:
        import json

        path = self.config.audit_log
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]

    def wait_audit(self, count: int, token_id: str, timeout: float = 10) -> list[dict[str, Any]]:
        """The audit lines of one token once there are `count` (lines are written after the
        response has gone out, so a client may see its answer a moment before the line)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.audit_lines() if line.get("token") == token_id]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def stop(self) -> None:
        self.client.close()
        self.server.stop()


def start_gateway(kind: str, workdir: Path, main_backend: dict[str, Any],
                  env: dict[str, str] | None = None,
                  extra: dict[str, Any] | None = None) -> LiveGateway:
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "sortie.yaml"
    config_path.write_text(yaml.safe_dump({
        "backends": {"main": main_backend, "spare": {"type": "local", "path": "spare"}},
        "default_backend": "main",
        "state_dir": "state",
        **(extra or {}),
    }))
    full_env = {**os.environ, **(env or {})}
    config = load(config_path, environ=full_env)
    app = create_app(config)
    admin_token, _ = TokenStore(config.state_dir).create("admin", ["admin"], ["*"])
    server = ThreadedUvicorn(app).start()
    url = f"http://127.0.0.1:{server.port}"
    client = httpx.Client(base_url=url, timeout=120,
                          headers={"Authorization": f"Bearer {admin_token}"})
    return LiveGateway(kind, url, config_path, full_env, config, app, server, admin_token, client)


def pattern_bytes(size: int, seed: int = 1) -> Iterator[bytes]:
    """`size` deterministic pseudo-random bytes in 1 MiB chunks (never all in memory)."""
    import hashlib

    block = hashlib.sha256(str(seed).encode()).digest() * (1024 * 1024 // 32)
    sent = 0
    counter = 0
    while sent < size:
        # Vary each chunk so that a misplaced chunk changes the hash.
        chunk = counter.to_bytes(8, "big") + block[8:]
        chunk = chunk[:size - sent]
        sent += len(chunk)
        counter += 1
        yield chunk


def pattern_sha256(size: int, seed: int = 1) -> str:
    import hashlib

    digest = hashlib.sha256()
    for chunk in pattern_bytes(size, seed):
        digest.update(chunk)
    return digest.hexdigest()
