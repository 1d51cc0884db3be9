"""A signed attestation per drill: an in-toto Statement v1
(https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) in a DSSE envelope,
written beside the report as `attestation.json`.

Subjects are the drill's files (manifest.jsonl, report.json, report.html) with their SHA-256; the
predicate says what was drilled, between which providers (with their compliance facts and
sources), how it was verified, by which Sortie on which host, started by whom, under which
configuration (its digest, secrets removed), and the audit log's chain head when it ended.

`verify_drill` checks a drill folder offline with only the public key: the signature, every
subject's digest, that the manifest has one line per verified object, and that the attested
counts are the report's. It reads no configuration and no backend.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from adapters import registry
from adapters.config import BackendConfig
from adapters.errors import StorageError

from ..private import write_private
from ..spec import DrillReport, DrillSpec, Evidence, Place
from . import dsse
from .keys import SigningKey, key_id

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: What the predicate is; versioned with its fields.
PREDICATE_TYPE = "urn:sortie:exit-drill:v1"
FILE_NAME = "attestation.json"
SUBJECTS = ("manifest.jsonl", "report.json", "report.html")

#: The verification method, in words (the same text goes to report.html).
METHOD = ("Every object was read from the source and written to the target; then its bytes were "
          "read back from the target and their SHA-256 compared with the SHA-256 of the source's "
          "bytes (and with the SHA-256 the source recorded at ingest, when it has one); its size, "
          "content type and user metadata were compared too. An object counts as verified only "
          "if its bytes were read back and matched.")


@dataclass(frozen=True)
class Endpoint:
    """One side of a drill as an auditor needs it: where the data is, and under which law."""

    backend: str
    bucket: str
    prefix: str
    type: str
    provider: str | None
    title: str
    region: str | None
    #: ComplianceFacts as JSON: each fact with its value (null: unknown) and its source.
    compliance: dict[str, Any]


@dataclass(frozen=True)
class Signer:
    """What whoever starts a drill adds to its evidence (the CLI, the scheduler, the gateway)."""

    #: Who started it: "token:<id>", "scheduler:<schedule name>", "cli:<user>".
    started_by: str
    #: SHA-256 of the configuration with every secret masked (None: no configuration).
    config_sha256: str | None = None
    key: SigningKey | None = None
    #: The audit log's chain head, read when the drill ends (None: no audit log here).
    audit_head: Callable[[], dict[str, Any] | None] = field(default=lambda: None)
    #: The drill target's judgement under the source bucket's placement policy (None: none).
    placement: Callable[[DrillSpec], dict[str, Any] | None] = field(default=lambda spec: None)


def endpoint_of(name: str, bucket: str, prefix: str, settings: BackendConfig) -> Endpoint:
    try:
        facts = registry.facts(settings)
    except StorageError as exc:  # a preset that does not load: say so, know nothing
        return Endpoint(name, bucket, prefix, settings.type, None, f"unknown ({exc})", None, {})
    return Endpoint(name, bucket, prefix, settings.type, facts.preset, facts.title, facts.region,
                    {"facts": facts.compliance.model_dump(mode="json"), "note": facts.note})


def context_for(spec: DrillSpec, backends: Mapping[str, BackendConfig],
                signer: Signer) -> "EvidenceContext":
    return EvidenceContext(
        source=endpoint_of(spec.source.backend, spec.source.bucket, spec.source.prefix,
                           backends[spec.source.backend]),
        target=endpoint_of(spec.target.backend, spec.target.bucket, spec.target.prefix,
                           backends[spec.target.backend]),
        sortie_version=sortie_version(), host=socket.gethostname(),
        started_by=signer.started_by, config_sha256=signer.config_sha256, key=signer.key,
        audit_head=signer.audit_head, placement=signer.placement(spec))


def sortie_version() -> str:
    try:
        return importlib.metadata.version("sortie")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


@dataclass(frozen=True)
class EvidenceContext:
    """What a drill's attestation says beyond its report, gathered by whoever starts it."""

    source: Endpoint
    target: Endpoint
    sortie_version: str
    host: str
    #: Who started it: "token:<id>", "scheduler:<schedule name>", "cli:<user>".
    started_by: str
    #: SHA-256 of the configuration with every secret replaced (None: no configuration file).
    config_sha256: str | None
    key: SigningKey | None = None
    #: The audit log's chain head, read when the drill ends (None: no audit log here).
    audit_head: Callable[[], dict[str, Any] | None] = field(default=lambda: None)
    placement: dict[str, Any] | None = None


