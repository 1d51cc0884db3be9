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
    assert "<embedded default>: ok: 2 backend(s), 0 bucket(s), 0 scheduled drill(s)" in \
        result.output
    result = runner.invoke(app, ["backends", "list"], env={"SORTIE_CONFIG": ""})
    assert result.output.split() == ["exit", "local", "primary", "local"]


def test_bad_configuration_exits_2_naming_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends:\n  a: {type: local, path: x, typo: 1}\n")
    result = runner.invoke(app, ["config", "check", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2: backends.a.typo: unknown key" in result.output


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


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "service", "serve", "--port", str(port)],
                            cwd=tmp_path, env={**os.environ, "SORTIE_CONFIG": ""},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_a_busy_port_fails_before_saying_serving_and_a_second_serve_hints_at_tokens(
        tmp_path: Path) -> None:
    port = free_port()
    first = _serve(tmp_path, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and first.poll() is None
                time.sleep(0.2)
        second = _serve(tmp_path, port)
        out = second.communicate(timeout=60)[0].decode()
        assert second.returncode == 1, out
        assert f"cannot listen on 127.0.0.1:{port}" in out and "serving on" not in out
        third = _serve(tmp_path, free_port())
        try:
            line = b""
            while b"serving on" not in line:
                line += third.stdout.readline()  # type: ignore[union-attr]
                assert third.poll() is None, line
        finally:
            third.terminate()
            third.wait(10)
        assert b"lost the admin token? make another with `sortie token create --scope admin`" \
            in line
    finally:
        first.terminate()
        first.wait(10)


def test_a_state_folder_created_by_the_cli_is_said_and_empty_token_lists_say_where(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["token", "list"], env={"SORTIE_CONFIG": ""})
    assert result.exit_code == 0
    state = tmp_path / "data" / "state"
    assert f"the state folder {state} did not exist and is created now" in result.output
    assert f"no tokens in {state}" in result.output
    again = runner.invoke(app, ["token", "list"], env={"SORTIE_CONFIG": ""})
    assert "did not exist" not in again.output and f"no tokens in {state}" in again.output


def test_config_is_accepted_before_the_command(tmp_path: Path) -> None:
    config = tmp_path / "only.yaml"
    config.write_text(f"backends:\n  only: {{type: local, path: {tmp_path / 'x'}}}\n"
                      f"state_dir: {tmp_path / 'state'}\n")
    result = runner.invoke(app, ["--config", str(config), "backends", "list"],
                           env={"SORTIE_CONFIG": ""})
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["only", "local"]


def test_top_level_help_cuts_no_description() -> None:
    result = runner.invoke(app, ["--help"])
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands, commands


def test_serve_listens_without_nagle() -> None:
    """`serve` binds its own listening socket (so a busy port fails before the banner); the
    connections it accepts must have TCP_NODELAY, or each small response waits for the client's
    delayed ACK (measured: a 4 KiB GET took 44-48 ms instead of 3-5)."""
    import socket

    from service.cli import _bind
    from tests.servers.process import free_port

    port = free_port()
    listener = _bind("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    try:
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        client.close()
        listener.close()
