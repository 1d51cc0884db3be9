"""Azure adapter vs plain azure-storage-blob calls, side by side against one Azurite.

Workloads: put and get of one 64 MiB object, and of 1,000 objects of 16 KiB (sequential, so the
per-call overhead shows). Each is timed `ROUNDS` times, adapter and SDK interleaved object by
object, and the median kept; the ratio adapter/SDK is the figure to watch (target <= 1.1). The
client's CPU time is reported too: on a shared machine it is steadier than wall time.

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

from adapters.registry import build_store
from adapters.config import AzureBackend
from bench import timed
from tests.servers.azurite import ACCOUNT, ACCOUNT_KEY, start_azurite

MiB = 1024 * 1024
ROUNDS = 5
SMALL_COUNT = 1000
SMALL_SIZE = 16 * 1024
LARGE_SIZE = 64 * MiB


def run(workdir: Path) -> dict[str, object]:
    server = start_azurite(workdir)
    try:
        return _measure(server.port)
    finally:
        server.process.stop()


def _measure(port: int) -> dict[str, object]:
    conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
    sdk = BlobServiceClient.from_connection_string(conn)
    store = build_store("bench", AzureBackend(type="azure", connection_string=conn),  # type: ignore[arg-type]
                        Path("."))
    sdk.create_container("sdk")
    store.create_bucket("sortie")
    large = os.urandom(LARGE_SIZE)
    small = [os.urandom(SMALL_SIZE) for _ in range(SMALL_COUNT)]
    sdk_container = sdk.get_container_client("sdk")

    # Each variant is an action on item i. Variants are interleaved item by item (the order
    # rotating), so a neighbour's load burst hits them all alike; a round's figure for a variant
    # is the sum of its item times.
    Action = Callable[[int], object]

    def sortie_get(key: str) -> None:
        with store.get("sortie", key) as body:
            body.read()

    small_key = "small/{:04d}".format
    workloads: dict[str, tuple[int, dict[str, Action]]] = {
        "put_64MiB": (1, {
            "sortie": lambda i: store.put("sortie", "large", large),
            "sdk": lambda i: sdk_container.upload_blob("large", large, overwrite=True),
            # The plain call with the per-request Content-MD5 the adapter always sends.
            "sdk_md5": lambda i: sdk_container.upload_blob("large", large, overwrite=True,
                                                           validate_content=True)}),
        "get_64MiB": (1, {
            "sortie": lambda i: sortie_get("large"),
            "sdk": lambda i: sdk_container.download_blob("large").readall()}),
        "put_1000x16KiB": (SMALL_COUNT, {
            "sortie": lambda i: store.put("sortie", small_key(i), small[i]),
            "sdk": lambda i: sdk_container.upload_blob(small_key(i), small[i], overwrite=True),
            "sdk_md5": lambda i: sdk_container.upload_blob(small_key(i), small[i],
                                                           overwrite=True, validate_content=True)}),
        "get_1000x16KiB": (SMALL_COUNT, {
            "sortie": lambda i: sortie_get(small_key(i)),
            "sdk": lambda i: sdk_container.download_blob(small_key(i)).readall()}),
    }
    figures: dict[str, object] = {"rounds": ROUNDS, "cpu_count": os.cpu_count(),
                                  "load_average_before": os.getloadavg()[0]}
    for name, (count, variants) in workloads.items():
        wall: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        for round_ in range(ROUNDS):
            totals = {v: 0.0 for v in variants}
            cpu_totals = {v: 0.0 for v in variants}
            for i in range(count):
                order = list(variants.items())
                turn = (round_ + i) % len(order)
                for variant, action in order[turn:] + order[:turn]:
                    started_cpu = time.process_time()
                    totals[variant] += timed(lambda: action(i))
                    cpu_totals[variant] += time.process_time() - started_cpu
            for variant in variants:
                wall[variant].append(totals[variant])
                cpu[variant].append(cpu_totals[variant])
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
