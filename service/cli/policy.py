"""`sortie policy check`: every bucket's placement policy judged on every configured backend."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .common import ConfigOption, fail, load_config

policy_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Placement policies: where each bucket's data may land.")


@policy_app.command("check")
def policy_check(config: ConfigOption = None,
                 as_json: Annotated[bool, typer.Option("--json", help="One JSON object per "
                                                                      "bucket.")] = False) -> None:
    """Print bucket x backend x rule -> pass / fail / unknown / encrypt, with each fact's
    source. Exits 1 when a bucket is routed where its policy refuses it."""
    from ..placement import compliance
    from ..state import current_routes

    loaded = load_config(config)
    settings = loaded.settings
    if not settings.policies:
        typer.echo(f"{loaded.source}: no placement policies configured (`policies:`)")
        return
    misplaced = []
    for logical, route in sorted(current_routes(loaded).items()):
        report = compliance(settings, logical, route.backend)
        if as_json:
            typer.echo(json.dumps(report, ensure_ascii=False, default=str))
        else:
            _print(report)
        if any(b["current"] and not b["allowed"] for b in report["backends"]):
            misplaced.append(logical)
    if misplaced:
        raise fail(f"routed where their policy refuses them: {', '.join(misplaced)}", 1)


def _print(report: dict) -> None:
    policy = report["policy"] or "(no policy: data may land anywhere)"
    encryption = f"encrypted under key {report['encryption_key']}" if report["encryption_key"] \
        else "not encrypted"
    typer.echo(f"bucket {report['bucket']}  policy {policy}  routed to {report['backend']}  "
               f"{encryption}")
    for backend in report["backends"]:
        mark = "*" if backend["current"] else " "
        typer.echo(f" {mark} {backend['backend']:<16} {'allowed' if backend['allowed'] else 'REFUSED'}")
        for rule in backend["rules"]:
            typer.echo(f"     {rule['rule']:<26} {rule['requirement']:<9} {rule['verdict']:<8} "
                       f"{rule['reason']}  [source: {rule['source'] or 'none recorded'}]")