def place_of(endpoint: Endpoint) -> Place:
    facts = endpoint.compliance.get("facts", {})
    hq = facts.get("hq_jurisdiction", {})
    exposure = facts.get("extraterritorial_exposure", {})
    return Place(backend=endpoint.backend, type=endpoint.type,
                 provider=endpoint.title + (f" (preset {endpoint.provider})"
                                            if endpoint.provider else ""),
                 region=endpoint.region, jurisdiction=hq.get("value"),
                 jurisdiction_source=hq.get("source"),
                 extraterritorial_exposure=exposure.get("value"),
                 exposure_source=exposure.get("source"))


def provenance_of(context: EvidenceContext) -> dict[str, str | None]:
    return {"sortie_version": context.sortie_version, "host": context.host,
            "started_by": context.started_by, "configuration_sha256": context.config_sha256}


def evidence_of(context: EvidenceContext | None) -> Evidence:
    """What the report says of its own evidence (written before the attestation, which then
    covers the report: the report names the key, the attestation the report's digest)."""
    if context is None or context.key is None:
        return Evidence()
    return Evidence(signed=True, key_fingerprint=context.key.fingerprint, attestation=FILE_NAME,
                    note=f"signed: {FILE_NAME} beside this report (in-toto statement in a DSSE "
                         f"envelope, Ed25519 key {context.key.fingerprint}) covers "
                         f"{', '.join(SUBJECTS)}; check it offline with `sortie evidence verify "
                         "DRILL_DIR --public-key KEY.pub`")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def statement(folder: Path, report: DrillReport, context: EvidenceContext) -> dict[str, Any]:
    objects = report.objects
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": file_sha256(folder / name)}}
                    for name in SUBJECTS],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "drill": {"id": report.id, "name": report.name, "mode": report.mode.value,
                      "status": report.status, "runs": report.runs,
                      "switch_eligible": report.switch_eligible},
            "source": context.source.__dict__,
            "target": context.target.__dict__,
            "objects": objects.model_dump(mode="json"),
            "bytes": report.bytes.model_dump(mode="json"),
            "times": {"started": report.started.isoformat(), "finished": report.finished.isoformat(),
                      "duration_s": report.duration_s},
            "verification": {
                "method": METHOD,
                "read_back": "sha256",
                "compared": ["size", "sha256", "content_type", "metadata"],
                "verified": objects.verified,
                "not_read_back": objects.not_read_back,
                "failed": objects.failed,
                "client_side_encryption": (report.encryption.model_dump(mode="json")
                                           if report.encryption else None),
            },
            "sortie": {"version": context.sortie_version, "host": context.host},
            "started_by": context.started_by,
            "configuration_sha256": context.config_sha256,
            "audit_chain_head": context.audit_head(),
            "placement_policy": context.placement,
        },
    }


def attest(folder: Path, report: DrillReport, context: EvidenceContext) -> Path | None:
    """Write attestation.json beside the report (None when no signing key is configured)."""
    if context.key is None:
        return None
    payload = json.dumps(statement(folder, report, context), ensure_ascii=False, sort_keys=True,
                         separators=(",", ":")).encode("utf-8")
    envelope = dsse.seal(payload, context.key)
    path = folder / FILE_NAME
    write_private(path, [json.dumps(envelope, indent=2), "\n"])
    return path


