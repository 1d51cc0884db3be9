"""`sortie backends presets | show | check` against a real SeaweedFS."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from service.cli import app
from tests.servers.process import free_port
from tests.servers.seaweedfs import SeaweedServer

runner = CliRunner()


def write_config(tmp_path: Path, endpoint: str) -> Path:
    path = tmp_path / "sortie.yaml"
    path.write_text(
        "backends:\n"
        f"  sw: {{type: s3, preset: seaweedfs, endpoint: \"{endpoint}\",\n"
        "       access_key: \"${SW_ACCESS}\", secret_key: \"${SW_SECRET}\"}\n")
    return path


def env(server: SeaweedServer, secret: str | None = None) -> dict[str, str]:
    return {"SW_ACCESS": server.access_key, "SW_SECRET": secret or server.secret_key}


def test_presets_lists_the_providers() -> None:
    result = runner.invoke(app, ["backends", "presets"])
    assert result.exit_code == 0, result.output
    names = {line.split("\t")[1] for line in result.output.splitlines() if line.startswith("s3\t")}
    assert {"aws", "scaleway", "outscale", "ovhcloud", "seaweedfs"} <= names


def test_show_prints_resolved_settings_with_secrets_masked(
        tmp_path: Path, server_seaweedfs: SeaweedServer) -> None:
    config = write_config(tmp_path, server_seaweedfs.endpoint)
    result = runner.invoke(app, ["backends", "show", "sw", "--config", str(config)],
                           env=env(server_seaweedfs))
    assert result.exit_code == 0, result.output
    assert "preset: seaweedfs" in result.output
    assert "addressing: path" in result.output and "path_like_keys: True" in result.output
    assert server_seaweedfs.secret_key not in result.output
    assert server_seaweedfs.access_key not in result.output
    missing = runner.invoke(app, ["backends", "show", "nope", "--config", str(config)],
                            env=env(server_seaweedfs))
    assert missing.exit_code == 2 and "no backend named 'nope'" in missing.output


def test_check_passes_on_a_healthy_backend(tmp_path: Path,
                                           server_seaweedfs: SeaweedServer) -> None:
    config = write_config(tmp_path, server_seaweedfs.endpoint)
    result = runner.invoke(app, ["backends", "check", "sw", "--config", str(config)],
                           env=env(server_seaweedfs))
    assert result.exit_code == 0, result.output
    for step in ("reach", "bucket", "put", "get", "delete"):
        assert f"ok   {step}" in result.output
    assert result.output.strip().endswith("sw: ok")
    # The scratch bucket is gone again.
    buckets = server_seaweedfs.client().list_buckets()["Buckets"]  # type: ignore[attr-defined]
    assert not any(b["Name"].startswith("sortie-probe-") for b in buckets)


def test_check_diagnoses_a_bad_secret(tmp_path: Path, server_seaweedfs: SeaweedServer) -> None:
    config = write_config(tmp_path, server_seaweedfs.endpoint)
    result = runner.invoke(app, ["backends", "check", "sw", "--config", str(config)],
                           env=env(server_seaweedfs, secret="wrong-secret"))
    assert result.exit_code == 1
    diagnosis = result.output.strip().splitlines()[-1]
    assert diagnosis.startswith("sortie: sw: reach: authentication failed")
    assert "secret key does not match" in diagnosis


def test_check_diagnoses_a_wrong_endpoint(tmp_path: Path,
                                          server_seaweedfs: SeaweedServer) -> None:
    config = write_config(tmp_path, f"http://127.0.0.1:{free_port()}")
    result = runner.invoke(app, ["backends", "check", "sw", "--config", str(config)],
                           env=env(server_seaweedfs))
    assert result.exit_code == 1
    diagnosis = result.output.strip().splitlines()[-1]
    assert "reach: unreachable" in diagnosis and "check the endpoint URL" in diagnosis
