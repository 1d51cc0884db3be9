"""An exit drill against rclone, the peer users already have: SeaweedFS -> Azurite.

Seeds SeaweedFS (through Sortie, so objects carry their ingest SHA-256) with 2,000 x 16 KiB,
4 x 64 MiB and 1 x 300 MiB, then times in the same run, with the same concurrency:
(a) `sortie drill run --workers N` (Dask LocalCluster; copy, then read every byte back), N the
    default's worker count on this machine (one per core), or 2 where the default is threads,
(b) `sortie drill run --workers 0` (threads of one process: the default on 2 cores or fewer),
(c) `rclone copy` + `rclone check` (rclone checks MD5s or sizes; it reads nothing back), and
(d) `rclone copy` + `rclone check --download` (which reads both sides back, as a drill does).
Rounds alternate who goes first; each contender's best and median times are reported, and
ratios best to best and median to median (these machines vary within a run too).
Reports times, ratios, CPU seconds of every process and the peak memory of each process tree,
as summed RSS (the target's measure) and summed PSS (shared pages counted once: what the tree
holds when its workers are forked and share their imported modules).
Targets, for the drill `sortie drill run` runs without --workers (`ratios_default_drill`): <= 1.0x
(c) and <= 0.75x (d); peak RSS of the drill's tree <= 400 MiB.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Iterator

import psutil

from adapters.contract import MiB
from exit_drills.distributed import default_workers
from tests.rigs.s3 import seaweed_store
from tests.servers.azurite import ACCOUNT_KEY, AzuriteServer, start_azurite
from tests.servers.seaweedfs import SeaweedServer, start_seaweedfs

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


@dataclass
class Run:
    seconds: float
    #: The peak of the tree's summed RSS: pages shared by processes (a forked worker's imported
    #: modules, shared libraries) count once per process.
    peak_rss: int
    cpu_s: dict[str, float]
    result: subprocess.CompletedProcess[str]
    #: The peak of the tree's summed PSS: each shared page divided among its sharers, so the
    #: sum is the memory the tree holds (sampled every PSS_EVERY s: reading it costs more).
    peak_pss: int = 0


PSS_EVERY = 0.25


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def timed(command: list[str], env: dict[str, str], servers: dict[str, psutil.Process]) -> Run:
    """Wall time, peak RSS (bytes) of a command and its children, and the CPU seconds it and
    each server spent meanwhile (on 2 shared cores, CPU is what the contenders compete for)."""
    before = {name: _cpu(p) for name, p in servers.items()}
    started = time.perf_counter()
    process = psutil.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    peak = peak_pss = 0
    pss_at = 0.0
    # CPU of every process of the tree (the drill's Dask workers too), the last reading of each.
    tree_cpu: dict[int, float] = {}
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            rss = pss = 0
            with_pss = time.monotonic() - pss_at >= PSS_EVERY
            for member in tree:
                try:
                    rss += member.memory_info().rss
                    if with_pss:
                        pss += member.memory_full_info().pss
                    times = member.cpu_times()
                    tree_cpu[member.pid] = times.user + times.system
                except psutil.Error:
                    pass
            peak = max(peak, rss)
            if with_pss:
                peak_pss, pss_at = max(peak_pss, pss), time.monotonic()
        except psutil.Error:
            pass
        time.sleep(0.05)
    own_cpu = sum(tree_cpu.values())
    elapsed = time.perf_counter() - started
    out, err = process.communicate()
    cpu = {"command": round(own_cpu, 1),
           **{name: round(_cpu(p) - before[name], 1) for name, p in servers.items()}}
    result = subprocess.CompletedProcess(command, process.returncode, out, err)
    return Run(elapsed, peak, cpu, result, peak_pss)


def fresh_azurite(workdir: Path, name: str) -> AzuriteServer:
    """An empty Azurite for one contender: Azurite's cost per request grows with the number of
    blobs it holds, so a contender running second on a shared one would be slowed down."""
    folder = workdir / name
    folder.mkdir()
    return start_azurite(folder)


def run_drill(workdir: Path, weed: SeaweedServer, round_no: int,
              servers: dict[str, psutil.Process], workers: int = 2) -> Run:
    azurite = fresh_azurite(workdir, f"azurite-drill-{workers}-{round_no}")
    try:
        env = {**os.environ, "BENCH_S3_KEY": weed.access_key, "BENCH_S3_SECRET": weed.secret_key,
               "BENCH_AZ": azurite.connection_string()}
        env.pop("AWS_CA_BUNDLE", None)
        config = workdir / f"sortie-{workers}-{round_no}.yaml"
        config.write_text(json.dumps({
            "state_dir": str(workdir / f"state-{workers}-{round_no}"),
            "backends": {
                "sw": {"type": "s3", "preset": "seaweedfs", "endpoint": weed.endpoint,
                       "region": weed.region, "access_key": "${BENCH_S3_KEY}",
                       "secret_key": "${BENCH_S3_SECRET}"},
                "az": {"type": "azure", "connection_string": "${BENCH_AZ}"}}}))
        run = timed([sys.executable, "-m", "service", "drill", "run", "--config", str(config),
                     "--from", "sw:bench", "--to", "az:sortie-copy",
                     "--concurrency", str(CONCURRENCY), "--workers", str(workers)],
                    env, {**servers, "azurite": _node(azurite)})
        if run.result.returncode != 0:
            raise RuntimeError(f"drill exited {run.result.returncode}: {run.result.stderr[-2000:]}")
        return run
    finally:
        azurite.process.stop()


def run_rclone(rclone: str, workdir: Path, weed: SeaweedServer, round_no: int,
               servers: dict[str, psutil.Process]) -> tuple[Run, Run, Run]:
    azurite = fresh_azurite(workdir, f"azurite-rclone-{round_no}")
    try:
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        conf = workdir / f"rclone-{round_no}.conf"
        conf.write_text(
            f"[sw]\ntype = s3\nprovider = SeaweedFS\naccess_key_id = {weed.access_key}\n"
            f"secret_access_key = {weed.secret_key}\nendpoint = {weed.endpoint}\n"
            f"region = {weed.region}\n\n"
            f"[az]\ntype = azureblob\nuse_emulator = true\n"
            f"endpoint = {azurite.account_url}\nkey = {ACCOUNT_KEY}\naccount = devstoreaccount1\n")
        common = [rclone, "--config", str(conf), "--transfers", str(CONCURRENCY),
                  "--checkers", str(CONCURRENCY), "--retries", "1", "--contimeout", "5s"]
        watched = {**servers, "azurite": _node(azurite)}
        copy = timed([*common, "copy", "sw:bench", "az:rclone-copy"], env, watched)
        if copy.result.returncode != 0:
            raise RuntimeError(f"rclone copy exited {copy.result.returncode}: "
                               f"{copy.result.stderr[-2000:]}")
        check = timed([*common, "check", "sw:bench", "az:rclone-copy"], env, watched)
        download = timed([*common, "check", "--download", "sw:bench", "az:rclone-copy"], env,
                         watched)
        for name, run in (("check", check), ("check --download", download)):
            if run.result.returncode != 0:
                raise RuntimeError(f"rclone {name} exited {run.result.returncode}: "
                                   f"{run.result.stderr[-2000:]}")
        return copy, check, download
    finally:
        azurite.process.stop()


def sdk_floor(workdir: Path, weed: SeaweedServer, samples: int = 300) -> dict[str, float]:
    """CPU the bare SDKs spend per small object of a drill, without any Sortie code: S3 GetObject,
    Azure Put Blob, Azure Get Blob of 16 KiB, one thread. A drill needs at least this for each
    of its small objects, in one process (one core for Python's threads)."""
    from azure.storage.blob import BlobServiceClient

    azurite = fresh_azurite(workdir, "azurite-floor")
    try:
        s3 = weed.client()
        azure = BlobServiceClient.from_connection_string(azurite.connection_string())
        azure.create_container("floor")
        started = time.process_time()
        for i in range(samples):
            body = s3.get_object(Bucket="bench", Key=f"small/{i:05d}.bin")["Body"].read()
            blob = azure.get_blob_client("floor", f"small/{i:05d}.bin")
            blob.upload_blob(body, overwrite=True)
            blob.download_blob().readall()
        per_object = (time.process_time() - started) / samples
        azure.close()
    finally:
        azurite.process.stop()
    return {"cpu_ms_per_small_object": round(per_object * 1000, 2),
            "small_objects_cpu_seconds": round(per_object * SMALL, 1)}


CORES = os.cpu_count() or 1


def _drill_figures(best: Run, runs: list[Run], report: dict[str, Any] | None) -> dict[str, Any]:
    figures: dict[str, Any] = {"seconds": round(best.seconds, 2),
                               "median_seconds": round(statistics.median(
                                   [r.seconds for r in runs]), 2),
                               "all_seconds": [round(r.seconds, 2) for r in runs],
                               "peak_rss_mib": round(max(r.peak_rss for r in runs) / MiB, 1),
                               "peak_pss_mib": round(max(r.peak_pss for r in runs) / MiB, 1),
                               "cpu_seconds": best.cpu_s,
                               "azurite_busy": _busy(best)}
    if report is not None:
        figures.update(status=report["status"], verified=report["objects"]["verified"],
                       bytes_read_back=report["bytes"]["verified_read"])
    return figures


def _busy(run: Run) -> float:
    """Azurite's CPU seconds over the run's wall time: Azurite serves every request on one
    JavaScript thread, so near 1.0 it is what bounds the run (rclone's copy included)."""
    return round(run.cpu_s["azurite"] / run.seconds, 2)


def _ratios(runs: list[Run], rclone_s: list[float], download_s: list[float]) -> dict[str, float]:
    """A drill's time over rclone's, best against best and median against median."""
    best = min(r.seconds for r in runs)
    median = statistics.median([r.seconds for r in runs])
    return {"to_copy_check": round(best / min(rclone_s), 3),
            "to_copy_check_download": round(best / min(download_s), 3),
            "median_to_copy_check": round(median / statistics.median(rclone_s), 3),
            "median_to_copy_check_download": round(median / statistics.median(download_s), 3)}


def _node(azurite: AzuriteServer) -> psutil.Process:
    assert azurite.process.process is not None
    return psutil.Process(azurite.process.process.pid)


def run(workdir: Path) -> dict[str, Any]:
    rclone = shutil.which("rclone")
    if rclone is None:
        return {"error": "rclone not installed (Debian package rclone; make test installs it)"}
    rounds = int(os.environ.get("SORTIE_BENCH_ROUNDS", "3"))
    # The drill as `sortie drill run` runs it here without --workers, and the other way: threads
    # of one process, and a LocalCluster of as many workers as the default (2 where it is 0).
    default = default_workers()
    n_workers = default or 2
    weed = start_seaweedfs(workdir / "seaweedfs")
    try:
        dataset_bytes = seed(weed)
        servers = {"seaweedfs": psutil.Process(weed.pid)}
        dask: list[Run] = []
        threads: list[Run] = []
        rclones: list[tuple[Run, Run, Run]] = []
        # Alternate who goes first, so that neither always meets a warmer (or busier) machine.
        for round_no in range(rounds):
            order = [lambda: dask.append(run_drill(workdir, weed, round_no, servers, n_workers)),
                     lambda: threads.append(run_drill(workdir, weed, round_no, servers, 0)),
                     lambda: rclones.append(run_rclone(rclone, workdir, weed, round_no, servers))]
            for contender in (order if round_no % 2 == 0 else order[::-1]):
                contender()
        floor = sdk_floor(workdir, weed)
        report = json.loads(next((workdir / f"state-{n_workers}-0" / "drills")
                                 .glob("*/report.json"))
                            .read_text())
        drill = min(dask, key=lambda r: r.seconds)
        single = min(threads, key=lambda r: r.seconds)
        copy, check, download = min(rclones, key=lambda t: t[0].seconds + t[1].seconds)
        rclone_s = [a.seconds + b.seconds for a, b, _ in rclones]
        download_s = [a.seconds + c.seconds for a, _, c in rclones]
        small = SMALL
        return {
            "dataset": {"objects": SMALL + MEDIUM + 1, "bytes": dataset_bytes},
            "concurrency": CONCURRENCY,
            "rounds": rounds,
            f"drill_dask_{n_workers}_workers": _drill_figures(drill, dask, report),
            "drill_threads_1_process": _drill_figures(single, threads, None),
            "rclone": {"copy_seconds": round(copy.seconds, 2),
                       "check_seconds": round(check.seconds, 2),
                       "check_download_seconds": round(download.seconds, 2),
                       "copy_check_seconds": round(min(rclone_s), 2),
                       "copy_check_download_seconds": round(min(download_s), 2),
                       "median_copy_check_seconds": round(statistics.median(rclone_s), 2),
                       "median_copy_check_download_seconds": round(
                           statistics.median(download_s), 2),
                       "all_copy_check_seconds": [round(t, 2) for t in rclone_s],
                       "all_copy_check_download_seconds": [round(t, 2) for t in download_s],
                       "copy_peak_rss_mib": round(max(a.peak_rss for a, _, _ in rclones) / MiB, 1),
                       "copy_peak_pss_mib": round(max(a.peak_pss for a, _, _ in rclones) / MiB, 1),
                       "copy_cpu_seconds": copy.cpu_s, "copy_azurite_busy": _busy(copy),
                       "check_cpu_seconds": check.cpu_s,
                       "check_download_cpu_seconds": download.cpu_s,
                       "check_download_azurite_busy": _busy(download)},
            # The drill as `sortie drill run` runs it here without --workers (the targets' drill),
            # then both ways of running it, each against rclone of the same rounds.
            "ratios_default_drill": _ratios(dask if default else threads, rclone_s, download_s),
            f"ratios_dask_{n_workers}_workers": _ratios(dask, rclone_s, download_s),
            "ratios_threads_1_process": _ratios(threads, rclone_s, download_s),
            "default_workers_here": default,
            # Small objects per second per core: the drill's whole dataset is dominated by them.
            "small_objects_per_s_per_core": {
                f"dask_{n_workers}_workers": round(small / drill.seconds / CORES, 1),
                "threads_1_process": round(small / single.seconds / CORES, 1)},
            # What boto3 and azure-storage-blob alone cost for the small objects (no Sortie
            # code): compare it with rclone's whole time to see how much of the gap is the SDKs.
            "sdk_floor": floor,
            "targets": {"ratio_copy_check_max": 1.0, "ratio_copy_check_download_max": 0.75,
                        "peak_rss_mib_max": 400},
            "load_average": os.getloadavg(),
        }
    finally:
        weed.stop()
