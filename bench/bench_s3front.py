"""The S3 front's cost over calling an adapter directly, on SeaweedFS (S3) when it can run here.

Figures, with boto3 as the client (its own SigV4 signing and default aws-chunked CRC32 bodies
count, as they would for an application):
- PUT and GET of 64 MiB through the S3 front vs the same adapter in-process, median of ROUNDS
  interleaved rounds (target >= 0.9x);
- the same boto3 calls straight to the backend's own S3 endpoint (SeaweedFS), interleaved too:
  the client's own floor, so `front_vs_boto3_direct` is the front's cost alone;
- CPU seconds of the benchmark process (client), the gateway and the backend server over the
  front's GETs and over the direct boto3 GETs;
- the gateway's CPU per front PUT and GET;
- the floor: the CPU per 64 MiB GET and PUT of the least a Python gateway does
  (bench/floor_proxy.py: the same adapter, uvicorn, nothing else), with and without the
  integrity work Sortie cannot skip (SHA-256 of every byte served; SHA-256 and MD5 of every
  byte stored);
- 4 KiB GET latency, p50 through the front minus p50 direct (target <= 3 ms);
- the bound on the PUT ratio where a backend takes metadata only at creation (S3): the MD5 of
  the body, timed here, before the adapter's PUT.
The gateway runs as `sortie serve --s3-port` in its own process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any



from .bench_gateway import Served, _free_port

MiB = 1024 * 1024
BIG = 64 * MiB
SMALL = 4 * 1024
ROUNDS = 5
LATENCY_SAMPLES = 300


def run(workdir: Path) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    s3_port = _free_port()
    served = Served.start(workdir, "--s3-port", str(s3_port))
    config_path, env, store, gateway = served.config_path, served.env, served.store, served.gateway
    sortie = [sys.executable, "-m", "service"]
    try:
        made = subprocess.run([*sortie, "token", "create", "--config", str(config_path),
                               "--scope", "admin", "--s3"], capture_output=True, text=True,
                              env=env, check=True)
        keys = dict(line.split(": ", 1) for line in made.stdout.splitlines() if ": " in line)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}",
                          aws_access_key_id=keys["access_key_id"],
                          aws_secret_access_key=keys["secret_access_key"],
                          region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
        deadline = time.monotonic() + 30
        while True:
            try:
                s3.create_bucket(Bucket="bench")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if gateway.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start; see gateway.log") from None
                time.sleep(0.2)
        bucket = "bench"
        results: dict[str, Any] = {"backend": served.description, "client": "boto3"}
        straight = _straight_client(served)
        if straight is not None:
            straight.create_bucket(Bucket="bench-direct")
        results.update(_throughput(s3, store, bucket, straight, served))
        results.update(_latency(s3, store, bucket, straight))
        results.update(_put_bound(results))
        if straight is not None:
            results.update(_floor(served, store, bucket))
        results["targets"] = {"put_ratio>=0.9": results["put_ratio"] >= 0.9,
                              "get_ratio>=0.9": results["get_ratio"] >= 0.9,
                              "get_4k_p50_overhead_ms<=3":
                                  results["get_4k_p50_overhead_ms"] <= 3}
        return results
    finally:
        served.stop()


def _straight_client(served: Any) -> Any:
    """boto3 to the backend's own S3 endpoint (None when the backend is not S3)."""
    import boto3
    from botocore.config import Config

    server = served.server
    if server is None or not hasattr(server, "endpoint"):
        return None
    return boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key, region_name=server.region,
                        config=Config(retries={"max_attempts": 1}))


def _read_all(client: Any, bucket: str, key: str) -> int:
    stream = client.get_object(Bucket=bucket, Key=key)["Body"]
    return sum(len(chunk) for chunk in iter(lambda: stream.read(MiB), b""))


def _cpu(processes: dict[str, Any]) -> dict[str, float]:
    """CPU seconds (user + system) of each process so far (itself only: the gateway and the
    backend server are children of the benchmark's process)."""
    out = {}
    for name, process in processes.items():
        try:
            out[name] = sum(process.cpu_times()[:2])
        except Exception:  # noqa: BLE001 - a process gone: no figure
            out[name] = float("nan")
    return out


