"""What a drill is asked to do (DrillSpec, DrillSchedule) and what it reports (DrillReport).

These are the edges of the package: the CLI, the scheduler's configuration and the gateway build
specs from user input, and report.json is written from (and documented as) `DrillReport`.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from adapters.errors import StorageError
from adapters.names import check_bucket, check_prefix

_ENDPOINT = re.compile(r"^(?P<backend>[a-z][a-z0-9_-]{0,31}):(?P<bucket>[^/]+)(?:/(?P<prefix>.*))?$")


class Mode(str, Enum):
    #: Copy every source object, then read it back and verify it.
    full = "full"
    #: As full, but objects the target already holds with the same size, SHA-256, content type
    #: and metadata are not copied again; their target bytes are still read back and checked
    #: (a copy damaged since is copied again), unless `read_back_skipped` is off.
    incremental = "incremental"
    #: Copy nothing: compare each source object with the target's copy.
    verify_only = "verify-only"


class Endpoint(BaseModel):
    """`BACKEND:BUCKET[/PREFIX]`: a configured backend, one of its buckets, and a key prefix."""

    model_config = ConfigDict(frozen=True)

    backend: str
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> "Endpoint":
        match = _ENDPOINT.fullmatch(text.strip())
        if not match:
            raise ValueError(f"{text!r}: expected BACKEND:BUCKET or BACKEND:BUCKET/PREFIX")
        bucket, prefix = match["bucket"], match["prefix"] or ""
        try:
            check_bucket(bucket)
            if prefix:
                check_prefix(prefix, bucket=bucket)
        except StorageError as exc:
            raise ValueError(f"{text!r}: {exc}") from None
        return cls(backend=match["backend"], bucket=bucket, prefix=prefix)

    def __str__(self) -> str:
        return f"{self.backend}:{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")


class DrillSpec(BaseModel):
    """One drill. Keys are kept whole: a source key K is written to the target as
    `target.prefix + K`, so that once a bucket's route is switched applications find the same
    names. With no target prefix the keys are identical."""

    model_config = ConfigDict(extra="forbid")

    name: str = "adhoc"
    source: Endpoint
    target: Endpoint
    mode: Mode = Mode.full
    concurrency: int = Field(default=8, ge=1, le=256)
    cleanup: bool = False
    #: Incremental mode: read back the target bytes of the objects it does not copy again. Off,
    #: those objects are trusted on their recorded hashes alone and the drill cannot switch a
    #: route (nothing proves their bytes).
    read_back_skipped: bool = True

    @model_validator(mode="after")
    def _apart(self) -> "DrillSpec":
        """A drill into its own source proves nothing (it "passes" reading what it wrote), and
        into a prefix overlapping it would copy its own copies: both are refused."""
        overlap = overlapping(self.source, self.target)
        if overlap:
            raise ValueError(overlap)
        return self

    def target_key(self, source_key: str) -> str:
        return self.target.prefix + source_key

    @property
    def target_scan_prefix(self) -> str:
        """Where copies of this drill's source objects live in the target."""
        return self.target.prefix + self.source.prefix


def explain(exc: ValueError) -> str:
    """A spec's validation error in words, without pydantic's framing."""
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return str(exc)


def overlapping(source: Endpoint, target: Endpoint) -> str | None:
    """Why a drill from `source` to `target` would read what it writes, or None."""
    if (source.backend, source.bucket) != (target.backend, target.bucket):
        return None
    if source.prefix == target.prefix:
        return (f"source and target are the same place ({source}): a drill must copy to "
                "another bucket, or another backend")
    # Source keys K land at target.prefix + K: the source sees them again when that lies
    # under the source prefix, and the target's scan sees source objects when the source lies
    # under the target prefix.
    if target.prefix.startswith(source.prefix) or source.prefix.startswith(target.prefix):
        return (f"source {source} and target {target} overlap (one prefix lies inside the "
                "other in the same bucket): the drill would read its own copies")
    return None


