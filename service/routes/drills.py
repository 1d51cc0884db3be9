"""Exit drills over HTTP: start one, follow it, fetch its report. Admin scope: a drill reads a
whole bucket and writes a copy of it elsewhere."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exit_drills.background import BackgroundDrills
from exit_drills.distributed import Execution
from exit_drills.runner import DrillSetupError
from exit_drills.spec import DrillSpec, Endpoint, Mode, explain

from ..auth import authorize, require
from ..tokens import TokenInfo
from ..placement import drill_refusal
from ..problems import GatewayProblem
from . import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", tags=["drills"], responses=PROBLEM_RESPONSES)


class DrillRequest(BaseModel):
    """Same fields as `sortie drill run`: physical endpoints `BACKEND:BUCKET[/PREFIX]`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from", max_length=1100, examples=["primary:imaging"])
    target: str = Field(alias="to", max_length=1100, examples=["exit:imaging"])
    mode: Mode = Mode.full
    concurrency: int = Field(default=8, ge=1, le=64)
    cleanup: bool = False
    #: Incremental mode: read back what is not copied again (off: the drill cannot switch).
    read_back_skipped: bool = True
    #: Worker processes of a Dask LocalCluster (0: threads of the gateway), or an existing
    #: Dask scheduler's address. 0 by default, unlike `sortie drill run`: the gateway serves
    #: requests and may run several drills; worker processes for each are asked for, not
    #: started unasked on the cores the requests need.
    workers: int = Field(default=0, ge=0, le=64)
    scheduler: str | None = Field(default=None, max_length=200, pattern=r"^(tcp|tls)://\S+$")


class DrillStarted(BaseModel):
    id: str
    status_url: str
    report_url: str


def drills_of(request: Request) -> BackgroundDrills:
    return request.app.state.drills  # type: ignore[no-any-return]


@router.post("/drills", status_code=202, response_model=DrillStarted,
             summary="Start an exit drill")
async def start_drill(request: Request, body: DrillRequest,
                      token: TokenInfo = Depends(authorize("admin", "start_drill"))
                      ) -> DrillStarted:
    try:
        spec = DrillSpec(source=Endpoint.parse(body.source), target=Endpoint.parse(body.target),
                         mode=body.mode, concurrency=body.concurrency, cleanup=body.cleanup,
                         read_back_skipped=body.read_back_skipped)
    except ValidationError as exc:  # the spec's own rules (e.g. a target overlapping its source)
        raise GatewayProblem(400, explain(exc) or "invalid drill", slug="invalid-drill") from None
    except ValueError as exc:
        raise GatewayProblem(400, str(exc).splitlines()[-1] if str(exc) else "invalid drill",
                             slug="invalid-drill") from None
    gateway = request.app.state.gateway
    refusal = drill_refusal(gateway.config.settings, spec, gateway.routes.all())
    if refusal:
        raise GatewayProblem(403, f"refused by placement policy: {refusal}",
                             slug="placement-refused")
    try:
        drill_id = drills_of(request).start(spec, Execution(body.workers, body.scheduler),
                                            started_by=f"token:{token.id}")
    except DrillSetupError as exc:
        raise GatewayProblem(400, str(exc), slug="invalid-drill") from None
    except RuntimeError as exc:
        raise GatewayProblem(503, str(exc), slug="busy", headers={"Retry-After": "60"}) from None
    return DrillStarted(id=drill_id, status_url=f"/v1/drills/{drill_id}",
                        report_url=f"/v1/drills/{drill_id}/report")


class DrillPage(BaseModel):
    drills: list[dict[str, Any]]
    #: Pass it back as `cursor` for the next page; null on the last page.
    next_cursor: str | None = None


@router.get("/drills", response_model=DrillPage, dependencies=[require("admin", "list_drills")],
            summary="Past and running drills, most recent first, by page")
async def list_drills(request: Request,
                      status: Literal["running", "passed", "failed"] | None = None,
                      bucket: str | None = Query(default=None, min_length=1, max_length=255,
                                                 description="As the drill's source or target"),
                      since: datetime | None = Query(default=None,
                                                     description="Started at or after (ISO 8601)"),
                      limit: int = Query(default=50, ge=1, le=500),
                      cursor: str | None = Query(default=None, max_length=512)) -> DrillPage:
    from exit_drills import history

    after = _decode_cursor(cursor) if cursor else None
    when = None
    if since is not None:  # the history keeps UTC times to the millisecond, as text
        aware = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
        when = aware.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    rows = history.find(drills_of(request).history_at, status=status, bucket=bucket, since=when,
                        after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return DrillPage(drills=rows, next_cursor=_encode_cursor(rows[-1]) if more else None)


def _encode_cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["started"], row["id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        started, drill_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(started), str(drill_id)
    except (ValueError, TypeError, binascii.Error):
        raise GatewayProblem(400, "cursor is not one this API gave", slug="invalid-cursor") \
            from None


@router.get("/drills/{drill_id}", dependencies=[require("admin", "get_drill")],
            summary="A drill's status and live progress")
async def get_drill(request: Request, drill_id: str) -> dict[str, Any]:
    status = drills_of(request).status(drill_id)
    if status is None:
        raise GatewayProblem(404, f"no drill {drill_id!r}", slug="not-found")
    return status


@router.get("/drills/{drill_id}/report", dependencies=[require("admin", "get_drill_report")],
            response_class=FileResponse, responses={200: {
                "description": "The report, as JSON or as a page for a browser",
                "content": {"application/json": {"schema": {"type": "object"}},
                            "text/html": {"schema": {"type": "string"}}}}},
            summary="The drill's report: JSON (default) or HTML (format=html or Accept: text/html)")
async def get_report(request: Request, drill_id: str,
                     format: Literal["json", "html"] | None = None) -> FileResponse:
    folder = drills_of(request).report_dir(drill_id)
    wants_html = format == "html" or (format is None
                                      and "text/html" in request.headers.get("accept", ""))
    name, media = ("report.html", "text/html") if wants_html else ("report.json", "application/json")
    if folder is None or not (folder / name).is_file():
        raise GatewayProblem(404, f"no report yet for drill {drill_id!r}", slug="not-found")
    return FileResponse(folder / name, media_type=media)
