"""`sortie drill ...` and `sortie scheduler`: thin commands over exit_drills.

Exit codes of `drill run`: 0 every object verified, 1 any object failed or differs, 2 usage or
configuration error (the message names the problem).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from adapters.errors import StorageError

from .common import ConfigOption, fail, load_config, signer_factory

drill_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Exit drills: copy a dataset to another backend, "
                                                   "verify every byte, report.")

@drill_app.command("run")
def drill_run(
    source: Annotated[Optional[str], typer.Option("--from", help="BACKEND:BUCKET[/PREFIX] to copy.")] = None,
    target: Annotated[Optional[str], typer.Option("--to", help="BACKEND:BUCKET[/PREFIX] to copy into; "
                                                            "keys are kept whole.")] = None,
    mode: Annotated[str, typer.Option(help="full | incremental | verify-only")] = "full",
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Objects in flight.")] = 8,
    report_dir: Annotated[Optional[Path], typer.Option(help="Folder for report.json, report.html "
                                                            "and manifest.jsonl (default: the "
                                                            "drill's folder in the state dir).")] = None,
    resume: Annotated[Optional[str], typer.Option(help="Continue drill DRILL_ID without copying "
                                                       "again what it already verified.")] = None,
    cleanup: Annotated[bool, typer.Option("--cleanup", help="Delete the objects the drill wrote "
                                                           "once it is verified and reported.")] = False,
    read_back_skipped: Annotated[bool, typer.Option(
        "--read-back-skipped/--no-read-back-skipped",
        help="Incremental mode: read back the objects it does not copy again (default). Without, "
             "they are trusted on recorded hashes and the drill cannot switch a route.")] = True,
    workers: Annotated[Optional[int], typer.Option(
        min=0, max=256, help="Worker processes drilling the objects, on a Dask LocalCluster "
                             "started for the drill (default: one per core, or 0 on a machine "
                             "of 2 cores or fewer, where threads measured faster); 0 keeps "
                             "them in threads of this process.")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Run on an existing Dask cluster, e.g. tcp://HOST:8786 (its workers need the "
             "environment variables the configuration names for secrets).")] = None,
    name: Annotated[str, typer.Option(help="Name recorded in the history.")] = "adhoc",
    config: ConfigOption = None,
) -> None:
    """Copy (or compare) every object, verify it by SHA-256, write the report."""
    from exit_drills.distributed import Execution, default_workers
    from exit_drills.progress import display_for
    from exit_drills.report import human_bytes

    from ..placement import drill_refusal
    from ..state import current_routes, history_of
    from exit_drills.runner import DrillSetupError, resume_spec, run_drill
    from exit_drills.spec import DrillSpec, Endpoint, Mode, explain

    loaded = load_config(config)
    state_dir = loaded.state_dir
    with history_of(loaded) as history_at:
        try:
            if resume:
                if source or target:
                    raise fail("--resume continues a drill as it was started: do not give --from/--to")
                spec, saved_report_dir = resume_spec(state_dir, resume, history_at)
                report_dir = report_dir or saved_report_dir
            else:
                if not source or not target:
                    raise fail("drill run needs --from BACKEND:BUCKET[/PREFIX] and --to BACKEND:BUCKET "
                               "(or --resume DRILL_ID)")
                try:
                    chosen = Mode(mode)
                except ValueError:
                    raise fail(f"--mode {mode!r}: expected full, incremental or verify-only") from None
                try:
                    spec = DrillSpec(name=name, source=Endpoint.parse(source),
                                     target=Endpoint.parse(target), mode=chosen,
                                     concurrency=concurrency, cleanup=cleanup,
                                     read_back_skipped=read_back_skipped)
                except ValueError as exc:
                    raise fail(f"invalid drill: {explain(exc)}") from None
            refusal = drill_refusal(loaded.settings, spec, current_routes(loaded))
            if refusal:
                raise fail(f"refused by placement policy: {refusal}")
            display = display_for(sys.stderr)
            try:
                execution = Execution(workers=default_workers() if workers is None else workers,
                                      scheduler=scheduler)
                report = run_drill(spec, loaded.settings.backends, base_dir=loaded.base_dir,
                                   state_dir=state_dir, report_dir=report_dir, drill_id=resume,
                                   on_progress=display, execution=execution,
                                   secret_refs=loaded.secret_refs, key_files=loaded.key_files,
                                   signer=signer_factory(loaded)(f"cli:{getpass.getuser()}"),
                                   history_at=history_at)
            finally:
                display.close()
        except DrillSetupError as exc:
            raise fail(str(exc)) from None
        except StorageError as exc:
            raise fail(f"cannot open a backend: {exc}") from None
    folder = report_dir or (state_dir / "drills" / report.id)
    o = report.objects
    moved = "read" if report.mode.value == "verify-only" else "copied"
    typer.echo(f"drill {report.id} {report.status}: {o.verified}/{o.total} verified, "
               f"{o.copied} copied, {o.skipped} skipped, {o.resumed} from earlier runs, "
               f"{o.failed} failed; {human_bytes(report.throughput_bytes_per_s)}/s (bytes "
               f"{moved} over {report.duration_s:.1f} s); report in {folder}")
    if o.not_read_back:
        typer.echo(f"  {o.not_read_back} object(s) not read back (--no-read-back-skipped): this "
                   "drill cannot switch a route", err=True)
    for failure in report.failures[:20]:
        typer.echo(f"  FAILED {failure.key or '(drill)'}: {failure.reason}", err=True)
    if len(report.failures) > 20:
        typer.echo(f"  ... and {len(report.failures) - 20} more in report.json", err=True)
    raise typer.Exit(0 if report.status == "passed" else 1)


@drill_app.command("history")
def drill_history(config: ConfigOption = None,
                  limit: Annotated[int, typer.Option(min=1, help="Most recent drills to show.")] = 50,
                  as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
                  ) -> None:
    """List past drills, most recent first."""
    from exit_drills import history

    from ..state import history_of

    with history_of(load_config(config)) as history_at:
        rows = history.list_drills(history_at, limit)
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            src = f"{row['source_backend']}:{row['source_bucket']}" + (
                f"/{row['source_prefix']}" if row["source_prefix"] else "")
            typer.echo(f"{row['id']}\t{row['status']}\t{row['name']}\t{src} -> "
                       f"{row['target_backend']}:{row['target_bucket']}\t{row['mode']}\t"
                       f"{row['started']}\t{row['finished'] or '-'}\t{row['report_dir']}")


def scheduler(config: ConfigOption = None,
              metrics_port: Annotated[Optional[int], typer.Option(
                  help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.")] = None,
              metrics_host: Annotated[str, typer.Option(help="Address for the metrics.")] = "127.0.0.1",
              run_now: Annotated[bool, typer.Option("--run-now", help="Run every drill once at "
                                                                     "start, then on schedule.")] = False,
              ) -> None:
    """Run the configured `drills:` on their cron schedules (UTC), keeping their history."""
    from exit_drills.schedule import run_scheduler

    loaded = load_config(config)
    drills = loaded.settings.drills
    if not drills:
        raise fail(f"{loaded.source}: no drills configured (add a `drills:` list)")
    from ..state import history_of

    with history_of(loaded) as history_at:
        run_scheduler(drills, loaded.settings.backends, base_dir=loaded.base_dir,
                      state_dir=loaded.state_dir, metrics_port=metrics_port,
                      metrics_host=metrics_host, run_now=run_now, secret_refs=loaded.secret_refs,
                      signer=signer_factory(loaded), key_files=loaded.key_files,
                      history_at=history_at)
