"""Client-side encryption through the gateway and the CLI: a `health` bucket may land on Azure
(US CLOUD Act) only encrypted; what Azure holds is ciphertext; keys are created, refused when
unsafe, and rotated without rewriting data; a drill copies ciphertext as it is."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from adapters import build_store
from adapters.config import AzureBackend
from adapters.encryption.keys import load_key_file
from adapters.layers.encrypt import KID
from service.app import create_app
from service.config import ConfigError, load
from service.tokens import TokenStore
from tests.drills.helpers import report_of, sortie
from tests.servers.azurite import AzuriteServer

from .test_objects import assert_problem

HEALTH = {"hds": "required", "extraterritorial_exposure": "encrypt"}


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name in ("hub", "hub2026"):
        done = sortie("keys", "create", "--out", str(tmp_path / f"{name}.key"))
        assert done.returncode == 0, done.stderr
        assert "key id   kek-" in done.stdout
        made[name] = tmp_path / f"{name}.key"
    return made


def _config(tmp_path: Path, azurite: AzuriteServer, keys: dict[str, Path],
            bucket: dict[str, Any], **extra: Any) -> Path:
    path = tmp_path / "sortie.yaml"
    path.write_text(yaml.safe_dump({
        "backends": {
            "azure": {"type": "azure", "connection_string": "${AZ_CONN}"},
            "disk": {"type": "local", "path": str(tmp_path / "disk"),
                     "facts": {"hds": {"value": "yes", "source": "hosting contract, annex 2"},
                               "extraterritorial_exposure": {"value": [],
                                                             "source": "hosting contract"}}}},
        "state_dir": str(tmp_path / "state"),
        "keys": {name: {"file": str(file)} for name, file in keys.items()},
        "policies": {"health": HEALTH},
        "buckets": {"imaging": {"backend": "azure", "policy": "health", **bucket}},
        **extra}))
    return path


def _env(azurite: AzuriteServer) -> dict[str, str]:
    return {"AZ_CONN": azurite.connection_string()}


def _raw_azure(azurite: AzuriteServer) -> Any:
    return build_store("raw", AzureBackend(type="azure",  # type: ignore[arg-type]
                                           connection_string=azurite.connection_string()))


@pytest.fixture
def imaging(server_azurite: AzuriteServer) -> Iterator[None]:
    raw = _raw_azure(server_azurite)
    yield
    for info in list(raw.iter_objects("imaging")) if raw.bucket_exists("imaging") else []:
        raw.delete("imaging", info.key)
    if raw.bucket_exists("imaging"):
        raw.delete_bucket("imaging")


def test_health_data_lands_on_azure_only_encrypted(tmp_path: Path, server_azurite: AzuriteServer,
                                                  keys: dict[str, Path], imaging: None) -> None:
    with pytest.raises(ConfigError) as refused:
        load(_config(tmp_path, server_azurite, keys, {}),
                  environ=_env(server_azurite))
    assert "buckets.imaging: backend 'azure' is refused: policy 'health' rule " \
        "extraterritorial_exposure: encrypt" in str(refused.value)
    assert "allowed only with client-side encryption" in str(refused.value)

    config = load(_config(tmp_path, server_azurite, keys, {"encryption": {"key": "hub"}}),
                  environ=_env(server_azurite))
    token, _ = TokenStore(config.state_dir).create("t", ["admin"], ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    scan = b"DICM" + b"patient 1234567 chest CT " * 60_000
    with TestClient(create_app(config)) as client:
        assert client.put("/v1/buckets/imaging", headers=auth).status_code == 201
        put = client.put("/v1/buckets/imaging/objects/ct/1.dcm", content=scan,
                         headers={**auth, "x-sortie-meta-study": "S1"})
        assert put.status_code == 200, put.text
        got = client.get("/v1/buckets/imaging/objects/ct/1.dcm", headers=auth)
        assert got.content == scan
        assert got.headers["x-sortie-sha256"] == hashlib.sha256(scan).hexdigest()
        assert got.headers["x-sortie-meta-study"] == "S1"
        assert not any(h.startswith("x-sortie-meta-sortie") for h in got.headers)
        ranged = client.get("/v1/buckets/imaging/objects/ct/1.dcm",
                            headers={**auth, "Range": "bytes=1048570-1048590"})
        assert ranged.status_code == 206 and ranged.content == scan[1048570:1048591]
        listed = client.get("/v1/buckets/imaging/objects", headers=auth).json()
        assert [(o["key"], o["size"]) for o in listed["objects"]] == [("ct/1.dcm", len(scan))]
        # A client cannot forge the layer's entries.
        forged = client.put("/v1/buckets/imaging/objects/x", content=b"x",
                            headers={**auth, "x-sortie-meta-sortie-kid": "kek-0"})
        assert_problem(forged, 400)
        report = client.get("/v1/buckets/imaging/compliance", headers=auth).json()
        assert report["encryption_key"] == "hub"
        assert {b["backend"]: b["allowed"] for b in report["backends"]} == \
            {"azure": True, "disk": True}
    # What Azure holds (read with the SDK): ciphertext only, and the wrapping key's id.
    props_client = _raw_azure(server_azurite)
    raw = props_client.get("imaging", "ct/1.dcm").read()
    assert b"patient 1234567" not in raw and len(raw) > len(scan)
    assert props_client.head("imaging", "ct/1.dcm").metadata[KID] == \
        load_key_file(keys["hub"]).id


def test_rotation_rewraps_without_rewriting_and_the_old_key_can_go(
        tmp_path: Path, server_azurite: AzuriteServer, keys: dict[str, Path],
        imaging: None) -> None:
    path = _config(tmp_path, server_azurite, keys, {"encryption": {"key": "hub"}})
    config = load(path,
                  environ=_env(server_azurite))
    token, _ = TokenStore(config.state_dir).create("t", ["admin"], ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    bodies = {f"s/{i}": bytes([i]) * (70_000 * i + 1) for i in range(1, 6)}
    with TestClient(create_app(config)) as client:
        assert client.put("/v1/buckets/imaging", headers=auth).status_code == 201
        for key, body in bodies.items():
            assert client.put(f"/v1/buckets/imaging/objects/{key}", content=body,
                              headers=auth).status_code == 200
    raw = _raw_azure(server_azurite)
    before = {key: raw.head("imaging", key) for key in bodies}

    # The bucket's key becomes hub2026; hub stays configured for the rotation only.
    document = yaml.safe_load(path.read_text())
    document["buckets"]["imaging"]["encryption"]["key"] = "hub2026"
    path.write_text(yaml.safe_dump(document))
    done = sortie("keys", "rotate", "imaging", "--config", str(path), env=_env(server_azurite))
    assert done.returncode == 0, done.stderr
    assert "5 rewrapped, 0 already under it" in done.stdout
    again = sortie("keys", "rotate", "imaging", "--config", str(path), env=_env(server_azurite))
    assert "0 rewrapped, 5 already under it" in again.stdout
    new_id = load_key_file(keys["hub2026"]).id
    for key, old in before.items():
        now = raw.head("imaging", key)
        assert now.metadata[KID] == new_id
        assert (now.sha256, now.size) == (old.sha256, old.size)  # the same stored bytes

    # The old key removed from the configuration: every object still reads.
    del document["keys"]["hub"]
    path.write_text(yaml.safe_dump(document))
    config = load(path,
                  environ=_env(server_azurite))
    with TestClient(create_app(config)) as client:
        for key, body in bodies.items():
            assert client.get(f"/v1/buckets/imaging/objects/{key}", headers=auth).content == body


def test_unsafe_or_missing_key_files_are_configuration_errors(
        tmp_path: Path, server_azurite: AzuriteServer, keys: dict[str, Path]) -> None:
    assert (keys["hub"].stat().st_mode & 0o777) == 0o600
    again = sortie("keys", "create", "--out", str(keys["hub"]))
    assert again.returncode == 1 and "already exists" in again.stderr
    keys["hub"].chmod(0o644)
    with pytest.raises(ConfigError, match=r"keys\.hub\.file: key file .* is readable by others"):
        load(_config(tmp_path, server_azurite, keys, {"encryption": {"key": "hub"}}),
                  environ=_env(server_azurite))
    keys["hub"].chmod(0o600)
    with pytest.raises(ConfigError, match="buckets.imaging.encryption.key 'nope' is not in keys"):
        load(_config(tmp_path, server_azurite, keys, {"encryption": {"key": "nope"}}),
                  environ=_env(server_azurite))
    missing = {**keys, "hub": tmp_path / "absent.key"}
    with pytest.raises(ConfigError, match=r"keys\.hub\.file: key file .*absent.key"):
        load(_config(tmp_path, server_azurite, missing, {"encryption": {"key": "hub"}}),
                  environ=_env(server_azurite))


def test_a_drill_copies_ciphertext_as_it_is(tmp_path: Path, server_azurite: AzuriteServer,
                                           keys: dict[str, Path], imaging: None) -> None:
    path = _config(tmp_path, server_azurite, keys, {"encryption": {"key": "hub"}})
    config = load(path,
                  environ=_env(server_azurite))
    token, _ = TokenStore(config.state_dir).create("t", ["admin"], ["*"])
    auth = {"Authorization": f"Bearer {token}"}
    body = b"health record " * 100_000
    with TestClient(create_app(config)) as client:
        assert client.put("/v1/buckets/imaging", headers=auth).status_code == 201
        assert client.put("/v1/buckets/imaging/objects/r1", content=body,
                          headers=auth).status_code == 200
    done = sortie("drill", "run", "--config", str(path), "--from", "azure:imaging",
                  "--to", "disk:imaging-exit", "--workers", "0", env=_env(server_azurite))
    assert done.returncode == 0, done.stderr
    report = report_of(next((tmp_path / "state" / "drills").glob("*/")))
    assert report["objects"]["verified"] == 1
    # The configuration holds the key: the copy was decrypted and its plaintext checked too.
    assert report["encryption"]["objects"] == report["encryption"]["decrypted"] == 1
    assert "ciphertext" in report["encryption"]["verification"]
    assert "decrypted with the configured key" in report["encryption"]["verification"]
    # On Dask workers as well; and without the key in the configuration, ciphertext only.
    on_dask = sortie("drill", "run", "--config", str(path), "--from", "azure:imaging",
                     "--to", "disk:imaging-dask", "--workers", "1", env=_env(server_azurite))
    assert on_dask.returncode == 0, on_dask.stderr
    document = yaml.safe_load(path.read_text())
    keyless = tmp_path / "keyless.yaml"
    keyless.write_text(yaml.safe_dump({**document, "keys": {}, "buckets": {}}))
    blind = sortie("drill", "run", "--config", str(keyless), "--from", "azure:imaging",
                   "--to", "disk:imaging-blind", "--workers", "0", env=_env(server_azurite))
    assert blind.returncode == 0, blind.stderr
    reports = {r["target"]: r for r in map(report_of, (tmp_path / "state" / "drills").glob("*/"))}
    assert reports["disk:imaging-dask"]["encryption"]["decrypted"] == 1
    assert reports["disk:imaging-blind"]["encryption"]["decrypted"] == 0
    assert "plaintext was not checked" in reports["disk:imaging-blind"]["encryption"]["verification"]
    disk = build_store("disk", config.settings.backends["disk"], tmp_path)
    copied = disk.get("imaging-exit", "r1").read()
    assert b"health record" not in copied  # the exit target holds ciphertext too
    # Switched there, the gateway reads it with the same key.
    with TestClient(create_app(config)) as client:
        switched = client.put("/v1/buckets/imaging/route", json={"backend": "disk"},
                              headers=auth)
        assert switched.status_code == 200, switched.text
        assert client.get("/v1/buckets/imaging/objects/r1", headers=auth).content == body
