"""A drill whose target is its own source, or overlaps it, is refused before anything moves: it
would "pass" reading what it just wrote, or copy its own copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from exit_drills.spec import DrillSpec, Endpoint

from .helpers import sortie, write_config


@pytest.mark.parametrize("source,target,refused", [
    ("primary:demo", "primary:demo", True),
    ("primary:demo", "primary:demo/copy/", True),       # copies land inside the source
    ("primary:demo/a/", "primary:demo", True),          # the target key IS the source key
    ("primary:demo/a/", "primary:demo/a/b/", True),
    ("primary:demo/a/", "primary:demo/b/", False),      # side by side in one bucket
    ("primary:demo", "primary:other", False),
    ("primary:demo", "spare:demo", False),
])
def test_overlapping_endpoints(source: str, target: str, refused: bool) -> None:
    if refused:
        with pytest.raises(ValueError, match="same place|overlap"):
            DrillSpec(source=Endpoint.parse(source), target=Endpoint.parse(target))
    else:
        DrillSpec(source=Endpoint.parse(source), target=Endpoint.parse(target))


def test_the_cli_refuses_a_drill_into_its_source_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "p" / "demo").mkdir(parents=True)
    config = write_config(tmp_path, {"primary": {"type": "local", "path": str(tmp_path / "p")}})
    done = sortie("drill", "run", "--config", str(config), "--from", "primary:demo",
                  "--to", "primary:demo", "--workers", "0")
    assert done.returncode == 2, done.stderr
    assert "same place (primary:demo)" in done.stderr
    assert not (tmp_path / "state" / "drills").exists()


def test_a_scheduled_drill_into_its_source_is_refused_at_load(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"primary": {"type": "local", "path": str(tmp_path / "p")}},
                          drills=[{"name": "loop", "from": "primary:demo", "to": "primary:demo/x/",
                                   "cron": "0 3 * * *"}])
    done = sortie("config", "check", "--config", str(config))
    assert done.returncode == 2 and "overlap" in done.stderr, done.stderr
