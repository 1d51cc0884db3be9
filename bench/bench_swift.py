"""Swift adapter vs plain python-swiftclient calls, side by side against one local Swift.

Workloads: put and get of one 64 MiB object, and of 300 objects of 16 KiB (sequential, so the
per-call overhead shows). Each is timed `ROUNDS` times, adapter and swiftclient alternating, and
the median kept; the ratio adapter/swiftclient is the figure to watch. The 64 MiB GET reads the
same stored SLO both ways; a GET of a plain single 64 MiB object is reported for reference.

What the adapter does on top: SHA-256 of every byte; for 64 MiB, a Static Large Object (16 MiB
segments sent one after the other, then the manifest) where swiftclient sends one 64 MiB PUT;
for small puts, a HEAD first (to find the segments of an SLO being overwritten) and the MD5
computed before the PUT so Swift can check it. swiftclient's own SLO upload (SwiftService, 16 MiB
segments, its default thread pools) is reported too, for reference.
"""

from __future__ import annotations

import io
import os
import statistics
from pathlib import Path
from typing import Callable

import swiftclient
from swiftclient.service import SwiftService, SwiftUploadObject

from adapters.contract import MiB
from adapters.config import SwiftBackend
from adapters.contract import ObjectStore
from adapters.registry import build_store
from bench import timed
from tests.servers.swift import SwiftServer, start_swift

ROUNDS = 3
SMALL_COUNT = 300
SMALL_SIZE = 16 * 1024
LARGE_SIZE = 64 * MiB


def run(workdir: Path) -> dict[str, object]:
    server = start_swift()
    try:
        return _measure(server, workdir)
    finally:
        server.close()


def _measure(server: SwiftServer, workdir: Path) -> dict[str, object]:
    store = build_store("bench", SwiftBackend(type="swift", auth_url=server.auth_url,  # type: ignore[arg-type]
                                              auth_version="1", username=server.user,
                                              password=server.key))
    raw = swiftclient.Connection(authurl=server.auth_url, user=server.user, key=server.key,
                                 auth_version="1")
    store.create_bucket("sortie")
    raw.put_container("plain")
    large = os.urandom(LARGE_SIZE)
    small = [os.urandom(SMALL_SIZE) for _ in range(SMALL_COUNT)]
    loads: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "put_64MiB": (lambda: store.put("sortie", "large", large),
                      lambda: raw.put_object("plain", "large", io.BytesIO(large),
                                             content_length=LARGE_SIZE)),
        # The same stored SLO read both ways: the adapter's own cost on a GET.
        "get_64MiB": (lambda: _read_sortie(store, "large", LARGE_SIZE),
                      lambda: _read_raw(raw, "large", LARGE_SIZE, container="sortie")),
        f"put_{SMALL_COUNT}x16KiB": (
            lambda: [store.put("sortie", f"small/{i:04d}", small[i]) for i in range(SMALL_COUNT)],
            lambda: [raw.put_object("plain", f"small/{i:04d}", small[i])
                     for i in range(SMALL_COUNT)]),
        f"get_{SMALL_COUNT}x16KiB": (
            lambda: [_read_sortie(store, f"small/{i:04d}", SMALL_SIZE) for i in range(SMALL_COUNT)],
            lambda: [_read_raw(raw, f"small/{i:04d}", SMALL_SIZE) for i in range(SMALL_COUNT)]),
    }
    results: dict[str, object] = {"rounds": ROUNDS, "server": "single-node Swift 2.30 (Debian)",
                                  "segment_size": store.capabilities.part_size_for(LARGE_SIZE)}
    for name, (sortie_action, raw_action) in loads.items():
        sortie_times: list[float] = []
        raw_times: list[float] = []
        for _ in range(ROUNDS):
            sortie_times.append(timed(sortie_action))
            raw_times.append(timed(raw_action))
        sortie_s, raw_s = statistics.median(sortie_times), statistics.median(raw_times)
        results[name] = {"sortie_s": round(sortie_s, 4), "swiftclient_s": round(raw_s, 4),
                         "ratio": round(sortie_s / raw_s, 3)}
    source = workdir / "large.bin"
    source.write_bytes(large)
    with SwiftService({"auth": server.auth_url, "user": server.user, "key": server.key,
                       "auth_version": "1.0", "segment_size": 16 * MiB,
                       "use_slo": True}) as service:
        def slo_upload() -> None:
            for result in service.upload("plain", [SwiftUploadObject(str(source),
                                                                     object_name="slo")]):
                if not result["success"]:
                    raise RuntimeError(result.get("error"))
        times = [timed(slo_upload) for _ in range(ROUNDS)]
    results["reference_swiftservice_slo_put_64MiB_s"] = round(statistics.median(times), 4)
    plain_get = [timed(lambda: _read_raw(raw, "large", LARGE_SIZE)) for _ in range(ROUNDS)]
    results["reference_swiftclient_get_64MiB_single_object_s"] = round(
        statistics.median(plain_get), 4)
    store.close()
    raw.close()
    return results


def _read_sortie(store: ObjectStore, key: str, size: int) -> int:
    with store.get("sortie", key) as body:
        assert len(body.read()) == size
    return size


def _read_raw(raw: swiftclient.Connection, key: str, size: int, container: str = "plain") -> int:
    _, body = raw.get_object(container, key)
    assert len(body) == size
    return size
