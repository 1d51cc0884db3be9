"""The `sortie` command line. Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from adapters.errors import StorageError

from . import config as config_module

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Sortie: one storage gateway over every cloud, and exit drills that prove you "
                       "can leave any of them.")
backends_app = typer.Typer(no_args_is_help=True, help="Inspect the configured storage backends.")
config_app = typer.Typer(no_args_is_help=True, help="Validate the configuration.")
app.add_typer(backends_app, name="backends")
app.add_typer(config_app, name="config")

ConfigOption = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="YAML configuration file (default: $SORTIE_CONFIG, else the embedded "
                           "default with two local-disk backends under ./data).")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"sortie: {message}", err=True)
    return typer.Exit(code)


def load_config(path: Path | None) -> config_module.LoadedConfig:
    try:
        return config_module.load(path)
    except config_module.ConfigError as exc:
        raise fail(f"invalid configuration\n{exc}") from None


@app.command()
def serve(config: ConfigOption = None,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000) -> None:
    """Start the gateway."""
    import uvicorn

    from .app import create_app

    loaded = load_config(config)
    try:
        application = create_app(loaded)
    except StorageError as exc:
        raise fail(f"cannot open a backend: {exc}", 1) from None
    typer.echo(f"sortie: serving on http://{host}:{port} with {loaded.source} "
               f"({', '.join(sorted(loaded.settings.backends))})", err=True)
    uvicorn.run(application, host=host, port=port, log_level="info")


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Load and validate the configuration; print what it defines."""
    loaded = load_config(config)
    typer.echo(f"{loaded.source}: ok, {len(loaded.settings.backends)} backend(s)")


@backends_app.command("list")
def backends_list(config: ConfigOption = None) -> None:
    """List the configured backends and their types."""
    loaded = load_config(config)
    for name, settings in sorted(loaded.settings.backends.items()):
        typer.echo(f"{name}\t{settings.type}")


def main() -> None:  # pragma: no cover - console entry point alias
    sys.exit(app())
