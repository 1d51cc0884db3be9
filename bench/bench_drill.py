"""An exit drill against rclone, the peer users already have: SeaweedFS -> Azurite.

Seeds SeaweedFS (through Sortie, so objects carry their ingest SHA-256) with 2,000 x 16 KiB,
4 x 64 MiB and 1 x 300 MiB, then times in the same run, with the same concurrency:
(a) `sortie drill run` (copy, then read every byte back and verify it), and
(b) `rclone copy` + `rclone check` (rclone checks MD5s or sizes; it reads nothing back).
Reports both times, their ratio and the drill's peak RSS (process tree, sampled every 50 ms).
Targets: drill <= 1.0x rclone's copy+check; peak RSS <= 300 MiB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import psutil

from adapters.contract import MiB
from tests.rigs.s3 import seaweed_store
from tests.servers.azurite import ACCOUNT_KEY, start_azurite
from tests.servers.seaweedfs import start_seaweedfs

CONCURRENCY = 8
SMALL, SMALL_SIZE = 2000, 16 * 1024
MEDIUM, MEDIUM_SIZE = 4, 64 * MiB
LARGE_SIZE = 300 * MiB


def pattern(size: int, seed: int) -> Iterator[bytes]:
    block = os.urandom(MiB) if seed < 0 else bytes((seed + i) % 251 for i in range(256)) * 4096
    sent = 0
    counter = 0
    while sent < size:
        chunk = counter.to_bytes(8, "big") + block[8:]
        chunk = chunk[:size - sent]
        sent += len(chunk)
        counter += 1
        yield chunk


def seed(server: Any) -> int:
    store = seaweed_store(server, "bench-seed")
    store.create_bucket("bench")
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda i: store.put("bench", f"small/{i:05d}.bin", os.urandom(SMALL_SIZE)),
                      range(SMALL)))
    for i in range(MEDIUM):
        store.put("bench", f"medium/{i}.bin", pattern(MEDIUM_SIZE, i), size=MEDIUM_SIZE)
    store.put("bench", "large/300mib.bin", pattern(LARGE_SIZE, 99), size=LARGE_SIZE)
    store.close()
    return SMALL * SMALL_SIZE + MEDIUM * MEDIUM_SIZE + LARGE_SIZE


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall time and peak RSS (bytes) of a command and its children."""
    started = time.perf_counter()
    process = psutil.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    peak = 0
    while process.poll() is None:
        try:
            rss = process.memory_info().rss + sum(c.memory_info().rss
                                                  for c in process.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    out, err = process.communicate()
    return elapsed, peak, subprocess.CompletedProcess(command, process.returncode, out, err)


def run(workdir: Path) -> dict[str, Any]:
    rclone = shutil.which("rclone")
    if rclone is None:
        return {"error": "rclone not installed (Debian package rclone; make test installs it)"}
    weed = start_seaweedfs(workdir / "seaweedfs")
    (workdir / "azurite").mkdir()
    azurite = start_azurite(workdir / "azurite")
    try:
        dataset_bytes = seed(weed)
        env = {**os.environ, "BENCH_S3_KEY": weed.access_key, "BENCH_S3_SECRET": weed.secret_key,
               "BENCH_AZ": azurite.connection_string()}
        env.pop("AWS_CA_BUNDLE", None)
        config = workdir / "sortie.yaml"
        config.write_text(json.dumps({
            "state_dir": str(workdir / "state"),
            "backends": {
                "sw": {"type": "s3", "preset": "seaweedfs", "endpoint": weed.endpoint,
                       "region": weed.region, "access_key": "${BENCH_S3_KEY}",
                       "secret_key": "${BENCH_S3_SECRET}"},
                "az": {"type": "azure", "connection_string": "${BENCH_AZ}"}}}))
        drill_s, drill_rss, drill = timed(
            [sys.executable, "-m", "service", "drill", "run", "--config", str(config),
             "--from", "sw:bench", "--to", "az:sortie-copy", "--concurrency", str(CONCURRENCY)],
            env)
        if drill.returncode != 0:
            return {"error": f"drill exited {drill.returncode}: {drill.stderr[-2000:]}"}

        rclone_conf = workdir / "rclone.conf"
        rclone_conf.write_text(
            f"[sw]\ntype = s3\nprovider = SeaweedFS\naccess_key_id = {weed.access_key}\n"
            f"secret_access_key = {weed.secret_key}\nendpoint = {weed.endpoint}\n"
            f"region = {weed.region}\n\n"
            f"[az]\ntype = azureblob\nuse_emulator = true\n"
            f"endpoint = {azurite.account_url}\nkey = {ACCOUNT_KEY}\naccount = devstoreaccount1\n")
        common = [rclone, "--config", str(rclone_conf), "--transfers", str(CONCURRENCY),
                  "--checkers", str(CONCURRENCY), "--retries", "1", "--contimeout", "5s"]
        copy_s, copy_rss, copy = timed([*common, "copy", "sw:bench", "az:rclone-copy"], env)
        if copy.returncode != 0:
            return {"error": f"rclone copy exited {copy.returncode}: {copy.stderr[-2000:]}"}
        check_s, _, check = timed([*common, "check", "sw:bench", "az:rclone-copy"], env)
        if check.returncode != 0:
            return {"error": f"rclone check exited {check.returncode}: {check.stderr[-2000:]}"}
        report = json.loads(next((workdir / "state" / "drills").glob("*/report.json")).read_text())
        rclone_s = copy_s + check_s
        return {
            "dataset": {"objects": SMALL + MEDIUM + 1, "bytes": dataset_bytes},
            "concurrency": CONCURRENCY,
            "drill": {"seconds": round(drill_s, 2), "peak_rss_mib": round(drill_rss / MiB, 1),
                      "status": report["status"], "verified": report["objects"]["verified"],
                      "bytes_read_back": report["bytes"]["verified_read"]},
            "rclone": {"copy_seconds": round(copy_s, 2), "check_seconds": round(check_s, 2),
                       "total_seconds": round(rclone_s, 2),
                       "copy_peak_rss_mib": round(copy_rss / MiB, 1)},
            "ratio_drill_to_rclone": round(drill_s / rclone_s, 3),
            "targets": {"ratio_max": 1.0, "peak_rss_mib_max": 300},
            "load_average": os.getloadavg(),
        }
    finally:
        azurite.process.stop()
        weed.stop()
