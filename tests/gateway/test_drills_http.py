"""Exit drills over the gateway's HTTP API: start, follow, report, then the exit switch."""

from __future__ import annotations

import time
from typing import Any

from .live import LiveGateway


def wait_finished(live: LiveGateway, drill_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = live.client.get(f"/v1/drills/{drill_id}")
        assert reply.status_code == 200, reply.text
        status = reply.json()
        if status["status"] in ("passed", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"drill {drill_id} did not finish in {timeout} s")


def test_drill_started_over_http_then_the_route_switches(live_local: LiveGateway) -> None:
    live = live_local
    bucket = f"drill-http-{time.monotonic_ns() % 10**8}"
    assert live.client.put(f"/v1/buckets/{bucket}").status_code == 201
    for i in range(5):
        reply = live.client.put(f"/v1/buckets/{bucket}/objects/scan {i}#.dcm", content=b"x" * (i * 1000),
                                headers={"X-Sortie-Meta-Study": f"CT-{i}"})
        assert reply.status_code == 200, reply.text
    route = live.client.get(f"/v1/buckets/{bucket}/route").json()
    refused = live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "spare"})
    assert refused.status_code == 409

    started = live.client.post("/v1/drills", json={
        "from": f"main:{route['physical_bucket']}", "to": f"spare:{bucket}", "concurrency": 4})
    assert started.status_code == 202, started.text
    drill_id = started.json()["id"]
    status = wait_finished(live, drill_id)
    assert status["status"] == "passed", status
    assert status["progress"]["objects_settled"] == 5

    report = live.client.get(f"/v1/drills/{drill_id}/report")
    assert report.headers["content-type"].startswith("application/json")
    assert report.json()["objects"]["verified"] == 5
    html = live.client.get(f"/v1/drills/{drill_id}/report", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text

    switched = live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "spare"})
    assert switched.status_code == 200, switched.text
    read = live.client.get(f"/v1/buckets/{bucket}/objects/scan 3#.dcm")
    assert read.status_code == 200 and read.content == b"x" * 3000
    assert live.client.get(f"/v1/buckets/{bucket}/route").json()["backend"] == "spare"


def test_drill_requests_are_checked(live_local: LiveGateway) -> None:
    live = live_local
    bad = [
        ({"from": "nowhere:abc", "to": "spare:abc"}, 400, "not configured"),
        ({"from": "main", "to": "spare:abc"}, 400, "expected BACKEND:BUCKET"),
        ({"from": "main:abc", "to": "spare:abc", "mode": "sideways"}, 422, None),
        ({"from": "main:abc", "to": "spare:abc", "extra": 1}, 422, None),
        ({"from": "main:Bad_Bucket", "to": "spare:abc"}, 400, "bucket"),
    ]
    for body, status, words in bad:
        reply = live.client.post("/v1/drills", json=body)
        assert reply.status_code == status, (body, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
        if words:
            assert words in reply.json()["detail"]
    assert live.client.get("/v1/drills/nope").status_code == 404
    reader = live.as_token(live.token(["read", "write"]))
    assert reader.post("/v1/drills", json={"from": "main:abc", "to": "spare:abc"}).status_code == 403


def test_a_drill_started_over_http_runs_on_dask_workers(live_local: LiveGateway) -> None:
    live = live_local
    bucket = f"drill-dask-{time.monotonic_ns() % 10**8}"
    assert live.client.put(f"/v1/buckets/{bucket}").status_code == 201
    for i in range(30):
        assert live.client.put(f"/v1/buckets/{bucket}/objects/o{i}",
                               content=b"y" * (i * 100)).status_code == 200
    route = live.client.get(f"/v1/buckets/{bucket}/route").json()
    started = live.client.post("/v1/drills", json={
        "from": f"main:{route['physical_bucket']}", "to": f"spare:{bucket}-d", "workers": 2})
    assert started.status_code == 202, started.text
    status = wait_finished(live, started.json()["id"])
    assert status["status"] == "passed", status
    assert status["progress"]["objects_settled"] == 30 and status["progress"]["workers"] == 2


def test_a_drill_into_its_own_source_is_refused_over_http(live_local: LiveGateway) -> None:
    for source, target in (("main:same", "main:same"), ("main:data", "main:data/copy/"),
                           ("main:data/a/", "main:data")):
        reply = live_local.client.post("/v1/drills", json={"from": source, "to": target})
        assert reply.status_code == 400, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert "same place" in reply.json()["detail"] or "overlap" in reply.json()["detail"]


def test_drills_are_listed_by_page_with_filters(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    assert live.client.put(f"/v1/buckets/{bucket}/objects/k", content=b"v").status_code == 200
    ids = []
    for target in ("spare:list-a", "spare:list-b", "spare:list-c"):
        started = live.client.post("/v1/drills", json={"from": f"main:{bucket}", "to": target})
        assert started.status_code == 202, started.text
        ids.append(started.json()["id"])
        assert wait_finished(live, ids[-1])["status"] == "passed"
    first = live.client.get("/v1/drills", params={"bucket": bucket, "limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [d["id"] for d in page["drills"]] == ids[::-1][:2] and page["next_cursor"]
    second = live.client.get("/v1/drills", params={"bucket": bucket, "limit": 2,
                                                   "cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in second["drills"]] == [ids[0]] and second["next_cursor"] is None
    assert live.client.get("/v1/drills", params={"bucket": bucket, "status": "failed"}
                           ).json()["drills"] == []
    assert len(live.client.get("/v1/drills", params={"bucket": "list-b"}).json()["drills"]) == 1
    late = live.client.get("/v1/drills", params={"bucket": bucket,
                                                 "since": "2999-01-01T00:00:00Z"}).json()
    assert late["drills"] == []
    bad = live.client.get("/v1/drills", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith(
        "application/problem+json")
    reader = live.as_token(live.token(["read"]))
    assert reader.get("/v1/drills").status_code == 403
