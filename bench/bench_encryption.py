"""Client-side encryption's cost, side by side with the same store unencrypted, on SeaweedFS (S3)
when it can run here (else local disk).

Figures:
- PUT and GET of 64 MiB through the encryption layer vs the store alone, median of ROUNDS
  interleaved rounds (target: encrypted >= 0.8x unencrypted). PUTs are measured twice: from
  bytes in memory, and from a stream of 1 MiB chunks of known length (what the gateway hands
  over: the layer must spool the ciphertext until it knows the plaintext's SHA-256);
- a 1 MiB range in the middle of a 1 GiB encrypted object: bytes fetched from the backend
  (target: a few segments, not the object) and its time beside the same range unencrypted.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from adapters.config import LocalBackend, S3Backend
from adapters.contract import ByteRange, ObjectStore
from adapters.encryption import streaming
from adapters.encryption.keys import Keyring, create_key_file
from adapters.layers.base import Layer
from adapters.layers.stack import encrypted
from adapters.registry import build_store
from adapters.streams import ObjectReader

MiB = 1024 * 1024
BIG = 64 * MiB
HUGE = 1024 * MiB
ROUNDS = 5


class CountingStore(Layer):
    """Counts the bytes the backend sends for gets (ranges included)."""

    fetched = 0

    def get(self, bucket: str, key: str, byte_range: ByteRange | None = None) -> ObjectReader:
        reader = self.inner.get(bucket, key, byte_range)

        def counted() -> Iterator[bytes]:
            for chunk in reader:
                self.fetched += len(chunk)
                yield chunk
        return ObjectReader(reader.info, counted(), start=reader.start, end=reader.end,
                            on_close=reader.close)


def _backend(workdir: Path) -> tuple[ObjectStore, str, Any]:
    try:
        import sys
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.servers.seaweedfs import start_seaweedfs

        server = start_seaweedfs(workdir / "seaweedfs")
    except Exception as exc:  # noqa: BLE001 - fall back to local disk, and say so
        store = build_store("main", LocalBackend(type="local", path=workdir / "disk"), workdir)
        return store, f"local disk (SeaweedFS unavailable: {type(exc).__name__}: {exc})", None
    settings = S3Backend(type="s3", preset="seaweedfs", endpoint=server.endpoint,
                         region=server.region, access_key=server.access_key,  # type: ignore[arg-type]
                         secret_key=server.secret_key)  # type: ignore[arg-type]
    return build_store("main", settings, workdir), "SeaweedFS (weed mini, S3 adapter)", server


def _stream(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), MiB):
        yield data[start:start + MiB]


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _drain(store: ObjectStore, bucket: str, key: str,
           byte_range: ByteRange | None = None) -> int:
    size = 0
    with store.get(bucket, key, byte_range) as body:
        for chunk in body:
            size += len(chunk)
    return size


def _throughput(plain: ObjectStore, sealed: ObjectStore, bucket: str) -> dict[str, Any]:
    data = os.urandom(BIG)
    times: dict[str, list[float]] = {name: [] for name in (
        "put_bytes_plain", "put_bytes_encrypted", "put_stream_plain", "put_stream_encrypted",
        "get_plain", "get_encrypted")}
    for _ in range(ROUNDS):  # interleaved, so a slow moment of the machine hits both sides
        for label, store in (("plain", plain), ("encrypted", sealed)):
            times[f"put_bytes_{label}"].append(_seconds(
                lambda: store.put(bucket, f"big-{label}", data)))
            times[f"put_stream_{label}"].append(_seconds(
                lambda: store.put(bucket, f"big-{label}", _stream(data), size=BIG)))
            times[f"get_{label}"].append(_seconds(
                lambda: _drain(store, bucket, f"big-{label}")))
    median = {name: statistics.median(values) for name, values in times.items()}
    mib_s = {name: round(BIG / MiB / value, 1) for name, value in median.items()}
    return {
        "throughput_mib_s": mib_s,
        "ratio_put_bytes": round(median["put_bytes_plain"] / median["put_bytes_encrypted"], 3),
        "ratio_put_stream": round(median["put_stream_plain"] / median["put_stream_encrypted"], 3),
        "ratio_get": round(median["get_plain"] / median["get_encrypted"], 3),
        "target_ratio": 0.8,
    }


def _range(plain: ObjectStore, keyring: Keyring, bucket: str) -> dict[str, Any]:
    key = keyring.named("bench")
    sealed = encrypted(plain, keyring, key)
    block = os.urandom(16 * MiB)

    def huge() -> Iterator[bytes]:
        for _ in range(HUGE // len(block)):
            yield block
    sealed.put(bucket, "huge", huge(), size=HUGE)
    plain.put(bucket, "huge-plain", huge(), size=HUGE)
    counting = CountingStore(plain)
    reader = encrypted(counting, keyring, key)
    wanted = ByteRange(HUGE // 2 + 12345, HUGE // 2 + 12345 + MiB - 1)
    timed = {"encrypted": [], "plain": []}  # type: dict[str, list[float]]
    for _ in range(ROUNDS):
        counting.fetched = 0
        timed["encrypted"].append(_seconds(lambda: _drain(reader, bucket, "huge", wanted)))
        timed["plain"].append(_seconds(lambda: _drain(plain, bucket, "huge-plain", wanted)))
    return {"range_1mib_of_1gib": {
        "bytes_fetched": counting.fetched,
        "segments_fetched": round((counting.fetched - streaming.HEADER) / streaming.SEGMENT, 2),
        "object_bytes": HUGE,
        "ms_encrypted": round(statistics.median(timed["encrypted"]) * 1000, 1),
        "ms_plain": round(statistics.median(timed["plain"]) * 1000, 1)}}


def run(workdir: Path) -> dict[str, Any]:
    plain, description, server = _backend(workdir)
    keyring = Keyring({"bench": create_key_file(workdir / "bench.key")})
    sealed = encrypted(plain, keyring, keyring.named("bench"))
    bucket = "bench-encryption"
    try:
        plain.create_bucket(bucket)
        results: dict[str, Any] = {"backend": description, "object_mib": BIG // MiB,
                                   "rounds": ROUNDS}
        results.update(_throughput(plain, sealed, bucket))
        results.update(_range(plain, keyring, bucket))
        return results
    finally:
        plain.close()
        if server is not None:
            server.stop()
