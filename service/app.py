"""The FastAPI gateway. Routes stay thin: they translate HTTP to calls on the service layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from adapters import build_store
from adapters.layers.stack import SERVING_STACK
from adapters.contract import ObjectStore
from exit_drills.background import BackgroundDrills

from . import __version__, methods, openapi, problems
from .console import pages as console
from .access import AccessMiddleware
from .evidence import signer_factory
from .config import LoadedConfig
from .gateway import Gateway
from .guard import RequestGuard
from .metrics import Metrics
from .routes import buckets, drills, objects, ops
from .state import open_state

#: Blocking adapter calls run in worker threads; this bounds how many run at once.
WORKER_THREADS = 200


def create_app(config: LoadedConfig) -> FastAPI:
    stores: dict[str, ObjectStore] = {
        name: build_store(name, settings, config.base_dir, stack=SERVING_STACK)
        for name, settings in config.settings.backends.items()
    }
    state = open_state(config)
    gateway = Gateway(config, stores, state=state)
    audit = state.audit
    tokens = state.tokens
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each streaming PUT or GET holds a worker thread for its whole transfer: anyio's default
        # of 40 would let 40 slow uploads queue every other request behind them.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield
        gateway.close()
        state.close()

    app = FastAPI(title="Sortie gateway", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # served from the package: service/openapi.py
                  description="One HTTP storage API over every backend. Errors are "
                              "application/problem+json; see the README's Gateway API section.")
    app.state.stores = stores
    app.state.gateway = gateway
    app.state.tokens = tokens
    app.state.metrics = metrics
    app.state.audit = audit
    app.state.drills = BackgroundDrills(config.settings.backends, base_dir=config.base_dir,
                                        state_dir=config.state_dir,
                                        secret_refs=config.secret_refs,
                                        signer=signer_factory(config),
                                        key_files=config.key_files,
                                        history_at=state.history)
    problems.install(app)
    app.add_middleware(methods.OptionsMiddleware)  # innermost: OPTIONS needs a token too
    # Added before the access middleware, so it runs inside it: refusals are audited too.
    app.add_middleware(RequestGuard, tokens=tokens, limits=config.settings.limits)
    app.add_middleware(AccessMiddleware, metrics=metrics, audit=audit)
    app.include_router(ops.router)
    app.include_router(buckets.router)
    app.include_router(objects.router)
    app.include_router(drills.router)
    console.install(app)
    openapi.install(app)
    return app

