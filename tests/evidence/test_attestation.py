"""Signed drill attestations: a drill run with a signing key writes attestation.json; `sortie
evidence verify` checks it offline and names what changed; an independent verifier written
here (DSSE PAE by hand, Ed25519 from `cryptography`) agrees, so an auditor need trust no Sortie
code."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from adapters.local.store import LocalStore
from tests.drills.helpers import report_of, seed_dataset, sortie, write_config


@pytest.fixture
def signed_drill(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(drill folder, public key, config) of a passed local -> local drill signed by a new key."""
    keys = tmp_path / "keys"
    made = sortie("evidence", "keygen", "--out", str(keys))
    assert made.returncode == 0, made.stderr
    assert "fingerprint ed25519:" in made.stdout
    private = keys / "sortie-signing.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    seed_dataset(LocalStore("src", tmp_path / "src"), "data", big=False)
    config = write_config(tmp_path, {"src": {"type": "local", "path": str(tmp_path / "src")},
                                     "dst": {"type": "local", "path": str(tmp_path / "dst")}},
                          evidence={"signing_key": str(private)})
    run = sortie("drill", "run", "--config", str(config), "--from", "src:data",
                 "--to", "dst:copy", "--workers", "0")
    assert run.returncode == 0, run.stderr
    folder = next((tmp_path / "state" / "drills").iterdir())
    folder = next(p for p in (tmp_path / "state" / "drills").iterdir() if p.is_dir())
    return folder, keys / "sortie-signing.pub", config


def verify(folder: Path, public: Path) -> tuple[int, str]:
    done = sortie("evidence", "verify", str(folder), "--public-key", str(public))
    return done.returncode, done.stdout + done.stderr


def test_a_signed_drill_verifies_and_says_what_it_checked(signed_drill) -> None:
    folder, public, _ = signed_drill
    code, out = verify(folder, public)
    assert code == 0, out
    for name in ("attestation.json", "manifest.jsonl", "report.json", "report.html"):
        assert f"ok       {name}" in out
    report = report_of(folder)
    assert report["evidence"]["signed"] is True
    assert report["evidence"]["key_fingerprint"].startswith("ed25519:")


@pytest.mark.parametrize("name", ["manifest.jsonl", "report.json", "report.html"])
def test_one_byte_changed_in_a_subject_is_named(signed_drill, name: str) -> None:
    folder, public, _ = signed_drill
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, out = verify(folder, public)
    assert code == 1, out
    assert f"MISMATCH {name}: SHA-256" in out and "changed after the drill" in out


def _envelope(folder: Path) -> dict:
    return json.loads((folder / "attestation.json").read_text())


def test_a_changed_payload_or_signature_breaks_the_signature(signed_drill) -> None:
    folder, public, _ = signed_drill
    original = _envelope(folder)
    statement = json.loads(base64.b64decode(original["payload"]))
    statement["predicate"]["objects"]["failed"] = 0
    statement["predicate"]["drill"]["status"] = "passed"
    statement["predicate"]["objects"]["verified"] += 1  # a forged count
    forged = dict(original, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    (folder / "attestation.json").write_text(json.dumps(forged))
    code, out = verify(folder, public)
    assert code == 1 and "signature does not hold" in out, out
    signature = bytearray(base64.b64decode(original["signatures"][0]["sig"]))
    signature[0] ^= 0x01
    broken = dict(original, signatures=[{**original["signatures"][0],
                                         "sig": base64.b64encode(bytes(signature)).decode()}])
    (folder / "attestation.json").write_text(json.dumps(broken))
    code, out = verify(folder, public)
    assert code == 1 and "signature does not hold" in out, out


def test_a_wrong_public_key_fails(signed_drill, tmp_path: Path) -> None:
    folder, _, _ = signed_drill
    assert sortie("evidence", "keygen", "--out", str(tmp_path / "other")).returncode == 0
    code, out = verify(folder, tmp_path / "other" / "sortie-signing.pub")
    assert code == 1 and "no signature by this public key" in out, out


def test_an_independent_verifier_agrees(signed_drill) -> None:
    """What an auditor can run without Sortie: the DSSE pre-authentication encoding built by
    hand, Ed25519 from `cryptography`, SHA-256 from hashlib."""
    folder, public_path, config = signed_drill
    envelope = _envelope(folder)
    payload_type = envelope["payloadType"].encode()
    payload = base64.b64decode(envelope["payload"])
    pae = b"DSSEv1 " + str(len(payload_type)).encode() + b" " + payload_type + b" " + \
        str(len(payload)).encode() + b" " + payload
    public = load_pem_public_key(public_path.read_bytes())
    public.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae)  # raises if forged
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(envelope["signatures"][0]["sig"]), pae + b" ")
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    for subject in statement["subject"]:
        digest = hashlib.sha256((folder / subject["name"]).read_bytes()).hexdigest()
        assert digest == subject["digest"]["sha256"], subject["name"]
    predicate = statement["predicate"]
    report = report_of(folder)
    assert predicate["drill"]["id"] == report["id"] and predicate["objects"] == report["objects"]
    assert predicate["source"]["backend"] == "src" and predicate["source"]["type"] == "local"
    assert predicate["target"]["compliance"]["facts"]["egress_price"]["value"]["per_gb"] == 0.0
    assert predicate["verification"]["read_back"] == "sha256"
    assert predicate["started_by"].startswith("cli:")
    assert len(predicate["configuration_sha256"]) == 64
    assert predicate["sortie"]["host"] and predicate["sortie"]["version"]
    lines = (folder / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == report["objects"]["verified"]


def test_without_a_key_the_drill_runs_and_says_unsigned(tmp_path: Path) -> None:
    seed_dataset(LocalStore("src", tmp_path / "src"), "data", big=False, extra=1)
    config = write_config(tmp_path, {"src": {"type": "local", "path": str(tmp_path / "src")},
                                     "dst": {"type": "local", "path": str(tmp_path / "dst")}})
    run = sortie("drill", "run", "--config", str(config), "--from", "src:data",
                 "--to", "dst:copy", "--workers", "0")
    assert run.returncode == 0, run.stderr
    folder = next(p for p in (tmp_path / "state" / "drills").iterdir() if p.is_dir())
    assert not (folder / "attestation.json").exists()
    evidence = report_of(folder)["evidence"]
    assert evidence["signed"] is False and evidence["note"].startswith("unsigned")
    assert "Unsigned." in (folder / "report.html").read_text()


def test_a_key_readable_by_others_is_refused_before_the_drill(tmp_path: Path) -> None:
    assert sortie("evidence", "keygen", "--out", str(tmp_path / "keys")).returncode == 0
    private = tmp_path / "keys" / "sortie-signing.key"
    os.chmod(private, 0o644)
    config = write_config(tmp_path, {"src": {"type": "local", "path": str(tmp_path / "src")},
                                     "dst": {"type": "local", "path": str(tmp_path / "dst")}},
                          evidence={"signing_key": str(private)})
    run = sortie("drill", "run", "--config", str(config), "--from", "src:data",
                 "--to", "dst:copy", "--workers", "0")
    assert run.returncode == 2 and "readable by others" in run.stderr, run.stderr
    assert not (tmp_path / "state" / "drills").exists() or \
        not any(p.is_dir() for p in (tmp_path / "state" / "drills").iterdir())


def test_the_report_names_the_manifests_digest(signed_drill) -> None:
    folder, _, _ = signed_drill
    digest = hashlib.sha256((folder / "manifest.jsonl").read_bytes()).hexdigest()
    assert report_of(folder)["manifest_sha256"] == digest
    assert digest in (folder / "report.html").read_text()
