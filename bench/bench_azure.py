"""Azure adapter vs plain azure-storage-blob calls, side by side against one Azurite.

Workloads: put and get of one 64 MiB object, and of 1,000 objects of 16 KiB (sequential, so the
per-call overhead shows). Each is timed `ROUNDS` times, adapter and SDK alternating, and the
median kept; the ratio adapter/SDK is the figure to watch (target <= 1.1).

The adapter does more than the plain calls: SHA-256 of every byte, Content-MD5 on every request
(the plain calls send none), metadata encoding; and for 64 MiB it sends 8 MiB staged blocks, 4 in
flight, where the plain upload_blob sends one 64 MiB Put Blob.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Callable

from azure.storage.blob import BlobServiceClient

from adapters.azure import from_config
from adapters.config import AzureBackend
from tests.servers.azurite import AZURITE, ACCOUNT, ACCOUNT_KEY
from tests.servers.process import ServerProcess, free_port, port_open

MiB = 1024 * 1024
ROUNDS = 5
SMALL_COUNT = 1000
SMALL_SIZE = 16 * 1024
LARGE_SIZE = 64 * MiB


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run(workdir: Path) -> dict[str, object]:
    port = free_port()
    server = ServerProcess(
        "azurite", [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port),
                    "--location", str(workdir / "data"), "--skipApiVersionCheck", "--loose",
                    "--disableTelemetry", "--silent"], log_dir=workdir, cwd=workdir)
    server.start()
    try:
        server.wait_until(lambda: port_open(port), timeout=60)
        return _measure(port)
    finally:
        server.stop()


def _measure(port: int) -> dict[str, object]:
    conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
    sdk = BlobServiceClient.from_connection_string(conn)
    store = from_config("bench", AzureBackend(type="azure", connection_string=conn),  # type: ignore[arg-type]
                        Path("."))
    sdk.create_container("sdk")
    store.create_bucket("sortie")
    large = os.urandom(LARGE_SIZE)
    small = [os.urandom(SMALL_SIZE) for _ in range(SMALL_COUNT)]
    sdk_container = sdk.get_container_client("sdk")

    def sdk_put_large() -> None:
        sdk_container.upload_blob("large", large, overwrite=True)

    def sortie_put_large() -> None:
        store.put("sortie", "large", large)

    def sdk_put_large_md5() -> None:
        sdk_container.upload_blob("large", large, overwrite=True, validate_content=True)

    def sdk_get_large() -> None:
        assert len(sdk_container.download_blob("large").readall()) == LARGE_SIZE

    def sortie_get_large() -> None:
        with store.get("sortie", "large") as body:
            assert len(body.read()) == LARGE_SIZE

    def sdk_put_small() -> None:
        for i, data in enumerate(small):
            sdk_container.upload_blob(f"small/{i:04d}", data, overwrite=True)

    def sortie_put_small() -> None:
        for i, data in enumerate(small):
            store.put("sortie", f"small/{i:04d}", data)

    def sdk_put_small_md5() -> None:
        for i, data in enumerate(small):
            sdk_container.upload_blob(f"small/{i:04d}", data, overwrite=True,
                                      validate_content=True)

    def sdk_get_small() -> None:
        for i in range(SMALL_COUNT):
            sdk_container.download_blob(f"small/{i:04d}").readall()

    def sortie_get_small() -> None:
        for i in range(SMALL_COUNT):
            with store.get("sortie", f"small/{i:04d}") as body:
                body.read()

    # name -> {variant: action}; "sdk" is the plain call, "sdk_md5" the plain call with the same
    # per-request Content-MD5 that the adapter always sends.
    workloads: dict[str, dict[str, Callable[[], None]]] = {
        "put_64MiB": {"sortie": sortie_put_large, "sdk": sdk_put_large, "sdk_md5": sdk_put_large_md5},
        "get_64MiB": {"sortie": sortie_get_large, "sdk": sdk_get_large},
        "put_1000x16KiB": {"sortie": sortie_put_small, "sdk": sdk_put_small,
                           "sdk_md5": sdk_put_small_md5},
        "get_1000x16KiB": {"sortie": sortie_get_small, "sdk": sdk_get_small},
    }
    figures: dict[str, object] = {"rounds": ROUNDS, "cpu_count": os.cpu_count(),
                                  "load_average_before": os.getloadavg()[0]}
    for name, variants in workloads.items():
        wall: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        for round_ in range(ROUNDS):
            # Rotate who goes first so a warm-up or a busy neighbour hurts all alike.
            order = list(variants.items())
            order = order[round_ % len(order):] + order[:round_ % len(order)]
            for variant, action in order:
                started_cpu = time.process_time()
                wall[variant].append(_timed(action))
                cpu[variant].append(time.process_time() - started_cpu)
        entry: dict[str, object] = {}
        for variant in variants:
            entry[f"{variant}_s"] = round(statistics.median(wall[variant]), 4)
            entry[f"{variant}_min_s"] = round(min(wall[variant]), 4)
            entry[f"{variant}_client_cpu_s"] = round(statistics.median(cpu[variant]), 4)
        for base in ("sdk", "sdk_md5"):
            if base in variants:
                entry[f"ratio_vs_{base}"] = round(statistics.median(wall["sortie"])
                                                  / statistics.median(wall[base]), 3)
                entry[f"ratio_min_vs_{base}"] = round(min(wall["sortie"]) / min(wall[base]), 3)
        figures[name] = entry
    figures["load_average_after"] = os.getloadavg()[0]
    store.close()
    sdk.close()
    return figures
