"""Placement policies enforced at every door data goes through, judged from provider facts:
bucket creation, configured routes, the exit switch, drill targets (CLI, API, scheduled), with
`sortie policy check` and GET /v1/buckets/{b}/compliance saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from adapters import registry
from adapters.config import AzureBackend, LocalBackend
from adapters.placement import PlacementPolicy, judge
from service.app import create_app
from service.config import ConfigError, load
from service.tokens import TokenStore
from tests.drills.helpers import sortie
from tests.servers.azurite import ACCOUNT_KEY

from .test_objects import assert_problem

ENV = {"AZ_KEY": ACCOUNT_KEY}
POLICIES = {"hds-only": {"hds": "required"},
            "no-cloud-act": {"extraterritorial_exposure": "forbidden"},
            "health": {"hds": "required", "extraterritorial_exposure": "encrypt"},
            "open": {}}


def _config(tmp_path: Path, **extra: Any) -> Path:
    path = tmp_path / "sortie.yaml"
    path.write_text(yaml.safe_dump({
        "backends": {
            # The operator's own facts (a disk in its own data centre): no third-country law.
            "disk": {"type": "local", "path": str(tmp_path / "disk"),
                     "facts": {"extraterritorial_exposure": {
                         "value": [], "source": "hosting contract 2026-07, clause 4"}}},
            # Nothing answers there: a call that gets past the policy fails on the network.
            "cloud": {"type": "azure", "account_url": "http://127.0.0.1:9/devstoreaccount1",
                      "account_key": "${AZ_KEY}"}},
        "state_dir": str(tmp_path / "state"), "policies": POLICIES,
        "buckets": {"records": {"backend": "disk", "policy": "no-cloud-act"},
                    "scratch": {"backend": "disk", "policy": "open"}},
        **extra}))
    return path


def test_rules_read_the_facts_and_unknown_never_satisfies() -> None:
    azure = registry.facts(AzureBackend(type="azure", account_url="https://a.blob.core.windows.net"))
    disk = registry.facts(LocalBackend(type="local", path=Path("/x")))
    assert judge("p", PlacementPolicy(hds="required"), "cloud", azure).allowed()
    exposed = judge("p", PlacementPolicy(extraterritorial_exposure="forbidden"), "cloud", azure)
    assert not exposed.allowed()
    assert "US CLOUD Act" in exposed.refusal() and "source:" in exposed.refusal()
    encrypted = judge("p", PlacementPolicy(extraterritorial_exposure="encrypt"), "cloud", azure)
    assert [r.verdict for r in encrypted.results] == ["encrypt"]
    assert not encrypted.allowed() and encrypted.allowed(encrypted=True)
    unknown = judge("p", PlacementPolicy(hds="required"), "disk", disk)
    assert [r.verdict for r in unknown.results] == ["unknown"] and not unknown.allowed()
    assert "unknown does not satisfy a rule" in unknown.refusal()


def test_bucket_creation_and_the_switch_obey_the_policy(tmp_path: Path) -> None:
    config = load(_config(tmp_path, default_policy="hds-only"), environ=ENV)
    token, _ = TokenStore(config.state_dir).create("t", ["admin"], ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(config)) as client:
        refused = assert_problem(client.put("/v1/buckets/new-one", params={"backend": "disk"},
                                            headers=auth), 403)
        assert "policy 'hds-only' rule hds: required" in refused["detail"]
        assert "HDS certification is unknown for Local disk" in refused["detail"]
        assert not (tmp_path / "disk" / "new-one").exists()
        # Past the policy, the create reaches the (dead) Azure endpoint: not a policy refusal.
        reached = client.put("/v1/buckets/other", params={"backend": "cloud"}, headers=auth)
        assert reached.status_code in (502, 503), reached.text
        assert client.put("/v1/buckets/records", headers=auth).status_code == 201
        switch = assert_problem(client.put("/v1/buckets/records/route",
                                           json={"backend": "cloud"}, headers=auth), 403)
        assert "rule extraterritorial_exposure: forbidden" in switch["detail"]
        assert "US CLOUD Act" in switch["detail"]
        report = client.get("/v1/buckets/records/compliance", headers=auth).json()
        assert report["policy"] == "no-cloud-act" and report["backend"] == "disk"
        verdicts = {b["backend"]: (b["allowed"], b["current"]) for b in report["backends"]}
        assert verdicts == {"disk": (True, True), "cloud": (False, False)}
        by_backend = {b["backend"]: b for b in report["backends"]}
        assert by_backend["disk"]["rules"][0]["source"] == "hosting contract 2026-07, clause 4"
        rule = by_backend["cloud"]["rules"][0]
        assert rule["verdict"] == "fail" and "US CLOUD Act" in rule["fact"] and rule["source"]


def test_a_configured_route_or_scheduled_drill_against_the_policy_is_refused_at_load(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load(_config(tmp_path, buckets={"imaging": {"backend": "disk", "policy": "hds-only"}}),
             environ=ENV)
    assert "buckets.imaging: backend 'disk' is refused: policy 'hds-only' rule hds" in \
        str(refused.value)
    drills = [{"name": "exit", "from": "disk:records", "to": "cloud:records-copy",
               "cron": "0 3 * * *"}]
    with pytest.raises(ConfigError) as refused:
        load(_config(tmp_path, drills=drills), environ=ENV)
    assert "drills.0 (exit): the drill would copy data of bucket 'records' to cloud:records-copy"\
        in str(refused.value) and "US CLOUD Act" in str(refused.value)


def test_a_drill_to_a_refused_target_stops_before_any_byte_moves(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "disk").mkdir()
    done = sortie("drill", "run", "--config", str(config), "--from", "disk:records",
                  "--to", "cloud:records-copy", "--workers", "0", env=ENV)
    assert done.returncode == 2, done.stderr
    assert "refused by placement policy" in done.stderr and "US CLOUD Act" in done.stderr
    assert not (tmp_path / "state" / "drills").exists()
    # Verify-only writes nothing: allowed (it fails later, on the dead endpoint, exit 1).
    listed = sortie("policy", "check", "--config", str(config), "--json", env=ENV)
    assert listed.returncode == 0, listed.stderr
    buckets = {b["bucket"]: b for b in map(json.loads, listed.stdout.splitlines())}
    assert set(buckets) == {"records", "scratch"}
    assert all(b["allowed"] for b in buckets["scratch"]["backends"])
    human = sortie("policy", "check", "--config", str(config), env=ENV)
    assert "REFUSED" in human.stdout and "US CLOUD Act" in human.stdout


def test_the_attestation_carries_the_targets_policy_verdict(tmp_path: Path) -> None:
    import base64

    from adapters.local.store import LocalStore

    assert sortie("evidence", "keygen", "--out", str(tmp_path / "keys")).returncode == 0
    store = LocalStore("disk", tmp_path / "disk")
    store.create_bucket("records")
    store.put("records", "scan.dcm", b"DICM" * 100)
    config = _config(tmp_path, evidence={"signing_key": str(tmp_path / "keys" /
                                                            "sortie-signing.key")})
    done = sortie("drill", "run", "--config", str(config), "--from", "disk:records",
                  "--to", "disk:records-copy", "--workers", "0", env=ENV)
    assert done.returncode == 0, done.stderr
    folder = next(p for p in (tmp_path / "state" / "drills").iterdir() if p.is_dir())
    envelope = json.loads((folder / "attestation.json").read_text())
    placement = json.loads(base64.b64decode(envelope["payload"]))["predicate"]["placement_policy"]
    assert placement["bucket"] == "records" and placement["policy"] == "no-cloud-act"
    assert placement["backend"] == "disk" and placement["allowed"] is True
    assert placement["rules"][0]["source"] == "hosting contract 2026-07, clause 4"
