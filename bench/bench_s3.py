"""S3 adapter vs plain boto3 calls, side by side against one SeaweedFS (`weed mini`).

Workloads: put and get of one 64 MiB object, and of 1,000 objects of 16 KiB (sequential, so the
per-call overhead shows). Each is timed `ROUNDS` times, adapter and boto3 alternating (call by
call for the small objects), and the median kept; the ratio adapter/boto3 is the figure to watch
(target <= 1.1).

Same calls on both sides: for 64 MiB, boto3's upload_fileobj is given the adapter's part size and
concurrency (8 MiB parts, 4 in flight: CreateMultipartUpload, 8 UploadPart, Complete). What the
adapter does on top: SHA-256 of every byte; for a large put whose hash was not announced, a
spool, because S3 takes metadata (the SHA-256) at CreateMultipartUpload, so the whole object is
hashed before its first part can leave (adapters/s3/store.py), while with the hash announced
parts stream straight out; Content-MD5 on single PUTs; metadata encoding; the retry layer. A single 64 MiB PutObject by
boto3 is reported too, for reference.
"""

from __future__ import annotations

import hashlib
import io
import os
import statistics
from pathlib import Path
from typing import Any, Callable

from boto3.s3.transfer import TransferConfig

from adapters.layers.base import innermost
from adapters.contract import MiB
from bench import timed
from tests.rigs.s3 import seaweed_store
from tests.servers.seaweedfs import start_seaweedfs

ROUNDS = 7
SMALL_COUNT = 1000
SMALL_SIZE = 16 * 1024
LARGE_SIZE = 64 * MiB


def run(workdir: Path) -> dict[str, object]:
    server = start_seaweedfs(workdir / "seaweedfs")
    try:
        return _measure(server)
    finally:
        server.stop()


def _measure(server: Any) -> dict[str, object]:
    store = seaweed_store(server, "bench")
    s3: Any = innermost(store)
    # The adapter's own boto3 client (pool, timeouts, checksums), used without the adapter.
    boto = s3.client
    transfer = TransferConfig(multipart_threshold=s3._part_size(LARGE_SIZE),
                              multipart_chunksize=s3._part_size(LARGE_SIZE),
                              max_concurrency=s3.concurrency, use_threads=True)
    boto.create_bucket(Bucket="boto")
    store.create_bucket("sortie")
    large = os.urandom(LARGE_SIZE)
    large_sha256 = hashlib.sha256(large).hexdigest()
    small = [os.urandom(SMALL_SIZE) for _ in range(SMALL_COUNT)]

    # Large objects: one call per side per round, sides alternating.
    large_loads: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "put_64MiB": (
            lambda: store.put("sortie", "large", large),
            lambda: boto.upload_fileobj(io.BytesIO(large), "boto", "large", Config=transfer)),
        # What drills do: size and SHA-256 known from the source, parts streamed straight out.
        "put_64MiB_announced_sha256": (
            lambda: store.put("sortie", "large", large, expected_sha256=large_sha256),
            lambda: boto.upload_fileobj(io.BytesIO(large), "boto", "large", Config=transfer)),
        "get_64MiB": (
            lambda: _read_sortie(store, "large", LARGE_SIZE),
            lambda: _read_boto(boto, "large", LARGE_SIZE)),
    }
    # Small objects: the two sides alternate call by call, so a server slowing down for a moment
    # (other work on the machine) weighs on both alike.
    small_loads: dict[str, tuple[Callable[[int], object], Callable[[int], object]]] = {
        "put_1000x16KiB": (
            lambda i: store.put("sortie", f"small/{i:04d}", small[i]),
            lambda i: boto.put_object(Bucket="boto", Key=f"small/{i:04d}", Body=small[i])),
        "get_1000x16KiB": (
            lambda i: _read_sortie(store, f"small/{i:04d}", SMALL_SIZE),
            lambda i: _read_boto(boto, f"small/{i:04d}", SMALL_SIZE)),
    }
    results: dict[str, object] = {"rounds": ROUNDS, "server": "seaweedfs weed mini",
                                  "part_size": s3._part_size(LARGE_SIZE),
                                  "concurrency": s3.concurrency}
    for name, (sortie_action, boto_action) in large_loads.items():
        sortie_times: list[float] = []
        boto_times: list[float] = []
        for _ in range(ROUNDS):
            sortie_times.append(timed(sortie_action))
            boto_times.append(timed(boto_action))
        results[name] = _figures(sortie_times, boto_times)
    for name, (sortie_call, boto_call) in small_loads.items():
        sortie_times, boto_times = [], []
        for _ in range(ROUNDS):
            sortie_total = boto_total = 0.0
            for i in range(SMALL_COUNT):
                sortie_total += timed(lambda: sortie_call(i))
                boto_total += timed(lambda: boto_call(i))
            sortie_times.append(sortie_total)
            boto_times.append(boto_total)
        results[name] = _figures(sortie_times, boto_times)
    single = [timed(lambda: boto.put_object(Bucket="boto", Key="single", Body=large))
              for _ in range(ROUNDS)]
    results["reference_boto3_single_put_64MiB_s"] = round(statistics.median(single), 4)
    store.close()
    boto.close()
    return results


def _figures(sortie_times: list[float], boto_times: list[float]) -> dict[str, float]:
    """Medians and their ratio, plus the ratio of the best rounds (less sensitive to other work
    on a shared machine)."""
    sortie_s, boto_s = statistics.median(sortie_times), statistics.median(boto_times)
    return {"sortie_s": round(sortie_s, 4), "boto3_s": round(boto_s, 4),
            "ratio": round(sortie_s / boto_s, 3),
            "best_ratio": round(min(sortie_times) / min(boto_times), 3)}


def _read_sortie(store: Any, key: str, size: int) -> None:
    with store.get("sortie", key) as body:
        assert len(body.read()) == size


def _read_boto(boto: Any, key: str, size: int) -> None:
    assert len(boto.get_object(Bucket="boto", Key=key)["Body"].read()) == size