class DrillSchedule(BaseModel):
    """One `drills:` entry of the configuration: a named drill run on a cron schedule."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    source: str = Field(alias="from")
    target: str = Field(alias="to")
    mode: Mode = Mode.full
    #: Standard five-field crontab expression (minute hour day month weekday), in UTC.
    cron: str
    concurrency: int = Field(default=8, ge=1, le=256)
    cleanup: bool = False
    read_back_skipped: bool = True
    #: Where its objects are drilled: worker processes of a LocalCluster (0: threads of the
    #: scheduler's process), or an existing Dask cluster (`tcp://HOST:8786`). Unlike `sortie
    #: drill run` (one drill, one process: one worker per core by default), the scheduler runs
    #: drills side by side for days: a cluster of one worker per core started unasked for each
    #: would have them compete for the same cores, so it is the operator's choice here (compose
    #: points the scheduler's drills at its Dask cluster).
    workers: int = Field(default=0, ge=0, le=256)
    scheduler: str | None = Field(default=None, pattern=r"^(tcp|tls)://[^\s]+$")

    @field_validator("source", "target")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        Endpoint.parse(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"cron {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _apart(self) -> "DrillSchedule":
        overlap = overlapping(Endpoint.parse(self.source), Endpoint.parse(self.target))
        if overlap:
            raise ValueError(overlap)
        return self

    def spec(self) -> DrillSpec:
        return DrillSpec(name=self.name, source=Endpoint.parse(self.source),
                         target=Endpoint.parse(self.target), mode=self.mode,
                         concurrency=self.concurrency, cleanup=self.cleanup,
                         read_back_skipped=self.read_back_skipped)


def check_schedules(drills: list[DrillSchedule], backends: set[str]) -> list[str]:
    """Problems with the configured drills (unknown backends, repeated names), as messages."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, drill in enumerate(drills):
        if drill.name in seen:
            problems.append(f"drills.{index}.name: {drill.name!r} is used by another drill")
        seen.add(drill.name)
        for label, text in (("from", drill.source), ("to", drill.target)):
            backend = Endpoint.parse(text).backend
            if backend not in backends:
                problems.append(f"drills.{index}.{label}: backend {backend!r} is not configured "
                                f"(configured: {', '.join(sorted(backends))})")
    return problems


# ---- report.json ------------------------------------------------------------------------------
class EncryptionNote(BaseModel):
    """What a drill could check of objects encrypted on the client side: it holds no key."""

    #: Objects of this run that held ciphertext (resumed objects are not counted again).
    objects: int
    #: Of those, decrypted on the target and checked against their plaintext SHA-256.
    decrypted: int = 0
    verification: str

    @classmethod
    def of(cls, objects: int, decrypted: int = 0) -> "EncryptionNote | None":
        if not objects:
            return None
        said = ("copied as ciphertext, with the wrapped data key in the metadata (the exit "
                "provider never sees plaintext), and verified by reading the ciphertext back and "
                "comparing its SHA-256 with the source's; ")
        if decrypted == objects:
            said += ("each target copy was also decrypted with the configured key and its "
                     "plaintext SHA-256 checked")
        elif decrypted:
            said += (f"{decrypted} of them were also decrypted with a configured key and their "
                     f"plaintext SHA-256 checked; the others' keys are not configured here")
        else:
            said += "no key of theirs is configured here, so their plaintext was not checked"
        return cls(objects=objects, decrypted=decrypted, verification=said)


class ObjectCounts(BaseModel):
    #: Objects found in the source (under its prefix).
    total: int = 0
    #: Copied in this run (then read back and verified, or failed).
    copied: int = 0
    #: Incremental mode: already in the target with the same size and SHA-256, not copied.
    skipped: int = 0
    #: Verified in an earlier run of this drill (before `--resume`), not touched again.
    resumed: int = 0
    #: Every object whose target copy was proven identical by reading its bytes back, in this
    #: drill (this run or an earlier run of the same drill id).
    verified: int = 0
    #: Skipped objects trusted on their recorded hashes without reading their bytes back
    #: (`read_back_skipped` off): not verified, and they make the drill unable to switch a route.
    not_read_back: int = 0
    failed: int = 0


