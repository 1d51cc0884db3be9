from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.servers.process import free_port

runner = CliRunner()


def test_config_check_and_backends_list_on_the_embedded_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["config", "check"], env={"SORTIE_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert "<embedded default>: ok, 2 backend(s)" in result.output
    result = runner.invoke(app, ["backends", "list"], env={"SORTIE_CONFIG": ""})
    assert result.output.split() == ["exit", "local", "primary", "local"]


def test_bad_configuration_exits_2_naming_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends:\n  a: {type: local, path: x, typo: 1}\n")
    result = runner.invoke(app, ["config", "check", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: backends.a.typo: unknown key" in result.output


def test_serve_answers_healthz_on_the_embedded_default(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SORTIE_CONFIG": ""}
    server = subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                    assert json.load(reply) == {"status": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "gateway did not answer /healthz in 30 s"
                time.sleep(0.2)
        # The embedded default puts its two local backends under ./data of the working folder.
        assert (tmp_path / "data" / "primary").is_dir()
        assert (tmp_path / "data" / "exit").is_dir()
    finally:
        server.terminate()
        server.wait(10)


def _commands(command: object, path: list[str]) -> list[list[str]]:
    found = [path]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += _commands(sub, path + [name])
    return found


def test_every_command_has_a_help_page() -> None:
    import typer.main

    commands = _commands(typer.main.get_command(app), [])
    assert ["drill", "run"] in commands and ["serve"] in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output, result.exception)
        assert "Usage:" in result.output
