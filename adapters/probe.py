"""A health probe over the ObjectStore contract, for `sortie backends check` (any backend).

Steps: reach the backend and authenticate (list buckets), then put / get / head / delete one
small object under a scratch prefix, checking the bytes and the recorded SHA-256. The first
failure ends the probe with a one-line diagnosis built from the error class (reachability,
authentication, permissions...) and the adapter's own message, which names the likely cause
(wrong endpoint, bad key, clock skew). Nothing here knows about a particular backend.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .contract import ObjectStore
from .errors import (AuthError, NotFound, StorageError, TransientError)

PROBE_PREFIX = "sortie-probe/"


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class ProbeReport:
    backend: str
    steps: list[Step] = field(default_factory=list)
    diagnosis: str = "ok"

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


def diagnose(step: str, exc: StorageError) -> str:
    if isinstance(exc, AuthError):
        kind = "authentication failed"
    elif isinstance(exc, TransientError):
        kind = "unreachable or failing" if step == "reach" else "backend failing"
    elif isinstance(exc, NotFound):
        kind = "not found"
    else:
        kind = "error"
    return f"{step}: {kind}: {exc}"


def probe(store: ObjectStore, bucket: str | None = None) -> ProbeReport:
    """Run the probe; `bucket` is used if given, else a scratch bucket is created and removed."""
    report = ProbeReport(backend=store.name)
    scratch = bucket is None
    name = bucket or f"sortie-probe-{uuid.uuid4().hex[:12]}"
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    data = os.urandom(4096)
    digest = hashlib.sha256(data).hexdigest()

    def run(step: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail = action()
        except StorageError as exc:
            report.steps.append(Step(step, False, time.monotonic() - started, str(exc)))
            report.diagnosis = diagnose(step, exc)
            return False
        except AssertionError as exc:
            report.steps.append(Step(step, False, time.monotonic() - started, str(exc)))
            report.diagnosis = f"{step}: {exc}"
            return False
        report.steps.append(Step(step, True, time.monotonic() - started, detail))
        return True

    def reach() -> str:
        return f"{len(store.list_buckets())} bucket(s) visible"

    def make_bucket() -> str:
        if scratch:
            store.create_bucket(name)
            return f"scratch bucket {name} created"
        if not store.bucket_exists(name):
            raise NotFound("no such bucket", backend=store.name, bucket=name)
        return f"bucket {name} exists"

    def put() -> str:
        info = store.put(name, key, data, content_type="application/octet-stream")
        if info.sha256 != digest:
            raise AssertionError(f"put recorded SHA-256 {info.sha256}, expected {digest}")
        return f"{len(data)} bytes as {key}"

    def get() -> str:
        with store.get(name, key) as body:
            back = body.read()
        if back != data:
            raise AssertionError("the bytes read back differ from those written")
        head = store.head(name, key)
        if head.sha256 != digest:
            raise AssertionError(f"head returned SHA-256 {head.sha256}, expected {digest}")
        return "bytes and SHA-256 match"

    def delete() -> str:
        store.delete(name, key)
        try:
            store.head(name, key)
        except NotFound:
            return "gone"
        raise AssertionError("the object is still there after delete")

    if run("reach", reach) and run("bucket", make_bucket):
        if run("put", put):
            run("get", get) and run("delete", delete)
        _cleanup(store, name, key, scratch)
    return report


def _cleanup(store: ObjectStore, bucket: str, key: str, scratch: bool) -> None:
    try:
        store.delete(bucket, key)
        if scratch:
            store.delete_bucket(bucket)
    except StorageError:
        pass  # best effort: the probe's result is what matters