@dataclass
class Verdict:
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.problems


def verify_drill(folder: Path, public: Ed25519PublicKey) -> Verdict:
    verdict = Verdict()
    try:
        envelope = dsse.load((folder / FILE_NAME).read_text(encoding="utf-8"))
        payload_type, payload = dsse.open_envelope(envelope, public)
    except OSError as exc:
        verdict.problems.append(f"{FILE_NAME}: cannot be read ({exc.strerror or exc})")
        return verdict
    except dsse.EnvelopeError as exc:
        verdict.problems.append(f"{FILE_NAME}: {exc}")
        return verdict
    verdict.checked.append(f"{FILE_NAME}: signed by key {key_id(public)[:16]}... (Ed25519, DSSE)")
    if payload_type != dsse.IN_TOTO:
        verdict.problems.append(f"{FILE_NAME}: payloadType is {payload_type!r}, not {dsse.IN_TOTO}")
    try:
        claims = json.loads(payload)
        subjects = {s["name"]: s["digest"]["sha256"] for s in claims["subject"]}
        predicate = claims["predicate"]
    except (ValueError, KeyError, TypeError) as exc:
        verdict.problems.append(f"{FILE_NAME}: the statement is malformed ({exc})")
        return verdict
    if claims.get("_type") != STATEMENT_TYPE or claims.get("predicateType") != PREDICATE_TYPE:
        verdict.problems.append(f"{FILE_NAME}: not a Sortie drill statement "
                                f"({claims.get('_type')}, {claims.get('predicateType')})")
    for name in SUBJECTS:
        _check_subject(folder, name, subjects.get(name), verdict)
    _check_counts(folder, predicate, verdict)
    return verdict


def _check_subject(folder: Path, name: str, expected: str | None, verdict: Verdict) -> None:
    if expected is None:
        verdict.problems.append(f"{name}: not among the attestation's subjects")
        return
    try:
        actual = file_sha256(folder / name)
    except OSError as exc:
        verdict.problems.append(f"{name}: cannot be read ({exc.strerror or exc})")
        return
    if actual != expected:
        verdict.problems.append(f"{name}: SHA-256 {actual} differs from the attested {expected}: "
                                "the file was changed after the drill")
    else:
        verdict.checked.append(f"{name}: SHA-256 {actual} as attested")


def _check_counts(folder: Path, predicate: dict[str, Any], verdict: Verdict) -> None:
    """The manifest has one line per verified object, each key once, and the report's counts
    are the attested ones."""
    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        attested = predicate["objects"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        verdict.problems.append(f"report.json: cannot be compared with the attestation ({exc})")
        return
    for name in ("total", "copied", "skipped", "verified", "not_read_back", "failed"):
        if report.get("objects", {}).get(name) != attested.get(name):
            verdict.problems.append(f"report.json: objects.{name} is "
                                    f"{report.get('objects', {}).get(name)}, the attestation says "
                                    f"{attested.get(name)}")
    keys: set[str] = set()
    lines = 0
    try:
        with open(folder / "manifest.jsonl", encoding="utf-8") as manifest:
            for number, line in enumerate(manifest, 1):
                entry = json.loads(line)
                if entry["key"] in keys:
                    verdict.problems.append(f"manifest.jsonl: line {number} repeats the key "
                                            f"{entry['key']!r}")
                keys.add(entry["key"])
                lines += 1
    except (OSError, ValueError, KeyError, TypeError) as exc:
        verdict.problems.append(f"manifest.jsonl: unreadable ({exc})")
        return
    if lines != attested.get("verified"):
        verdict.problems.append(f"manifest.jsonl: {lines} line(s) for {attested.get('verified')} "
                                "verified object(s)")
    else:
        verdict.checked.append(f"manifest.jsonl: one line per verified object ({lines})")
