"""`sortie backends presets | show NAME | check NAME | sweep NAME` (on the `backends` group)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from pydantic import SecretStr

from adapters.errors import StorageError

ConfigOption = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="YAML configuration file (default: $SORTIE_CONFIG, else the embedded "
                           "default).")]
#: Backend type -> module holding its presets (PRESET_DIR and load_preset).
PRESET_MODULES = {"s3": "adapters.s3.presets", "azure": "adapters.azure.preset",
                  "swift": "adapters.swift.preset"}


def _configured(name: str, config: Path | None) -> tuple[Any, Any]:
    """The loaded configuration and the settings of backend `name` (exit 2 if there is none)."""
    from .cli import fail, load_config

    loaded = load_config(config)
    settings = loaded.settings.backends.get(name)
    if settings is None:
        raise fail(f"no backend named {name!r} (see `sortie backends list`)")
    return loaded, settings


def backends_presets() -> None:
    """List the provider presets a backend can name with `preset:`."""
    for family, module_name in PRESET_MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for path in sorted(Path(module.PRESET_DIR).glob("*.yaml")):
            try:
                preset = module.load_preset(path.stem)
                title = getattr(preset, "title", "")
            except Exception as exc:  # noqa: BLE001 - show a broken preset rather than hide it
                title = f"(invalid: {exc})"
            typer.echo(f"{family}\t{path.stem}\t{title}")


def backends_show(name: Annotated[str, typer.Argument(help="A configured backend.")],
                  config: ConfigOption = None) -> None:
    """Print a backend's resolved settings (preset merged in, secrets masked)."""
    from .cli import fail

    _, settings = _configured(name, config)
    if settings.type == "s3":
        from adapters.s3.presets import PresetError, resolve
        try:
            shown: dict[str, Any] = {"type": "s3", **resolve(settings).describe()}
        except PresetError as exc:
            raise fail(f"backend {name!r}: {exc}") from None
    else:
        shown = {k: ("****" if isinstance(getattr(settings, k), SecretStr) else v)
                 for k, v in settings.model_dump().items()}
    _print(shown)


def _print(data: dict[str, Any], indent: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            typer.echo(f"{indent}{key}:")
            _print(value, indent + "  ")
        else:
            typer.echo(f"{indent}{key}: {value}")


def backends_check(name: Annotated[str, typer.Argument(help="A configured backend.")],
                   bucket: Annotated[Optional[str], typer.Option(
                       help="Probe inside this existing bucket (default: a scratch bucket, "
                            "created and removed).")] = None,
                   config: ConfigOption = None) -> None:
    """Connect, authenticate, and put/get/delete a probe object; one-line diagnosis on failure."""
    from adapters.probe import probe
    from adapters.registry import build_store

    from .cli import fail

    loaded, settings = _configured(name, config)
    try:
        store = build_store(name, settings, loaded.base_dir)
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
    from adapters.local import from_config
    from adapters.local_sweep import sweep

    from .cli import fail

    loaded, settings = _configured(name, config)
    if settings.type != "local":
        raise fail(f"backend {name!r} is {settings.type}, not local: only local disks are swept "
                   "(cloud stores discard uncommitted uploads themselves)")
    store = from_config(name, settings, loaded.base_dir)
    report = sweep(store, older_than_hours * 3600, dry_run=dry_run)
    for path in report.paths:
        typer.echo(f"{'would remove' if dry_run else 'removed'} {path}")
    typer.echo(f"{name}: {report.files} orphan file(s), {report.bytes} bytes, "
               f"{report.trash_folders} unfinished bucket delete(s)"
               f"{' found (dry run)' if dry_run else ' removed'}")
