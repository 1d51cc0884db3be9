"""The operator console in a real Chromium (Debian's, driven by Playwright): log in, read the
overview's statuses for a passed, a failed and a stale drill, open a drill and its report, start
a drill and watch it finish, switch a route after it; refused without the admin scope, refused
a POST without its CSRF field. Screenshots are kept in the test's folder (look at them)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from service.tokens import TokenStore
from tests.gateway.live import LiveGateway, start_gateway


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveGateway]:
    gateway = start_gateway("local", tmp_path / "gw", {"type": "local", "path": "main"})
    try:
        yield gateway
    finally:
        gateway.stop()


def _bucket(live: LiveGateway, name: str, objects: int = 3) -> None:
    assert live.client.put(f"/v1/buckets/{name}").status_code == 201
    for i in range(objects):
        assert live.client.put(f"/v1/buckets/{name}/objects/scan-{i}.dcm", content=b"DICM" * 50,
                               headers={"Content-Type": "application/dicom"}).status_code == 200


def _drill(live: LiveGateway, source: str, target: str) -> str:
    started = live.client.post("/v1/drills", json={"from": source, "to": target})
    assert started.status_code == 202, started.text
    drill_id = started.json()["id"]
    deadline = time.monotonic() + 60
    while live.client.get(f"/v1/drills/{drill_id}").json()["status"] not in ("passed", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return str(drill_id)


def _login(browser: Any, live: LiveGateway, token: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live.url}/console/")
    assert page.url.endswith("/console/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/console/")
    return page


def _age(live: LiveGateway, drill_id: str, days: int) -> None:
    """Make a drill look `days` old in the history (a stale drill, without waiting a week)."""
    db = sqlite3.connect(live.config.state_dir / "drills" / "drills.sqlite3")
    db.execute("UPDATE drills SET started = '2026-01-01T00:00:00.000+00:00', "
               "finished = '2026-01-01T00:00:01.000+00:00' WHERE id = ?", (drill_id,))
    db.commit()
    db.close()


def _row(page: Any, bucket: str) -> str:
    return str(page.locator("tr", has=page.locator(f"code:text-is('{bucket}')")).inner_text())


def test_the_console_from_login_to_a_switched_route(browser: Any, live: LiveGateway,
                                                   tmp_path: Path) -> None:
    for name in ("fresh", "broken", "stale", "never"):
        _bucket(live, name)
    passed = _drill(live, "main:fresh", "spare:fresh")
    stale = _drill(live, "main:stale", "spare:stale")
    _age(live, stale, 300)
    # A failed drill: the source object's bytes damaged at rest on the local disk.
    blobs = sorted((live.config.base_dir / "main" / "broken" / "blobs").rglob("*"))
    next(p for p in blobs if p.is_file()).write_bytes(b"\0" * 200)
    failed = _drill(live, "main:broken", "spare:broken")

    page = _login(browser, live, live.admin_token)
    assert "reversible" in _row(page, "fresh") and passed in _row(page, "fresh")
    assert "at risk" in _row(page, "broken") and "failed" in _row(page, "broken")
    assert "unknown" in _row(page, "stale") and "days old" in _row(page, "stale")
    assert "unknown" in _row(page, "never") and "no exit drill" in _row(page, "never")
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    page.click(f"a:text-is('{passed}')")
    assert f"Drill {passed}: passed" in page.inner_text("h1")
    assert "Switch eligible" in page.inner_text("main")
    page.click("text=The full report")
    assert "How the copy was verified" in page.inner_text("body")
    page.go_back()
    page.goto(f"{live.url}/console/drills?status=failed")
    assert failed in page.inner_text("main") and passed not in page.inner_text("main")

    # Start a drill from the console and watch it finish (the page refreshes itself).
    page.goto(f"{live.url}/console/")
    page.fill("input[name=source]", "main:never")
    page.fill("input[name=target]", "spare:never")
    page.click("text=Start drill")
    page.wait_for_url(f"{live.url}/console/drills/*")
    # No script may run on the console (its CSP): the page's own refresh brings the result.
    page.locator("h1", has_text=": passed").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "drill.png"), full_page=True)

    # Switch the route of the bucket that now has a passed drill.
    page.goto(f"{live.url}/console/")
    page.select_option("select[aria-label='target backend of never']", "spare")
    page.locator("tr", has=page.locator("code:text-is('never')")).locator("text=Switch").click()
    page.wait_for_url(f"{live.url}/console/")
    assert live.client.get("/v1/buckets/never/route").json()["backend"] == "spare"
    for where in ("backends", "audit"):
        page.goto(f"{live.url}/console/{where}")
        page.screenshot(path=str(tmp_path / f"{where}.png"), full_page=True)
    assert "the hash chain holds" in page.inner_text("main")
    page.close()


def test_reading_tokens_may_look_not_act_and_forms_need_their_csrf(browser: Any,
                                                                   live: LiveGateway) -> None:
    _bucket(live, "seen")
    reader, _ = TokenStore(live.config.state_dir).create("reader", ["read"], ["seen"])
    page = _login(browser, live, reader)
    assert "seen" in page.inner_text("main") and "Start drill" not in page.inner_text("main")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert page.context.cookies()[0]["httpOnly"] is True
    assert page.context.cookies()[0]["sameSite"] == "Strict"
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    with httpx.Client(base_url=live.url, cookies=cookies) as client:
        refused = client.post("/console/drills", data={"source": "main:seen",
                                                       "target": "spare:seen", "csrf": csrf})
        assert refused.status_code == 403 and "no admin scope" in refused.text
    page.close()
    admin = _login(browser, live, live.admin_token)
    cookies = {c["name"]: c["value"] for c in admin.context.cookies()}
    with httpx.Client(base_url=live.url, cookies=cookies) as client:
        refused = client.post("/console/drills", data={"source": "main:seen",
                                                       "target": "spare:seen"})
        assert refused.status_code == 403 and "CSRF" in refused.text
        wrong = client.post("/console/drills", data={"source": "main:seen",
                                                     "target": "spare:seen", "csrf": "guess"})
        assert wrong.status_code == 403
    assert live.client.get("/v1/drills").json()["drills"] == []
    admin.close()
    bad = browser.new_page()
    bad.goto(f"{live.url}/console/login")
    bad.fill("input[name=token]", "not-a-token")
    bad.click("button[type=submit]")
    assert "not valid" in bad.inner_text("main")
    bad.close()


def test_console_actions_are_audited(browser: Any, live: LiveGateway) -> None:
    _bucket(live, "audited")
    page = _login(browser, live, live.admin_token)
    page.fill("input[name=source]", "main:audited")
    page.fill("input[name=target]", "spare:audited")
    page.click("text=Start drill")
    page.wait_for_url(f"{live.url}/console/drills/*")
    page.close()
    lines = [line for line in live.audit_lines() if line.get("via") == "console"]
    assert lines and lines[-1]["action"] == "start_drill" and lines[-1]["token"]
    assert lines[-1]["time"].startswith("20")


def test_the_api_docs_render_offline(browser: Any, live: LiveGateway) -> None:
    """Swagger UI from the gateway itself: with every request to another host refused, /docs
    still shows the operations."""
    context = browser.new_context()
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(live.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(f"{live.url}/docs")
    page.get_by_text("/v1/buckets/{bucket}", exact=True).first.wait_for(timeout=30_000)
    assert outside == []
    context.close()
