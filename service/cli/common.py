"""What every `sortie` command shares: the --config option, loading it, and failing with a code.

Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Callable, Optional

import typer

from .. import config as config_module

if TYPE_CHECKING:
    from exit_drills.evidence.attestation import Signer

ConfigOption = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="YAML configuration file (default: $SORTIE_CONFIG, else the embedded "
                           "default with two local-disk backends under ./data).")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"sortie: {message}", err=True)
    return typer.Exit(code)


def signer_factory(loaded: config_module.LoadedConfig) -> Callable[[str], Signer]:
    from ..evidence import EvidenceError
    from ..evidence import signer_factory as factory

    try:
        return factory(loaded)
    except EvidenceError as exc:
        raise fail(str(exc)) from None


def load_config(path: Path | None) -> config_module.LoadedConfig:
    try:
        return config_module.load(path)
    except config_module.ConfigError as exc:
        raise fail(f"invalid configuration\n{exc}") from None