def _throughput(s3: Any, store: Any, bucket: str, straight: Any = None,
                served: Any = None) -> dict[str, Any]:
    import psutil

    body = os.urandom(BIG)
    direct_put, front_put, direct_get, front_get = [], [], [], []
    boto_put, boto_get = [], []
    processes = {"client": psutil.Process()}
    if served is not None:
        processes["gateway"] = psutil.Process(served.gateway.pid)
        server_process = getattr(getattr(served.server, "_process", None), "process", None)
        if server_process is not None:
            processes["backend"] = psutil.Process(server_process.pid)
    cpu_front = dict.fromkeys(processes, 0.0)
    cpu_front_put = dict.fromkeys(processes, 0.0)
    cpu_boto = dict.fromkeys(processes, 0.0)
    for _ in range(ROUNDS):
        started = time.perf_counter()
        store.put(bucket, "direct-64m", body)
        direct_put.append(time.perf_counter() - started)
        before = _cpu(processes)
        started = time.perf_counter()
        s3.put_object(Bucket=bucket, Key="front-64m", Body=body)
        front_put.append(time.perf_counter() - started)
        for name, seconds in _cpu(processes).items():
            cpu_front_put[name] += seconds - before[name]
        started = time.perf_counter()
        with store.get(bucket, "direct-64m") as reader:
            assert sum(len(chunk) for chunk in reader) == BIG
        direct_get.append(time.perf_counter() - started)
        before = _cpu(processes)
        started = time.perf_counter()
        size = _read_all(s3, bucket, "front-64m")
        front_get.append(time.perf_counter() - started)
        assert size == BIG
        for name, seconds in _cpu(processes).items():
            cpu_front[name] += seconds - before[name]
        if straight is not None:
            started = time.perf_counter()
            straight.put_object(Bucket="bench-direct", Key="boto-64m", Body=body)
            boto_put.append(time.perf_counter() - started)
            before = _cpu(processes)
            started = time.perf_counter()
            assert _read_all(straight, "bench-direct", "boto-64m") == BIG
            boto_get.append(time.perf_counter() - started)
            for name, seconds in _cpu(processes).items():
                cpu_boto[name] += seconds - before[name]

    def mib_s(times: list[float]) -> float:
        return round(BIG / MiB / statistics.median(times), 1)

    figures = {
        "put_64m_direct_mib_s": mib_s(direct_put), "put_64m_front_mib_s": mib_s(front_put),
        "get_64m_direct_mib_s": mib_s(direct_get), "get_64m_front_mib_s": mib_s(front_get),
        "put_ratio": round(statistics.median(direct_put) / statistics.median(front_put), 3),
        "get_ratio": round(statistics.median(direct_get) / statistics.median(front_get), 3),
        "cpu_s_per_front_get": {k: round(v / ROUNDS, 3) for k, v in cpu_front.items()},
        "cpu_s_per_front_put": {k: round(v / ROUNDS, 3) for k, v in cpu_front_put.items()}}
    if boto_get:
        figures.update({
            "put_64m_boto3_direct_mib_s": mib_s(boto_put),
            "get_64m_boto3_direct_mib_s": mib_s(boto_get),
            "put_front_vs_boto3_direct": round(statistics.median(boto_put)
                                               / statistics.median(front_put), 3),
            "get_front_vs_boto3_direct": round(statistics.median(boto_get)
                                               / statistics.median(front_get), 3),
            "cpu_s_per_boto3_direct_get": {k: round(v / ROUNDS, 3) for k, v in cpu_boto.items()}})
    return figures


