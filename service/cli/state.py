"""`sortie state`: the PostgreSQL schema (migrate), and moving an installation's tokens, routes
and audit chain between the files and PostgreSQL (export, import)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .common import ConfigOption, fail, load_config

state_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="The shared state: schema, export and import.")


@state_app.command("migrate")
def state_migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the PostgreSQL schema of `state.url` (safe to run again, and from
    several replicas at once)."""
    from ..state.postgres import Database, StateUnavailable, migrate

    loaded = load_config(config)
    if loaded.settings.state.url is None:
        raise fail(f"{loaded.source}: no `state: {{url: ...}}`: the state is in files under "
                   f"{loaded.state_dir}, which need no migration")
    try:
        db = Database(loaded.settings.state.url, pool_size=2)
        try:
            applied = migrate(db)
            version = db.schema_version()
        finally:
            db.close()
    except StateUnavailable as exc:
        raise fail(str(exc), 1) from None
    for step in applied:
        typer.echo(f"applied {step}")
    typer.echo(f"schema at version {version}" + ("" if applied else " (already up to date)"))


@state_app.command("export")
def state_export(out: Annotated[Path, typer.Option(help="JSON-lines file to write (0600).")],
                 config: ConfigOption = None) -> None:
    """Write tokens (hashes only), runtime routes, pending bucket deletes, the drill history and
    the audit chain of the configured state to OUT."""
    from adapters.encryption.keys import write_private
    from exit_drills import history

    from ..audit import chain_files
    from . import open_state_or_fail
    from ..state import open_state

    loaded = load_config(config)
    state = open_state_or_fail(loaded, open_state)
    lines: list[dict[str, Any]] = []
    try:
        lines += [{"kind": "token", "row": list(row)} for row in state.tokens.export_rows()]
        lines += [{"kind": "route", "bucket": logical, "route": _route(route)}
                  for logical, route in sorted(state.routes.runtime_entries().items())]
        lines += [{"kind": "deleting", "bucket": logical, "route": _route(route)}
                  for logical, route in sorted(state.routes.pending_deletes().items())]
        lines += [{"kind": "drill", "row": list(row)} for row in history.export_rows(state.history)]
        if state.shared:
            audit = [line for _, line in state.audit.lines()]
        else:
            audit = [line for path in chain_files(loaded.audit_log)
                     for line in path.read_bytes().splitlines() if line]
        lines += [{"kind": "audit", "line": line.decode("utf-8")} for line in audit]
    finally:
        state.close()
    try:
        write_private(out, "".join(json.dumps(line, ensure_ascii=False) + "\n"
                                   for line in lines).encode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - KeyFileError (exists) or OSError
        raise fail(str(exc), 1) from None
    counts = {kind: sum(1 for line in lines if line["kind"] == kind)
              for kind in ("token", "route", "deleting", "drill", "audit")}
    typer.echo(f"exported to {out}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


@state_app.command("import")
def state_import(file: Annotated[Path, typer.Argument(help="A file from `sortie state export`.")],
                 config: ConfigOption = None) -> None:
    """Load an export into the configured PostgreSQL state: tokens and drills not there yet,
    runtime routes and delete marks, and the audit chain (into an empty table, byte for byte)."""
    from exit_drills import history

    from ..routing import Route
    from ..state import open_state
    from . import open_state_or_fail

    loaded = load_config(config)
    if loaded.settings.state.url is None:
        raise fail("import goes into PostgreSQL: configure `state: {url: ...}` first")
    entries = [json.loads(line) for line in file.read_text("utf-8").splitlines() if line]
    state = open_state_or_fail(loaded, open_state)
    added = skipped = routes = drills = 0
    try:
        for entry in entries:
            if entry["kind"] == "token":
                if state.tokens.import_row(entry["row"]):
                    added += 1
                else:
                    skipped += 1
            elif entry["kind"] == "route":
                route = entry["route"]
                state.routes.import_entry(entry["bucket"],
                                          Route(**route) if route is not None else None)
                routes += 1
            elif entry["kind"] == "deleting":
                state.routes.mark_deleting(entry["bucket"], Route(**entry["route"]))
            elif entry["kind"] == "drill":
                drills += history.import_row(state.history, entry["row"])
        audit = [e["line"].encode("utf-8") for e in entries if e["kind"] == "audit"]
        try:
            imported = state.audit.import_lines(audit) if audit else 0
        except ValueError as exc:
            raise fail(str(exc), 1) from None
        verified = state.audit.verify()
    finally:
        state.close()
    typer.echo(f"imported {added} token(s) ({skipped} already there), {routes} route(s), "
               f"{drills} drill(s), {imported} audit line(s); the audit chain "
               + ("holds" if verified.holds else "is BROKEN: " + "; ".join(verified.problems)))
    if not verified.holds:
        raise typer.Exit(1)


def _route(route: Any) -> dict[str, str] | None:
    return None if route is None else {"backend": route.backend, "physical": route.physical}
