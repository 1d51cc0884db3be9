"""`sortie backends presets | show NAME | check NAME | sweep NAME`, all through the registry."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from adapters import registry
from adapters.config import BackendConfig
from adapters.errors import StorageError

from ..config import LoadedConfig
from .common import ConfigOption, fail, load_config

BackendName = Annotated[str, typer.Argument(help="A configured backend.")]


def _configured(name: str, config: Any) -> tuple[LoadedConfig, BackendConfig]:
    """The loaded configuration and the settings of backend `name` (exit 2 if there is none)."""
    loaded = load_config(config)
    settings = loaded.settings.backends.get(name)
    if settings is None:
        raise fail(f"no backend named {name!r} (see `sortie backends list`)")
    return loaded, settings


def backends_presets() -> None:
    """List the provider presets a backend can name with `preset:`."""
    for entry in registry.presets():
        title = entry.title if entry.error is None else f"(invalid: {entry.error})"
        typer.echo(f"{entry.family}\t{entry.name}\t{title}")


def backends_show(name: BackendName, config: ConfigOption = None) -> None:
    """Print a backend's resolved settings (preset merged in, secrets masked)."""
    _, settings = _configured(name, config)
    try:
        _print(registry.describe(settings))
    except StorageError as exc:
        raise fail(f"backend {name!r}: {exc}") from None


def _print(data: dict[str, Any], indent: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            typer.echo(f"{indent}{key}:")
            _print(value, indent + "  ")
        else:
            typer.echo(f"{indent}{key}: {value}")


def backends_check(name: BackendName,
                   bucket: Annotated[Optional[str], typer.Option(
                       help="Probe inside this existing bucket (default: a scratch bucket, "
                            "created and removed).")] = None,
                   config: ConfigOption = None) -> None:
    """Connect, authenticate, and put/get/delete a probe object; one-line diagnosis on failure."""
    from adapters.probe import probe

    loaded, settings = _configured(name, config)
    try:
        store = registry.build_store(name, settings, loaded.base_dir)
    except StorageError as exc:
        raise fail(f"{name}: cannot open: {exc}", 1) from None
    try:
        report = probe(store, bucket)
    finally:
        store.close()
    for step in report.steps:
        status = "ok" if step.ok else "FAIL"
        typer.echo(f"{status:<4} {step.name:<7} {step.seconds * 1000:7.0f} ms  {step.detail}")
    if not report.ok:
        raise fail(f"{name}: {report.diagnosis}", 1)
    typer.echo(f"{name}: ok")


def backends_sweep(name: Annotated[str, typer.Argument(help="A configured local backend.")],
                   older_than_hours: Annotated[float, typer.Option(
                       min=0.0, help="Only files left untouched this long (writes in progress "
                                     "are younger).")] = 24.0,
                   dry_run: Annotated[bool, typer.Option(
                       "--dry-run", help="List what would be removed; remove nothing.")] = False,
                   config: ConfigOption = None) -> None:
    """Remove the bytes interrupted writes and deletes left on a local backend's disk."""
    loaded, settings = _configured(name, config)
    try:
        lines = registry.run_command("sweep", name, settings, loaded.base_dir,
                                     older_than_hours=older_than_hours, dry_run=dry_run)
    except StorageError as exc:
        raise fail(exc.message) from None
    for line in lines:
        typer.echo(line)
