"""Pydantic models of the gateway's JSON bodies (the edges of the API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error."""

    type: str
    title: str
    status: int
    detail: str


class BucketOut(BaseModel):
    name: str
    backend: str


class BucketList(BaseModel):
    buckets: list[BucketOut]


class ObjectOut(BaseModel):
    key: str
    size: int
    last_modified: datetime | None = None
    etag: str | None = None
    content_type: str | None = None
    sha256: str | None = None


class ObjectList(BaseModel):
    objects: list[ObjectOut]
    common_prefixes: list[str]
    #: Opaque: pass it back as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None


class RouteOut(BaseModel):
    bucket: str
    backend: str
    physical_bucket: str


class RouteSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = Field(min_length=1, max_length=64)
    #: Refuse the switch when an object was written after the drill started (it may be missing).
    check_writes_since_drill: bool = True


class RouteSwitched(RouteOut):
    previous_backend: str
    drill_id: str | None = None
    drill_finished: str | None = None


class BackendStatus(BaseModel):
    name: str
    type: str


class BackendList(BaseModel):
    backends: list[BackendStatus]


class Readiness(BaseModel):
    status: str
    backends: dict[str, str]
