"""Build a store from its settings. Each backend family is imported only when configured, so a
local-only deployment does not load cloud SDKs."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from .config import BackendConfig
from .contract import ObjectStore
from .errors import Unsupported

#: type -> "module:factory". A factory takes (name, settings, base_dir) and returns an ObjectStore.
FACTORIES: dict[str, str] = {
    "local": "adapters.local:from_config",
    "s3": "adapters.s3:from_config",
    "azure": "adapters.azure:from_config",
    "swift": "adapters.swift:from_config",
    "libcloud": "adapters.libcloud:from_config",
}


def build_store(name: str, settings: BackendConfig, base_dir: Path | None = None) -> ObjectStore:
    target = FACTORIES[settings.type]
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(module_name):
            raise Unsupported(f"backend type {settings.type!r} is not available in this build",
                              backend=name) from exc
        raise
    factory: Callable[..., ObjectStore] = getattr(module, attr)
    return factory(name, settings, base_dir or Path.cwd())
