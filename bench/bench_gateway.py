"""The gateway's cost over calling an adapter directly, on SeaweedFS (S3) when it can run here.

Figures:
- PUT and GET of 64 MiB through the gateway vs the same adapter called in-process, median and
  best of ROUNDS interleaved rounds (target: gateway throughput >= 0.8x direct);
- 4 KiB GET latency, p50 through the gateway minus p50 direct (target <= 5 ms);
- peak gateway RSS above idle while one client PUTs a 1 GiB object (target < 150 MiB).

The gateway runs as `sortie serve` in its own process (so its RSS is its own), with the client,
the gateway and the storage server sharing this machine's cores.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
import yaml

from adapters.registry import build_store
from service.config import load
from service.tokens import TokenStore

MiB = 1024 * 1024
BIG = 64 * MiB
SMALL = 4 * 1024
HUGE = 1024 * MiB
ROUNDS = 5
LATENCY_SAMPLES = 300


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_backend(workdir: Path) -> tuple[dict[str, Any], dict[str, str], str, Any]:
    """(backend settings, env for its secrets, description, server to stop or None)."""
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.servers.seaweedfs import start_seaweedfs

        server = start_seaweedfs(workdir / "seaweedfs")
    except Exception as exc:  # noqa: BLE001 - fall back to local disk, and say so
        return ({"type": "local", "path": "local-main"}, {},
                f"local disk (SeaweedFS unavailable: {type(exc).__name__}: {exc})", None)
    settings = {"type": "s3", "preset": "seaweedfs", "endpoint": server.endpoint,
                "region": server.region, "access_key": "${BENCH_S3_ACCESS}",
                "secret_key": "${BENCH_S3_SECRET}"}
    env = {"BENCH_S3_ACCESS": server.access_key, "BENCH_S3_SECRET": server.secret_key}
    return settings, env, "SeaweedFS (weed mini, S3 adapter)", server


class RawClient:
    """One keep-alive connection through http.client (C-buffered reads), so the figures measure
    the gateway rather than a pure-Python client's HTTP parser."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = self.conn.getresponse()
        return response.status, response.read()

    def get_size(self, path: str) -> int:
        """GET a body, counting its bytes without keeping them."""
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        buffer = bytearray(MiB)
        size = 0
        while True:
            count = response.readinto(buffer)
            if not count:
                return size
            size += count

    def close(self) -> None:
        self.conn.close()


def _chunks(total: int, chunk: bytes) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = chunk[:total - sent]
        sent += len(piece)
        yield piece


