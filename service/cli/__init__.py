"""The `sortie` command line: the app and its small commands; `backends`, `drill` and
`scheduler` in their own modules, what they share in common.py.

Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from adapters.errors import StorageError

from .backends import backends_check, backends_presets, backends_show, backends_sweep
from .. import config as config_module
from .common import ConfigOption, fail, load_config
from .drills import drill_app, scheduler
from .evidence import audit_app, evidence_app
from .keys import keys_app
from .policy import policy_app
from .state import state_app

if TYPE_CHECKING:
    from typing import Callable

    from ..config import LoadedConfig
    from ..state import State
    from ..tokens import TokenStore

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode=None,  # help texts hold [BRACKETS] that are not markup
                  help="Sortie: one storage gateway over every cloud, and exit drills that prove you "
                       "can leave any of them.")
backends_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Inspect the configured storage backends.")
config_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Validate the configuration.")
token_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Manage the gateway's API tokens.")
@app.callback()
def global_options(config: ConfigOption = None) -> None:
    """Sortie: one storage gateway over every cloud, and exit drills that prove you can leave
    any of them. `--config` here applies to every command (like $SORTIE_CONFIG); a command's
    own `--config` wins."""
    if config is not None:
        os.environ[config_module.ENV_VAR] = str(config)


app.add_typer(backends_app, name="backends")
app.add_typer(config_app, name="config")
app.add_typer(token_app, name="token")
app.add_typer(drill_app, name="drill", short_help="Exit drills: copy, verify, report; history.")
app.add_typer(evidence_app, name="evidence")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
app.add_typer(state_app, name="state")
app.command("scheduler", short_help="Run the configured drills on their cron schedules.")(
    scheduler)
backends_app.command("presets")(backends_presets)
backends_app.command("show")(backends_show)
backends_app.command("check")(backends_check)
backends_app.command("sweep")(backends_sweep)

@app.command()
def serve(config: ConfigOption = None,
          host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          s3_port: Annotated[Optional[int], typer.Option(
              help="Also serve the S3-compatible API on this port (config: s3_api.port).")]
          = None) -> None:
    """Start the gateway."""
    import uvicorn

    from ..app import create_app
    from ..evidence import EvidenceError

    from ..state.postgres import SchemaOutOfDate, StateUnavailable

    loaded = load_config(config)
    try:
        application = create_app(loaded)
    except (SchemaOutOfDate, StateUnavailable) as exc:
        raise fail(str(exc), 1) from None
    except StorageError as exc:
        raise fail(f"cannot open a backend: {exc}", 1) from None
    except EvidenceError as exc:
        raise fail(str(exc)) from None
    listener = _bind(host, port)
    tokens: TokenStore = application.state.tokens
    if tokens.is_empty():
        # First start: without a token nobody could use the gateway. Shown once, stored hashed.
        token, info = tokens.create("initial-admin", ["admin"], ["*"])
        typer.echo(f"sortie: created the first admin token {info.id} (shown once, keep it):\n"
                   f"{token}", err=True)
    else:
        where = "the PostgreSQL state" if loaded.settings.state.url else str(loaded.state_dir)
        typer.echo(f"sortie: tokens in {where}; lost the admin token? make another "
                   "with `sortie token create --scope admin` (and revoke the old one)", err=True)
    typer.echo(f"sortie: serving on http://{host}:{port} with {loaded.source} "
               f"({', '.join(sorted(loaded.settings.backends))})", err=True)
    # No uvicorn access line per request: each request is in Sortie's audit log and metrics
    # already, and formatting that line took a fifth of a small GET's CPU.
    server = uvicorn.Server(uvicorn.Config(application, host=host, port=port,
                                           log_level="info", access_log=False))
    s3_port = s3_port or loaded.settings.s3_api.port
    if s3_port is None:
        server.run(sockets=[listener])
        return
    from ..s3api.app import create_s3_app

    s3_host = loaded.settings.s3_api.host or host
    s3_listener = _bind(s3_host, s3_port)
    s3_server = uvicorn.Server(uvicorn.Config(create_s3_app(loaded, application), host=s3_host,
                                              port=s3_port, log_level="info", lifespan="off",
                                              access_log=False))
    typer.echo(f"sortie: S3 API on http://{s3_host}:{s3_port} (region "
               f"{loaded.settings.s3_api.region}; credentials: sortie token create --s3)",
               err=True)

    async def both() -> None:
        import asyncio

        # The REST server owns the lifespan (the shared state opens and closes with it).
        await asyncio.gather(server.serve(sockets=[listener]),
                             s3_server.serve(sockets=[s3_listener]))

    import asyncio

    asyncio.run(both())


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says "serving": a busy port is an error at
    once, not after the banner."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it, and uvicorn does not set it on sockets it is handed:
    # without it, a small response's body waits for the client's delayed ACK (~40 ms).
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror} (another `sortie serve`? "
                   "choose another --port)", 1) from None
    listener.listen(2048)
    return listener


_DURATION = re.compile(r"^(\d{1,6})([dhm])$")


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m` -> a timedelta; anything else is a ValueError naming the forms."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--expires-in {text!r}: give a positive number of days, hours or "
                         "minutes, e.g. 90d, 12h, 30m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def token_store(config: Path | None) -> "TokenStore":
    import atexit

    from ..state import open_state

    loaded = load_config(config)
    if loaded.settings.state.url is not None:
        shared = open_state_or_fail(loaded, open_state)
        atexit.register(shared.close)
        return shared.tokens
    state = loaded.state_dir
    if not state.exists():
        typer.echo(f"sortie: the state folder {state} did not exist and is created now (from "
                   f"{loaded.source}): if you expected tokens there, give the right --config or "
                   "run from the configuration's folder", err=True)
    from ..tokens import TokenStore

    return TokenStore(state)


def open_state_or_fail(loaded: "LoadedConfig", opener: "Callable[..., State]") -> "State":
    """The state (files or PostgreSQL), or a CLI error that says why it cannot be opened."""
    from ..state.postgres import SchemaOutOfDate, StateUnavailable

    try:
        return opener(loaded, audit=False)
    except (StateUnavailable, SchemaOutOfDate) as exc:
        raise fail(str(exc), 1) from None


@token_app.command("create")
def token_create(
        config: ConfigOption = None,
        name: Annotated[str, typer.Option(help="A label for people (who or what uses it).")] = "token",
        scope: Annotated[list[str], typer.Option(
            "--scope", "-s", help="read, write or admin (repeat for several; admin implies both "
                                  "others).")] = ["read"],
        bucket: Annotated[list[str], typer.Option(
            "--bucket", "-b", help="Bucket name glob the token may use (repeat; default: '*').")]
        = ["*"],
        expires_in: Annotated[Optional[str], typer.Option(
            help="Refuse the token after this long: 90d, 12h, 30m (default: never).")] = None,
        s3: Annotated[bool, typer.Option(
            "--s3", help="Also print S3 credentials (access key id, secret access key) for the "
                         "S3 front, bound to the same scopes and buckets.")] = False,
        ) -> None:
    """Create a token and print it once (only its hash is stored)."""
    try:
        lifetime = parse_duration(expires_in) if expires_in else None
        store = token_store(config)
        token, info = store.create(name, scope, bucket, lifetime)
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"sortie: token {info.id} ({', '.join(sorted(info.scopes))} on "
               f"{', '.join(info.buckets)})", err=True)
    typer.echo(token)
    if s3:
        from adapters.encryption.keys import KeyFileError

        from ..s3api import keys

        try:
            sealing = keys.sealing_key(load_config(config).s3_secrets_key, create=True)
        except KeyFileError as exc:
            raise fail(str(exc), 1) from None
        secret = keys.new_secret()
        store.set_s3_secret(info.id, keys.seal(sealing, info.id, secret))
        typer.echo(f"access_key_id: {keys.access_key_of(info.id)}\n"
                   f"secret_access_key: {secret}")


@token_app.command("list")
def token_list(config: ConfigOption = None) -> None:
    """List tokens: id, name, scopes, bucket patterns, created, status (never the secrets)."""
    store = token_store(config)
    infos = store.list()
    if not infos:
        typer.echo(f"sortie: no tokens in {load_config(config).state_dir}", err=True)
    for info in infos:
        status = (f"revoked {info.revoked}" if info.revoked else
                  f"expired {info.expires}" if info.expired() else
                  f"active, expires {info.expires}" if info.expires else "active")
        typer.echo("\t".join([info.id, info.name, ",".join(sorted(info.scopes)),
                              ",".join(info.buckets), info.created, status]))


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (see `token list`).")],
                 config: ConfigOption = None) -> None:
    """Revoke a token at once: the gateway refuses it from the next request on."""
    if not token_store(config).revoke(token_id):
        raise fail(f"no active token with id {token_id!r}", 1)
    typer.echo(f"sortie: token {token_id} revoked", err=True)


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Load and validate the configuration; print what it defines."""
    loaded = load_config(config)
    settings = loaded.settings
    typer.echo(f"{loaded.source}: ok: {len(settings.backends)} backend(s), "
               f"{len(settings.buckets)} bucket(s), {len(settings.drills)} scheduled drill(s), "
               f"{len(settings.policies)} placement policy(ies); state folder {loaded.state_dir}")


@backends_app.command("list")
def backends_list(config: ConfigOption = None) -> None:
    """List the configured backends and their types."""
    loaded = load_config(config)
    for name, settings in sorted(loaded.settings.backends.items()):
        typer.echo(f"{name}\t{settings.type}")


def main() -> None:  # pragma: no cover - console entry point alias
    sys.exit(app())
