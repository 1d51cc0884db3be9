"""Exit drills over HTTP: start one, follow it, fetch its report. Admin scope: a drill reads a
whole bucket and writes a copy of it elsewhere."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
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
    #: Dask scheduler's address.
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
