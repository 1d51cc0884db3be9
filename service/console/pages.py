"""The console's routes: login, overview, drills, one drill, backends, audit; and two actions."""

from __future__ import annotations

import anyio.to_thread

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from adapters import registry
from adapters.errors import StorageError
from exit_drills import history
from exit_drills.distributed import Execution
from exit_drills.runner import DrillSetupError
from exit_drills.spec import DrillSpec, Endpoint, explain

from ..audit import chain_files, verify
from ..placement import drill_refusal
from ..routes import run
from ..tokens import TokenInfo
from .sessions import COOKIE, LIFETIME_S, Session, Sessions
from .status import bucket_status

router = APIRouter(prefix="/console", include_in_schema=False)
_ENV = Environment(loader=PackageLoader("service", "console/templates"),
                   autoescape=select_autoescape(["html"]))


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def sessions_of(request: Request) -> Sessions:
    return request.app.state.console_sessions  # type: ignore[no-any-return]


def _page(name: str, request: Request, token: TokenInfo | None, session: Session | None,
          code: int = 200, **values: Any) -> HTMLResponse:
    html = _ENV.get_template(name).render(token=token, csrf=session.csrf if session else "",
                                          admin=token is not None and "admin" in token.scopes,
                                          **values)
    return HTMLResponse(html, status_code=code, headers={
        "Cache-Control": "no-store", "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "img-src 'self'; form-action 'self'; frame-ancestors 'none'"})


def _who(request: Request) -> tuple[Session, TokenInfo]:
    found = sessions_of(request).find(request.cookies.get(COOKIE))
    if found is None:
        raise _Refused(RedirectResponse("/console/login", status_code=303))
    return found


def _action(request: Request, csrf: str | None) -> tuple[Session, TokenInfo]:
    session, token = _who(request)
    if not Sessions.csrf_holds(session, csrf):
        raise _Refused(_page("message.html", request, token, session, 403,
                             title="Refused", message="The form's CSRF field is missing or "
                             "wrong: reload the page and try again."))
    if "admin" not in token.scopes:
        raise _Refused(_page("message.html", request, token, session, 403, title="Refused",
                             message=f"Token {token.id} has no admin scope: it may look, not act."))
    return session, token


def install(app: Any) -> None:
    from fastapi.responses import Response as Plain

    app.state.console_sessions = Sessions(app.state.tokens)

    @app.exception_handler(_Refused)
    async def refused(request: Request, exc: _Refused) -> Plain:
        return exc.response

    app.include_router(router)


@router.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return _page("login.html", request, None, None)


@router.post("/login")
async def login(request: Request, token: str = Form(..., max_length=512)) -> Response:
    opened = sessions_of(request).open(token.strip())
    if opened is None:
        return _page("login.html", request, None, None, 401,
                     error="This token is not valid (unknown, revoked or expired).")
    sid, _ = opened
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(COOKIE, sid, max_age=LIFETIME_S, httponly=True, samesite="strict",
                        path="/console", secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    session, _ = _who(request)
    if Sessions.csrf_holds(session, csrf):
        sessions_of(request).close(request.cookies.get(COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/")
async def overview(request: Request) -> HTMLResponse:
    session, token = _who(request)
    gateway = request.app.state.gateway
    rows = [bucket_status(gateway.config, logical, route, history_at=gateway.history_at)
            for logical, route in sorted(gateway.routes.all().items()) if token.sees(logical)]
    return _page("overview.html", request, token, session, rows=rows,
                 backends=sorted(gateway.config.settings.backends))


@router.get("/drills")
async def drills(request: Request, status: str | None = None,
                 bucket: str | None = None) -> HTMLResponse:
    session, token = _who(request)
    history_at = request.app.state.gateway.history_at
    rows = [r for r in history.find(history_at, status=status or None, bucket=bucket or None,
                                    limit=200)
            if token.sees(r["source_bucket"]) or token.sees(r["target_bucket"])]
    live = request.app.state.drills
    for row in rows:
        progress = (live.status(row["id"]) or {}).get("progress")
        row["progress"] = progress
    return _page("drills.html", request, token, session, rows=rows, chosen=status or "",
                 bucket=bucket or "")


@router.get("/drills/{drill_id}")
async def drill(request: Request, drill_id: str) -> HTMLResponse:
    session, token = _who(request)
    status = request.app.state.drills.status(drill_id)
    visible = status is not None and ("admin" in token.scopes or
                                      token.sees(status.get("source_bucket", "")) or
                                      token.sees(status.get("target_bucket", "")))
    if status is None or not visible:
        return _page("message.html", request, token, session, 404, title="No such drill",
                     message=f"No drill {drill_id} that this token may see.")
    folder = request.app.state.drills.report_dir(drill_id)
    report = _read_json(folder / "report.json") if folder else None
    return _page("drill.html", request, token, session, drill=status, report=report,
                 signed=bool(folder and (folder / "attestation.json").exists()))


@router.get("/drills/{drill_id}/report")
async def drill_report(request: Request, drill_id: str) -> Response:
    _who(request)
    folder = request.app.state.drills.report_dir(drill_id)
    if folder is None or not (folder / "report.html").is_file():
        return HTMLResponse("no report yet", status_code=404)
    return FileResponse(folder / "report.html", media_type="text/html")


@router.post("/drills")
async def start_drill(request: Request, source: str = Form(...), target: str = Form(...),
                      csrf: str = Form("")) -> Response:
    session, token = _action(request, csrf)
    gateway = request.app.state.gateway
    try:
        spec = DrillSpec(source=Endpoint.parse(source), target=Endpoint.parse(target))
    except ValueError as exc:
        return _page("message.html", request, token, session, 400, title="Invalid drill",
                     message=explain(exc))
    refusal = drill_refusal(gateway.config.settings, spec, gateway.routes.all())
    if refusal:
        return _page("message.html", request, token, session, 403, title="Refused by policy",
                     message=refusal)
    try:
        drill_id = request.app.state.drills.start(spec, Execution(),
                                                  started_by=f"token:{token.id} (console)")
    except (DrillSetupError, RuntimeError) as exc:
        return _page("message.html", request, token, session, 400, title="Not started",
                     message=str(exc))
    _audit(request, token, "start_drill", source=source, target=target, drill=drill_id)
    return RedirectResponse(f"/console/drills/{drill_id}", status_code=303)


@router.post("/buckets/{bucket}/route")
async def switch_route(request: Request, bucket: str, backend: str = Form(...),
                       csrf: str = Form("")) -> Response:
    session, token = _action(request, csrf)
    try:
        result = await run(request.app.state.gateway.switch_route, bucket, backend)
    except StorageError as exc:
        return _page("message.html", request, token, session, exc.http_status,
                     title="Switch refused", message=exc.message)
    _audit(request, token, "switch_route", bucket=bucket, backend=backend,
           drill=result.drill.get("id"))
    return RedirectResponse("/console/", status_code=303)


def _audit(request: Request, token: TokenInfo, action: str, **detail: Any) -> None:
    """Console actions are audited like the API's (the access middleware sees only /v1/)."""
    request.app.state.audit.write({"time": datetime.now(timezone.utc).isoformat(),
                                   "token": token.id, "action": action, "via": "console",
                                   **detail})


@router.get("/backends")
async def backends(request: Request) -> HTMLResponse:
    session, token = _who(request)
    gateway = request.app.state.gateway
    rows = []
    for name, settings in sorted(gateway.config.settings.backends.items()):
        try:
            facts = registry.facts(settings)
            compliance = facts.compliance.model_dump(mode="json")
            title, region, note = facts.title, facts.region, facts.note
        except StorageError as exc:
            compliance, title, region, note = {}, "unknown", None, str(exc)
        try:
            await run(gateway.check_backend, name)
            health = "reachable"
        except StorageError as exc:
            health = f"unreachable: {exc.message}"
        rows.append({"name": name, "type": settings.type, "title": title, "region": region,
                     "note": note, "facts": compliance, "health": health})
    return _page("backends.html", request, token, session, rows=rows)


@router.get("/audit")
async def audit(request: Request) -> HTMLResponse:
    session, token = _who(request)
    log = request.app.state.audit.path
    if log is None:  # the chain is in PostgreSQL
        return await anyio.to_thread.run_sync(lambda: _database_audit(request, token, session))
    files = chain_files(log)
    result = verify(files, head_of=log) if files else None
    recent: list[str] = []
    if log.exists():
        with open(log, "rb") as data:
            data.seek(max(0, data.seek(0, 2) - 64 * 1024))
            recent = data.read().decode("utf-8", "replace").splitlines()[-50:][::-1]
    return _page("audit.html", request, token, session, result=result, recent=recent,
                 log=str(log), now=datetime.now(timezone.utc))


def _database_audit(request: Request, token: Any, session: Any) -> HTMLResponse:
    audit_log = request.app.state.audit
    recent = [line.decode("utf-8", "replace") for _, line in audit_log.recent(50)]
    return _page("audit.html", request, token, session, result=audit_log.verify(),
                 recent=recent, log="PostgreSQL audit table", now=datetime.now(timezone.utc))


def _read_json(path: Any) -> dict[str, Any] | None:
    import json

    try:
        return json.loads(path.read_text("utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None