def run(workdir: Path) -> dict[str, Any]:
    import psutil

    served = Served.start(workdir)
    config, port, store, gateway = served.config, served.port, served.store, served.gateway
    description = served.description
    token, _ = TokenStore(config.state_dir).create("bench", ["admin"], ["*"])
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                          headers={"Authorization": f"Bearer {token}"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or gateway.poll() is not None:
                raise RuntimeError("the gateway did not start; see gateway.log")
            time.sleep(0.1)
        bucket = "bench"
        assert client.put(f"/v1/buckets/{bucket}").status_code == 201
        results: dict[str, Any] = {"backend": description}
        raw = RawClient(port, token)
        results.update(_throughput(raw, store, bucket))
        results.update(_latency(raw, store, bucket))
        raw.close()
        results.update(_memory(client, bucket, psutil.Process(gateway.pid)))
        results["targets"] = {
            "put_ratio>=0.8": results["put_ratio"] >= 0.8,
            "get_ratio>=0.8": results["get_ratio"] >= 0.8,
            "get_4k_p50_overhead_ms<=5": results["get_4k_p50_overhead_ms"] <= 5,
            "put_1gib_peak_rss_above_idle_mib<150": results["put_1gib_peak_rss_above_idle_mib"] < 150,
        }
        return results
    finally:
        client.close()
        served.stop()


@dataclass
class Served:
    """`sortie serve` in its own process over one backend (SeaweedFS when it runs here), and the
    same backend's store called in-process, for side-by-side figures."""

    description: str
    config_path: Path
    config: Any
    env: dict[str, str]
    port: int
    gateway: subprocess.Popen[bytes]
    log: Any
    server: Any
    store: Any

    @classmethod
    def start(cls, workdir: Path, *serve_args: str) -> "Served":
        backend, secrets_env, description, server = _start_backend(workdir)
        config_path = workdir / "sortie.yaml"
        config_path.write_text(yaml.safe_dump({"backends": {"main": backend},
                                               "state_dir": "state"}))
        env = {**os.environ, **secrets_env, "SORTIE_CONFIG": ""}
        config = load(config_path, environ=env)
        port = _free_port()
        log = open(workdir / "gateway.log", "wb")
        gateway = subprocess.Popen([sys.executable, "-m", "service", "serve", "--config",
                                    str(config_path), "--port", str(port), *serve_args],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)
        store = build_store("main", config.settings.backends["main"], config.base_dir)
        return cls(description, config_path, config, env, port, gateway, log, server, store)

    def stop(self) -> None:
        """The store, the gateway process (killed if it does not exit), its log, the server."""
        self.store.close()
        self.gateway.terminate()
        try:
            self.gateway.wait(15)
        except subprocess.TimeoutExpired:
            self.gateway.kill()
        self.log.close()
        if self.server is not None:
            self.server.stop()


def _throughput(client: RawClient, store: Any, bucket: str) -> dict[str, Any]:
    body = os.urandom(BIG)
    digest = hashlib.sha256(body).hexdigest()
    direct_put, gateway_put, direct_get, gateway_get = [], [], [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        store.put(bucket, "direct-64m", body, content_type="application/octet-stream")
        direct_put.append(time.perf_counter() - started)

        started = time.perf_counter()
        status, answer = client.request("PUT", f"/v1/buckets/{bucket}/objects/gateway-64m", body,
                                        {"X-Sortie-Sha256": digest})
        gateway_put.append(time.perf_counter() - started)
        assert status == 200, answer

        started = time.perf_counter()
        with store.get(bucket, "direct-64m") as reader:
            size = sum(len(chunk) for chunk in reader)
        direct_get.append(time.perf_counter() - started)
        assert size == BIG

        started = time.perf_counter()
        size = client.get_size(f"/v1/buckets/{bucket}/objects/gateway-64m")
        gateway_get.append(time.perf_counter() - started)
        assert size == BIG

    def mbps(times: list[float]) -> float:
        return round(BIG / MiB / statistics.median(times), 1)

    return {
        "put_64m_direct_mib_s": mbps(direct_put), "put_64m_gateway_mib_s": mbps(gateway_put),
        "get_64m_direct_mib_s": mbps(direct_get), "get_64m_gateway_mib_s": mbps(gateway_get),
        "put_ratio": round(statistics.median(direct_put) / statistics.median(gateway_put), 3),
        "get_ratio": round(statistics.median(direct_get) / statistics.median(gateway_get), 3),
        # Best of the rounds: on a shared machine the medians carry other processes' load.
        "put_ratio_best": round(min(direct_put) / min(gateway_put), 3),
        "get_ratio_best": round(min(direct_get) / min(gateway_get), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _latency(client: RawClient, store: Any, bucket: str) -> dict[str, Any]:
    body = os.urandom(SMALL)
    store.put(bucket, "small-4k", body)
    path = f"/v1/buckets/{bucket}/objects/small-4k"
    for _ in range(20):  # warm connections on both paths
        client.request("GET", path)
        store.get(bucket, "small-4k").read()
    direct, through = [], []
    for _ in range(LATENCY_SAMPLES):
        started = time.perf_counter()
        with store.get(bucket, "small-4k") as reader:
            assert reader.read() == body
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        status, answer = client.request("GET", path)
        through.append(time.perf_counter() - started)
        assert status == 200 and answer == body
    direct_p50 = statistics.median(direct) * 1000
    gateway_p50 = statistics.median(through) * 1000
    return {"get_4k_direct_p50_ms": round(direct_p50, 2),
            "get_4k_gateway_p50_ms": round(gateway_p50, 2),
            "get_4k_p50_overhead_ms": round(gateway_p50 - direct_p50, 2)}


def _memory(client: httpx.Client, bucket: str, process: Any) -> dict[str, Any]:
    time.sleep(1)
    idle = process.memory_info().rss
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        # A generator body: sent chunked, the gateway cannot size anything from a length.
        response = client.put(f"/v1/buckets/{bucket}/objects/huge-1g",
                              content=_chunks(HUGE, os.urandom(MiB)))
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.json()["size"] == HUGE
    return {"put_1gib_seconds": round(seconds, 1),
            "gateway_idle_rss_mib": round(idle / MiB, 1),
            "put_1gib_peak_rss_above_idle_mib": round((peak - idle) / MiB, 1)}
