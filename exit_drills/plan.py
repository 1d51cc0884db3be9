"""Decide what to do with one source object: copy it, skip it (incremental), or only compare."""

from __future__ import annotations

from enum import Enum

from adapters.contract import DEFAULT_CONTENT_TYPE, ObjectInfo, ObjectStore
from adapters.errors import NotFound

from .spec import DrillSpec, Mode


class Action(str, Enum):
    copy = "copy"
    skip = "skip"
    verify = "verify"


def decide(spec: DrillSpec, source: ObjectInfo, target: ObjectStore) -> Action:
    """`source` must be complete (from `head`). Incremental mode skips an object only when the
    target's recorded SHA-256 and size equal the source's, and content type and metadata match:
    a hash recorded on one side only proves nothing, so such objects are copied."""
    if spec.mode is Mode.verify_only:
        return Action.verify
    if spec.mode is Mode.full or not source.sha256:
        return Action.copy
    try:
        existing = target.head(spec.target.bucket, spec.target_key(source.key))
    except NotFound:
        return Action.copy
    same = (existing.size == source.size and existing.sha256 == source.sha256
            and (existing.content_type or DEFAULT_CONTENT_TYPE) == (source.content_type or DEFAULT_CONTENT_TYPE)
            and dict(existing.metadata) == dict(source.metadata))
    return Action.skip if same else Action.copy
