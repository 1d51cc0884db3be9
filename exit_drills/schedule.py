"""`sortie scheduler`: run the configured drills on their cron schedules (UTC).

Each run is an ordinary drill (same engine, same history, same reports), so a scheduled drill is
as good evidence as one run by hand. A drill never overlaps itself: a run still going when its
next time comes is not started twice (APScheduler max_instances=1, missed runs coalesced).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from adapters.config import BackendConfig

from . import history, metrics
from .distributed import Execution
from .evidence.attestation import Signer
from .runner import run_drill
from .spec import DrillReport, DrillSchedule

log = logging.getLogger("sortie.drills")


def _unsigned(started_by: str) -> Signer:
    return Signer(started_by=started_by)


def run_scheduled(schedule: DrillSchedule, backends: Mapping[str, BackendConfig], *,
                  base_dir: Path, state_dir: Path,
                  secret_refs: Mapping[str, Mapping[str, str]] | None = None,
                  signer: Callable[[str], Signer] | None = None,
                  key_files: Mapping[str, Path] | None = None,
                  history_at: history.Where | None = None) -> DrillReport | None:
    """One run of a scheduled drill; failures are logged and counted, never raised (the
    scheduler must go on with the next run)."""
    log.info("drill %s starting: %s -> %s (%s)", schedule.name, schedule.source, schedule.target,
             schedule.mode.value)
    try:
        report = run_drill(schedule.spec(), backends, base_dir=base_dir, state_dir=state_dir,
                           execution=Execution(schedule.workers, schedule.scheduler),
                           secret_refs=secret_refs, key_files=key_files, history_at=history_at,
                           signer=(signer or _unsigned)(f"scheduler:{schedule.name}"))
    except Exception:  # noqa: BLE001 - reported through logs and metrics
        log.exception("drill %s could not run", schedule.name)
        metrics.observe_crash(schedule.name)
        return None
    metrics.observe(report)
    log.info("drill %s %s: %d/%d verified, %d failed, %.1f s (report %s)", schedule.name,
             report.status, report.objects.verified, report.objects.total, report.objects.failed,
             report.duration_s, report.id)
    return report


def build_scheduler(drills: list[DrillSchedule], backends: Mapping[str, BackendConfig], *,
                    base_dir: Path, state_dir: Path, run_now: bool = False,
                    secret_refs: Mapping[str, Mapping[str, str]] | None = None,
                    signer: Callable[[str], Signer] | None = None,
                    key_files: Mapping[str, Path] | None = None,
                    history_at: history.Where | None = None) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    for drill in drills:
        kwargs = dict(args=[drill, backends], kwargs={"base_dir": base_dir, "state_dir": state_dir,
                                                      "secret_refs": secret_refs,
                                                      "signer": signer, "key_files": key_files,
                                                      "history_at": history_at},
                      id=drill.name, name=f"drill {drill.name}", max_instances=1, coalesce=True,
                      misfire_grace_time=3600)
        scheduler.add_job(run_scheduled, CronTrigger.from_crontab(drill.cron, timezone="UTC"),
                          **kwargs)
        if run_now:
            scheduler.add_job(run_scheduled, "date", **{**kwargs, "id": f"{drill.name}-now"})
    return scheduler


def run_scheduler(drills: list[DrillSchedule], backends: Mapping[str, BackendConfig], *,
                  base_dir: Path, state_dir: Path, metrics_port: int | None = None,
                  metrics_host: str = "127.0.0.1", run_now: bool = False,
                  secret_refs: Mapping[str, Mapping[str, str]] | None = None,
                  signer: Callable[[str], Signer] | None = None,
                  key_files: Mapping[str, Path] | None = None,
                  history_at: history.Where | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host, registry=metrics.REGISTRY)
        log.info("metrics on http://%s:%d/metrics", metrics_host, metrics_port)
    scheduler = build_scheduler(drills, backends, base_dir=base_dir, state_dir=state_dir,
                                run_now=run_now, secret_refs=secret_refs, signer=signer,
                                key_files=key_files, history_at=history_at)
    for job in scheduler.get_jobs():
        log.info("scheduled %s: %s", job.name, job.trigger)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