def _put_bound(figures: dict[str, Any]) -> dict[str, Any]:
    """The best PUT ratio the front can reach on a backend that takes metadata only when an
    object is created (S3: an object's SHA-256 and MD5, which the front must record, are in its
    metadata): the whole body is hashed before the backend gets its first byte, so a front PUT
    takes at least the MD5 of the body (the slower of the two hashes, run beside SHA-256) plus
    the adapter's own PUT. Both timed here, in this run."""
    import hashlib

    body = os.urandom(BIG)
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        hashlib.md5(body, usedforsecurity=False).digest()
        times.append(time.perf_counter() - started)
    md5_s = statistics.median(times)
    direct_s = BIG / MiB / figures["put_64m_direct_mib_s"]
    return {"md5_64m_s": round(md5_s, 3),
            "put_ratio_bound_metadata_at_creation": round(direct_s / (direct_s + md5_s), 3)}


def _latency(s3: Any, store: Any, bucket: str, straight: Any = None) -> dict[str, Any]:
    body = os.urandom(SMALL)
    store.put(bucket, "small-4k", body)
    if straight is not None:
        straight.put_object(Bucket="bench-direct", Key="small-4k", Body=body)
    for _ in range(20):
        s3.get_object(Bucket=bucket, Key="small-4k")["Body"].read()
        store.get(bucket, "small-4k").read()
    direct, front, boto = [], [], []
    for _ in range(LATENCY_SAMPLES):
        if straight is not None:
            started = time.perf_counter()
            assert straight.get_object(Bucket="bench-direct", Key="small-4k")["Body"].read() \
                == body
            boto.append(time.perf_counter() - started)
        started = time.perf_counter()
        with store.get(bucket, "small-4k") as reader:
            assert reader.read() == body
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert s3.get_object(Bucket=bucket, Key="small-4k")["Body"].read() == body
        front.append(time.perf_counter() - started)
    direct_p50, front_p50 = statistics.median(direct) * 1000, statistics.median(front) * 1000
    figures = {"get_4k_direct_p50_ms": round(direct_p50, 2),
               "get_4k_front_p50_ms": round(front_p50, 2),
               "get_4k_p50_overhead_ms": round(front_p50 - direct_p50, 2)}
    if boto:
        # The same client straight to the backend: what the front adds, boto3's own cost aside.
        boto_p50 = statistics.median(boto) * 1000
        figures.update({"get_4k_boto3_direct_p50_ms": round(boto_p50, 2),
                        "get_4k_front_vs_boto3_direct_overhead_ms": round(front_p50 - boto_p50,
                                                                          2)})
    return figures


def _floor(served: Any, store: Any, bucket: str) -> dict[str, Any]:
    """CPU seconds per 64 MiB GET and PUT of bench/floor_proxy.py, with the integrity work and
    without (curl as client)."""
    import psutil

    body = os.urandom(BIG)
    store.put(bucket, "floor-64m", body)
    upload = Path(served.config_path).parent / "floor-64m.bin"
    upload.write_bytes(body)
    server = served.server
    figures: dict[str, Any] = {}
    for verify in ("0", "1"):
        port = _free_port()
        env = {**os.environ, "FLOOR_ENDPOINT": server.endpoint, "FLOOR_ACCESS": server.access_key,
               "FLOOR_SECRET": server.secret_key, "FLOOR_VERIFY": verify,
               "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        proxy = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.floor_proxy:app",
                                  "--port", str(port), "--no-access-log", "--log-level",
                                  "warning"], env=env)
        try:
            url = f"http://127.0.0.1:{port}/{bucket}/floor-64m"
            deadline = time.monotonic() + 30
            while subprocess.run(["curl", "-sf", "-o", "/dev/null", url]).returncode != 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("the floor proxy did not start")
                time.sleep(0.3)
            process = psutil.Process(proxy.pid)
            suffix = "_verifying" if verify == "1" else ""
            for method, command in (("get", ["curl", "-sf", "-o", "/dev/null", url]),
                                    ("put", ["curl", "-sf", "-o", "/dev/null", "-T",
                                             str(upload), url.replace("floor-64m", "put-64m")])):
                before = sum(process.cpu_times()[:2])
                for _ in range(ROUNDS):
                    subprocess.run(command, check=True)
                figures[f"floor_proxy_cpu_s_per_{method}{suffix}"] = round(
                    (sum(process.cpu_times()[:2]) - before) / ROUNDS, 3)
        finally:
            proxy.terminate()
            proxy.wait(15)
    return figures
