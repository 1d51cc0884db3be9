"""The FastAPI gateway. Routes stay thin: they translate HTTP to calls on the service layer."""

from __future__ import annotations

from fastapi import FastAPI

from adapters import build_store
from adapters.contract import ObjectStore

from . import __version__
from .config import LoadedConfig


def create_app(config: LoadedConfig) -> FastAPI:
    stores: dict[str, ObjectStore] = {
        name: build_store(name, settings, config.base_dir)
        for name, settings in config.settings.backends.items()
    }
    app = FastAPI(title="Sortie gateway", version=__version__)
    app.state.stores = stores

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/backends")
    def backends() -> dict[str, list[dict[str, str]]]:
        return {"backends": [{"name": name, "type": config.settings.backends[name].type}
                             for name in sorted(stores)]}

    return app
