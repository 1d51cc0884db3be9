"""Prometheus metrics of the gateway, labelled by backend and operation.

Each app has its own registry, so several gateways (tests, benchmarks) in one process do not share
counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("sortie_requests", "Gateway requests",
                                ["backend", "operation", "status"], registry=self.registry)
        self.bytes = Counter("sortie_bytes", "Body bytes through the gateway",
                             ["backend", "operation", "direction"], registry=self.registry)
        self.latency = Histogram("sortie_request_duration_seconds",
                                 "Time from request to the end of the response",
                                 ["backend", "operation"], buckets=_BUCKETS, registry=self.registry)
        self.corrupt_reads = Counter("sortie_corrupt_reads",
                                     "Reads refused because the stored bytes did not match the "
                                     "SHA-256 recorded at ingest", ["backend"],
                                     registry=self.registry)

    def observe(self, backend: str, operation: str, status: int, seconds: float,
                bytes_in: int, bytes_out: int) -> None:
        self.requests.labels(backend, operation, str(status)).inc()
        self.latency.labels(backend, operation).observe(seconds)
        if bytes_in:
            self.bytes.labels(backend, operation, "in").inc(bytes_in)
        if bytes_out:
            self.bytes.labels(backend, operation, "out").inc(bytes_out)

    def render(self) -> bytes:
        return generate_latest(self.registry)
