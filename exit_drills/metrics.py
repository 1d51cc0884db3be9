"""Prometheus metrics of scheduled drills, in their own registry: the scheduler serves it on its
/metrics port, and the gateway can import `REGISTRY` (or the gauges) to expose them too."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from .spec import DrillReport

REGISTRY = CollectorRegistry(auto_describe=True)

LAST_SUCCESS = Gauge("sortie_drill_last_success_timestamp_seconds",
                     "Unix time the drill last finished with every object verified",
                     ["drill"], registry=REGISTRY)
LAST_RUN = Gauge("sortie_drill_last_run_timestamp_seconds", "Unix time the drill last finished",
                 ["drill"], registry=REGISTRY)
LAST_PASSED = Gauge("sortie_drill_last_passed", "1 if the drill's last run passed, else 0",
                    ["drill"], registry=REGISTRY)
DURATION = Gauge("sortie_drill_duration_seconds", "Duration of the drill's last run",
                 ["drill"], registry=REGISTRY)
BYTES = Gauge("sortie_drill_bytes", "Bytes copied by the drill's last run", ["drill"],
              registry=REGISTRY)
SOURCE_BYTES = Gauge("sortie_drill_source_bytes", "Size of the drill's source dataset",
                     ["drill"], registry=REGISTRY)
FAILED = Gauge("sortie_drill_failed_objects", "Objects that failed in the drill's last run",
               ["drill"], registry=REGISTRY)


def observe(report: DrillReport) -> None:
    name = report.name
    finished = report.finished.timestamp()
    LAST_RUN.labels(name).set(finished)
    LAST_PASSED.labels(name).set(1 if report.status == "passed" else 0)
    if report.status == "passed":
        LAST_SUCCESS.labels(name).set(finished)
    DURATION.labels(name).set(report.duration_s)
    BYTES.labels(name).set(report.bytes.copied)
    SOURCE_BYTES.labels(name).set(report.bytes.total)
    FAILED.labels(name).set(report.objects.failed)


def observe_crash(name: str) -> None:
    """A run that ended without a report (e.g. a backend could not be opened)."""
    LAST_PASSED.labels(name).set(0)