class ByteCounts(BaseModel):
    #: Size of the source dataset (every object under the source prefix).
    total: int = 0
    #: Bytes read from the source and written to the target in this run.
    copied: int = 0
    #: Bytes read back from the target (or the source, in verify-only) to check them.
    verified_read: int = 0


class Failure(BaseModel):
    key: str
    reason: str


class Projection(BaseModel):
    """How long and how much a full exit of the source would take, from this drill's numbers."""

    source_bytes: int
    throughput_bytes_per_s: float | Literal["unknown"]
    #: Where that throughput comes from: this drill's copy rate, the read rate of a verify-only
    #: drill (reading, not copying: said so), the last full drill of the same source and target
    #: (named), or why it is unknown.
    throughput_basis: str = ""
    full_exit_seconds: float | Literal["unknown"]
    full_exit_days: float | Literal["unknown"]
    egress_price_per_gb: float | Literal["unknown"]
    egress_currency: str | Literal["unknown"]
    egress_cost: float | Literal["unknown"]
    price_source: str
    window_days: int = 30
    #: Whether the full exit fits in the EU Data Act's 30-day transition window.
    fits: bool | Literal["unknown"]
    window_basis: str = "EU Data Act (Regulation 2023/2854) art. 25: transition period <= 30 days"


class Sample(BaseModel):
    #: Seconds since the drill started, and bytes copied (or read, in verify-only) so far.
    t: float
    bytes: int


class DrillReport(BaseModel):
    id: str
    name: str
    status: Literal["passed", "failed"]
    source: str
    target: str
    mode: Mode
    concurrency: int
    started: datetime
    finished: datetime
    duration_s: float
    objects: ObjectCounts
    bytes: ByteCounts
    throughput_bytes_per_s: float
    failures: list[Failure]
    #: Keys under the target prefix with no counterpart in the source.
    extra_in_target: list[str]
    extra_in_target_count: int = 0
    projection: Projection
    timeline: list[Sample] = []
    cleanup: dict[str, int | str] | None = None
    #: Number of runs of this drill id (1, plus one per `--resume`).
    runs: int = 1
    #: Whether the exit switch may follow this drill: it passed and every object was verified
    #: by reading its bytes back.
    switch_eligible: bool = False
    #: Keys (at most 1,000) that were not read back, when there are any.
    not_read_back_keys: list[str] = []
    #: Set when objects held ciphertext of client-side encryption: how they were verified.
    encryption: EncryptionNote | None = None
    evidence: "Evidence" = Field(default_factory=lambda: Evidence())
    #: Where the data was and went: provider, region and the law it answers to (from the
    #: registry's provider facts, each with its source; unknown stays unknown).
    source_place: "Place | None" = None
    target_place: "Place | None" = None
    #: Which Sortie ran it, where, for whom, under which configuration (digest, secrets masked).
    provenance: dict[str, str | None] = {}
    #: SHA-256 of manifest.jsonl as written beside this report.
    manifest_sha256: str | None = None


class Place(BaseModel):
    backend: str
    type: str
    provider: str
    region: str | None = None
    jurisdiction: str | None = None
    jurisdiction_source: str | None = None
    #: Third-country laws that reach the data; [] none; None unknown.
    extraterritorial_exposure: list[str] | None = None
    exposure_source: str | None = None


class Evidence(BaseModel):
    """Whether a signed attestation (attestation.json) vouches for this report."""

    signed: bool = False
    #: The signing key's short fingerprint (the attestation names the full key id).
    key_fingerprint: str | None = None
    attestation: str | None = None
    note: str = ("unsigned: no signing key is configured (evidence.signing_key), so nothing "
                 "but the file system's permissions protects this report")


DrillReport.model_rebuild()
