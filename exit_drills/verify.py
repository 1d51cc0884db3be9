"""Prove a target object equals what was read from the source: read it back, hash it, compare.

Every comparison that cannot be made is a failure: a target object that is missing, that cannot
be read, or that is shorter than announced never passes silently.
"""

from __future__ import annotations

from typing import Mapping

from adapters.contract import DEFAULT_CONTENT_TYPE, ObjectStore

from .copy import ByteCounter, HashingBody, Observed


def read_back(store: ObjectStore, bucket: str, key: str,
              on_bytes: ByteCounter | None = None) -> Observed:
    """Read a whole object, hashing it; nothing is kept in memory but the hash."""
    with store.get(bucket, key) as body:
        hashing = HashingBody(body, on_bytes)
        for _ in hashing:
            pass
        info = body.info
    return Observed(size=hashing.size, sha256=hashing.hexdigest(), content_type=info.content_type,
                    metadata=dict(info.metadata), recorded_sha256=info.sha256)


def differences(expected: Observed, actual: Observed) -> list[str]:
    """Why `actual` (the target) is not a faithful copy of `expected` (the source); [] if it is."""
    problems: list[str] = []
    if actual.size != expected.size:
        problems.append(f"size differs: source {expected.size} bytes, target {actual.size}")
    if actual.sha256 != expected.sha256:
        problems.append(f"SHA-256 differs: source {expected.sha256}, target {actual.sha256}")
    if actual.recorded_sha256 and actual.recorded_sha256 != actual.sha256:
        problems.append(f"target's recorded SHA-256 {actual.recorded_sha256} does not match its "
                        f"bytes ({actual.sha256})")
    src_type = expected.content_type or DEFAULT_CONTENT_TYPE
    dst_type = actual.content_type or DEFAULT_CONTENT_TYPE
    if src_type != dst_type:
        problems.append(f"content type differs: source {src_type!r}, target {dst_type!r}")
    problems += _metadata_differences(expected.metadata, actual.metadata)
    return problems


def source_consistency(observed: Observed) -> list[str]:
    """The source's bytes against the SHA-256 it recorded at ingest (corruption at the source)."""
    if observed.recorded_sha256 and observed.recorded_sha256 != observed.sha256:
        return [f"source bytes hash to {observed.sha256}, but the source recorded "
                f"{observed.recorded_sha256} at ingest: the source copy is corrupt"]
    return []


def _metadata_differences(source: Mapping[str, str], target: Mapping[str, str]) -> list[str]:
    if dict(source) == dict(target):
        return []
    missing = sorted(set(source) - set(target))
    added = sorted(set(target) - set(source))
    changed = sorted(k for k in set(source) & set(target) if source[k] != target[k])
    parts = []
    if missing:
        parts.append(f"missing in target: {', '.join(missing)}")
    if added:
        parts.append(f"only in target: {', '.join(added)}")
    if changed:
        parts.append(f"values differ: {', '.join(changed)}")
    return ["metadata differs (" + "; ".join(parts) + ")"]
