"""What a drill started from Sortie's configuration adds to its attestation: the signing key,
who started it, the configuration's digest (secrets masked) and the audit chain's head."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from exit_drills.evidence.attestation import Signer
from exit_drills.evidence.keys import KeyFileError, load_signing_key

from exit_drills.spec import DrillSpec

from .audit import read_head
from .placement import drill_verdict
from .state import current_routes
from .config import LoadedConfig


class EvidenceError(Exception):
    """The configured signing key cannot be used (the message says why)."""


def config_digest(loaded: LoadedConfig) -> str:
    """SHA-256 of the validated configuration as JSON; pydantic masks every secret field, so
    the digest changes with the configuration but reveals no secret."""
    return hashlib.sha256(loaded.settings.model_dump_json().encode("utf-8")).hexdigest()


def signer_factory(loaded: LoadedConfig) -> Callable[[str], Signer]:
    """started_by -> the drill's Signer. The key is loaded here, once: a key that cannot be
    used stops the command (or the gateway) at start, not at the end of a long drill."""
    key = None
    if loaded.signing_key is not None:
        try:
            key = load_signing_key(loaded.signing_key)
        except KeyFileError as exc:
            raise EvidenceError(f"evidence.signing_key: {exc}") from None
    log = loaded.audit_log
    digest = config_digest(loaded)

    def audit_head() -> dict[str, Any] | None:
        if loaded.settings.state.url is not None:
            return _database_audit_head(loaded)
        return read_head(log).as_dict(log) if log.exists() else None

    def placement(spec: DrillSpec) -> dict[str, Any] | None:
        return drill_verdict(loaded.settings, spec, current_routes(loaded))

    def signer(started_by: str) -> Signer:
        return Signer(started_by=started_by, config_sha256=digest, key=key,
                      audit_head=audit_head, placement=placement)

    return signer


def _database_audit_head(loaded: LoadedConfig) -> dict[str, Any] | None:
    from .state import open_database
    from .state.audit import PgAuditLog

    db = open_database(loaded)
    try:
        return PgAuditLog(db).head_dict()
    finally:
        db.close()
