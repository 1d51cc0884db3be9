"""`sortie evidence` (signing keys, checking a drill's attestation) and `sortie audit` (the
audit log's hash chain)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, List, Optional

import typer

if TYPE_CHECKING:
    from ..audit import Verification
    from ..config import LoadedConfig

from .common import ConfigOption, fail, load_config

evidence_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                           help="Signed drill attestations an auditor can check offline.")
audit_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="The audit log's hash chain.")


@evidence_app.command("keygen")
def evidence_keygen(out: Annotated[Path, typer.Option(
        help="Folder for sortie-signing.key (private, 0600) and sortie-signing.pub "
             "(public: publish it to your auditors).")]) -> None:
    """Make an Ed25519 key pair that signs drill attestations."""
    from exit_drills.evidence.keys import KeyFileError, generate

    try:
        private, public, fingerprint = generate(out)
    except (KeyFileError, OSError) as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"private key {private} (keep it secret; mode 0600)\n"
               f"public key  {public} (publish it)\n"
               f"fingerprint {fingerprint}\n"
               f"configure it with:  evidence: {{signing_key: {private}}}")


@evidence_app.command("verify")
def evidence_verify(
        drill_dir: Annotated[Path, typer.Argument(help="A drill's folder: attestation.json, "
                                                       "report.json, report.html, manifest.jsonl.")],
        public_key: Annotated[Path, typer.Option(help="The signer's public key (PEM).")]) -> None:
    """Check a drill's attestation offline: signature, every file's digest, the manifest's
    lines against the verified count. No configuration and no backend are read."""
    from exit_drills.evidence.attestation import verify_drill
    from exit_drills.evidence.keys import KeyFileError, load_public_key

    try:
        public = load_public_key(public_key)
    except KeyFileError as exc:
        raise fail(str(exc)) from None
    verdict = verify_drill(drill_dir, public)
    for line in verdict.checked:
        typer.echo(f"ok       {line}")
    for line in verdict.problems:
        typer.echo(f"MISMATCH {line}")
    if not verdict.holds:
        raise fail(f"{drill_dir}: the evidence does not hold ({len(verdict.problems)} "
                   "problem(s))", 1)
    typer.echo(f"{drill_dir}: the evidence holds")


@audit_app.command("verify")
def audit_verify(files: Annotated[Optional[List[Path]], typer.Argument(
        help="Audit log files in the order they were written (default: the configured log's "
             "rotated files, then the log itself).")] = None,
        config: ConfigOption = None) -> None:
    """Check the audit log's hash chain: names each edited, removed, inserted or reordered
    line; exits 1 if any."""
    from ..audit import chain_files, verify

    live: Path | None = None
    if not files:
        loaded = load_config(config)
        if loaded.settings.state.url is not None:
            _report_chain(_database_verification(loaded))
            return
        live = loaded.audit_log
        files = chain_files(live)
        if not files:
            raise fail(f"no audit log at {live}", 1)
    else:
        head_files = [f for f in files if f.with_name(f.name + ".head").exists()]
        live = head_files[-1] if head_files and head_files[-1] == files[-1] else None
    _report_chain(verify(files, head_of=live))


def _database_verification(loaded: "LoadedConfig") -> "Verification":
    from ..state import open_state
    from . import open_state_or_fail

    state = open_state_or_fail(loaded, open_state)
    try:
        return state.audit.verify()  # type: ignore[no-any-return]
    finally:
        state.close()


def _report_chain(result: "Verification") -> None:
    for problem in result.problems:
        typer.echo(f"BROKEN {problem}")
    first = result.first_seq or 0
    span = f"seq {first}..{result.head.seq}" if result.head else "no line"
    if first > 1:
        span += " (earlier lines are in files not given)"
    if not result.holds:
        raise fail(f"the audit chain is broken: {len(result.problems)} problem(s) in "
                   f"{result.lines} line(s), {span}", 1)
    head = f", head {result.head.sha256}" if result.head else ""
    typer.echo(f"the audit chain holds: {result.lines} line(s) in {len(result.files)} file(s), "
               f"{span}{head}")


@audit_app.command("rotate")
def audit_rotate(config: ConfigOption = None) -> None:
    """Start a new audit log file; the chain continues in it."""
    from ..audit import AuditLog

    loaded = load_config(config)
    if loaded.settings.state.url is not None:
        raise fail("the audit chain is in PostgreSQL (`state.url`): there is no file to rotate; "
                   "archive old rows with the database's own tools")
    log = AuditLog(loaded.audit_log)
    try:
        rotated = log.rotate()
    finally:
        log.close()
    typer.echo(f"rotated to {rotated}; the chain continues in {log.path}")
