"""The object API through a real uvicorn server, over every backend (local, SeaweedFS, Azurite)."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import httpx

from .live import LiveGateway, pattern_bytes, pattern_sha256

MiB = 1024 * 1024
PROBLEM = "application/problem+json"


def url(bucket: str, key: str = "") -> str:
    return f"/v1/buckets/{bucket}/objects/{quote(key, safe='/')}"


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:sortie:problem:")
    assert body["title"] and body["detail"]
    return body


def test_streamed_put_and_get_of_50_mib_keep_every_byte(live: LiveGateway, gbucket: str) -> None:
    size = 50 * MiB
    expected = pattern_sha256(size)
    # A generator body: httpx sends it chunked, so the gateway cannot know the length up front.
    put = live.client.put(url(gbucket, "big/object.bin"), content=pattern_bytes(size),
                          headers={"X-Sortie-Sha256": expected,
                                   "Content-Type": "application/x-test"})
    assert put.status_code == 200, put.text
    assert put.json()["sha256"] == expected and put.json()["size"] == size
    digest = hashlib.sha256()
    received = 0
    with live.client.stream("GET", url(gbucket, "big/object.bin")) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(size)
        assert response.headers["x-sortie-sha256"] == expected
        assert response.headers["etag"] == f'"{expected}"'
        assert response.headers["content-type"] == "application/x-test"
        for chunk in response.iter_bytes():
            digest.update(chunk)
            received += len(chunk)
    assert received == size and digest.hexdigest() == expected


def test_put_with_content_length_and_wrong_sha256_is_400_and_stores_nothing(
        live: LiveGateway, gbucket: str) -> None:
    body = b"x" * (3 * MiB + 5)
    response = live.client.put(url(gbucket, "wrong"), content=body,
                               headers={"X-Sortie-Sha256": "0" * 64})
    problem = assert_problem(response, 400)
    assert "SHA-256" in problem["detail"]
    assert live.client.head(url(gbucket, "wrong")).status_code == 404
    assert live.client.get(f"/v1/buckets/{gbucket}/objects").json()["objects"] == []


def test_range_reads(live: LiveGateway, gbucket: str) -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes
    assert live.client.put(url(gbucket, "r"), content=data).status_code == 200

    def get(range_header: str) -> httpx.Response:
        return live.client.get(url(gbucket, "r"), headers={"Range": range_header})

    for header, first, last in (("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199),
                                ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239),
                                ("bytes=10200-99999", 10200, 10239)):
        response = get(header)
        assert response.status_code == 206, (header, response.text)
        assert response.content == data[first:last + 1]
        assert response.headers["content-range"] == f"bytes {first}-{last}/{len(data)}"
        assert response.headers["content-length"] == str(last - first + 1)
    unsatisfiable = get("bytes=10240-")
    assert_problem(unsatisfiable, 416)
    assert unsatisfiable.headers["content-range"] == f"bytes */{len(data)}"
    # Several ranges, other units and malformed values: the whole object, 200.
    for header in ("bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=abc"):
        response = get(header)
        assert response.status_code == 200 and response.content == data, header


def test_metadata_headers_round_trip_with_case_and_unicode(live: LiveGateway, gbucket: str) -> None:
    headers = {"X-Sortie-Meta-Owner": "ward 7",
               "X-Sortie-Meta-Project-Id": "=?UTF-8?B?" + _b64("Zürich ✓") + "?=",
               "X-Sortie-Meta-plain_name": "plain",
               "X-Sortie-Meta-Keys": "Owner, Project-Id"}
    assert live.client.put(url(gbucket, "m"), content=b"m", headers=headers).status_code == 200
    for response in (live.client.head(url(gbucket, "m")), live.client.get(url(gbucket, "m"))):
        assert response.status_code == 200
        assert response.headers["x-sortie-meta-owner"] == "ward 7"
        assert response.headers["x-sortie-meta-project-id"] == "=?UTF-8?B?" + _b64("Zürich ✓") + "?="
        assert response.headers["x-sortie-meta-plain_name"] == "plain"
        assert sorted(k.strip() for k in response.headers["x-sortie-meta-keys"].split(",")) == \
            ["Owner", "Project-Id"]
    head = live.client.head(url(gbucket, "m"))
    assert head.headers["content-length"] == "1" and head.content == b""
    # Reserved or invalid keys are refused before any byte is stored.
    bad_headers: list[dict[str, str | bytes]] = [
        {"X-Sortie-Meta-Sortie-x": "1"}, {"X-Sortie-Meta-9lives": "1"},
        {"X-Sortie-Meta-Keys": "Ghost"}, {"X-Sortie-Meta-Raw": "caf\u00e9".encode("latin-1")},
        {"Content-Type": "not a media type"}]
    for bad in bad_headers:
        response = live.client.put(url(gbucket, "bad"), content=b"b",
                                   headers=bad)  # type: ignore[arg-type]
        assert_problem(response, 400)
    assert live.client.head(url(gbucket, "bad")).status_code == 404


AWKWARD_KEYS = ["with space", "hash#tag", "100%", "a+b", "what?x=1&y", "ünïcødé/日本語",
                "folder/", "emoji 🎉.txt", "pct%2Fslash", "semi;colon,comma", "tilde~'quote'"]


def test_awkward_keys_work_in_paths(live: LiveGateway, gbucket: str) -> None:
    for index, key in enumerate(AWKWARD_KEYS):
        body = f"body {index}".encode()
        put = live.client.put(url(gbucket, key), content=body)
        assert put.status_code == 200, (key, put.text)
        assert put.json()["key"] == key
        got = live.client.get(url(gbucket, key))
        assert got.status_code == 200 and got.content == body, key
        assert live.client.head(url(gbucket, key)).status_code == 200, key
    listed = live.client.get(f"/v1/buckets/{gbucket}/objects").json()
    assert sorted(o["key"] for o in listed["objects"]) == sorted(AWKWARD_KEYS, key=lambda k: k.encode())
    # A literal '+' in the path is a plus, not a space.
    assert live.client.get(f"/v1/buckets/{gbucket}/objects/a+b").content == b"body 3"
    for key in AWKWARD_KEYS:
        assert live.client.delete(url(gbucket, key)).status_code == 204
        assert live.client.get(url(gbucket, key)).status_code == 404
    # Keys the naming rule refuses are a 400, not a 500.
    # ("%2E%2E": httpx would resolve a literal "/../" before sending it.)
    for bad in ("/leading", "nul%00", "", "a/%2E%2E/b", "%2E/x"):
        path = f"/v1/buckets/{gbucket}/objects/{bad}"
        assert_problem(live.client.put(path, content=b"x"), 400)


def test_listing_with_prefix_delimiter_and_cursor(live: LiveGateway, gbucket: str) -> None:
    keys = [f"logs/2026/{i:02d}.txt" for i in range(23)] + ["logs/readme", "other/x", "top"]
    for key in keys:
        assert live.client.put(url(gbucket, key), content=key.encode()).status_code == 200
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"prefix": "logs/2026/", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        body = live.client.get(f"/v1/buckets/{gbucket}/objects", params=params).json()
        pages += 1
        assert len(body["objects"]) <= 10
        seen += [o["key"] for o in body["objects"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(k for k in keys if k.startswith("logs/2026/")) and pages == 3
    first = live.client.get(f"/v1/buckets/{gbucket}/objects",
                            params={"prefix": "logs/2026/", "limit": 5}).json()["next_cursor"]
    # A cursor is only good for the listing that issued it.
    assert_problem(live.client.get(f"/v1/buckets/{gbucket}/objects",
                                   params={"prefix": "logs/", "cursor": first}), 400)
    top = live.client.get(f"/v1/buckets/{gbucket}/objects", params={"delimiter": "/"}).json()
    assert [o["key"] for o in top["objects"]] == ["top"]
    assert top["common_prefixes"] == ["logs/", "other/"]
    entry = live.client.get(f"/v1/buckets/{gbucket}/objects", params={"prefix": "top"}).json()
    assert entry["objects"][0]["size"] == 3 and entry["objects"][0]["key"] == "top"
    assert_problem(live.client.get(f"/v1/buckets/{gbucket}/objects",
                                   params={"cursor": "not-a-cursor!"}), 400)
    assert_problem(live.client.get(f"/v1/buckets/{gbucket}/objects", params={"limit": 0}), 422)
    assert_problem(live.client.get(f"/v1/buckets/{gbucket}/objects",
                                   params={"delimiter": "|"}), 400)


def test_empty_object(live: LiveGateway, gbucket: str) -> None:
    put = live.client.put(url(gbucket, "empty"), content=b"")
    assert put.status_code == 200 and put.json()["size"] == 0
    got = live.client.get(url(gbucket, "empty"))
    assert got.status_code == 200 and got.content == b""
    assert got.headers["x-sortie-sha256"] == hashlib.sha256(b"").hexdigest()
    assert_problem(live.client.get(url(gbucket, "empty"), headers={"Range": "bytes=0-"}), 416)


def test_conditional_get_and_validators(live: LiveGateway, gbucket: str) -> None:
    put = live.client.put(url(gbucket, "c"), content=b"conditional")
    etag = put.headers["etag"]
    assert etag == f'"{hashlib.sha256(b"conditional").hexdigest()}"'
    response = live.client.get(url(gbucket, "c"))
    assert response.headers["etag"] == etag and "GMT" in response.headers["last-modified"]
    not_modified = live.client.get(url(gbucket, "c"), headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert live.client.get(url(gbucket, "c"), headers={"If-None-Match": '"other"'}).status_code == 200


def test_errors_are_problem_json(live: LiveGateway, gbucket: str) -> None:
    assert live.client.put(url(gbucket, "secret"), content=b"s").status_code == 200
    anonymous = live.anonymous()
    body = assert_problem(anonymous.get(url(gbucket, "secret")), 401)
    assert "token" in body["detail"]
    assert anonymous.get(url(gbucket, "secret")).headers["www-authenticate"].startswith("Bearer")
    assert_problem(live.as_token("sortie_000000000000_" + "A" * 43).get(url(gbucket, "secret")), 401)
    assert_problem(live.as_token("garbage").get(url(gbucket, "secret")), 401)
    reader = live.as_token(live.token(["read"], [gbucket]))
    assert reader.get(url(gbucket, "secret")).content == b"s"
    assert_problem(reader.put(url(gbucket, "x"), content=b"x"), 403)
    assert_problem(reader.delete(url(gbucket, "secret")), 403)
    assert_problem(reader.put("/v1/buckets/elsewhere-bucket"), 403)
    other = live.as_token(live.token(["read", "write"], ["someone-else-*"]))
    assert_problem(other.get(url(gbucket, "secret")), 403)
    assert gbucket not in [b["name"] for b in other.get("/v1/buckets").json()["buckets"]]
    assert_problem(live.client.get(url(gbucket, "missing")), 404)
    assert_problem(live.client.get(url("no-such-bucket-here", "k")), 404)
    assert_problem(live.client.get("/v1/nothing/here"), 404)
    assert_problem(anonymous.get("/not/a/route"), 404)
    assert_problem(live.client.post(url(gbucket, "secret"), content=b"x"), 405)
    assert_problem(live.client.get(url("BAD_bucket", "k")), 400)
    assert_problem(live.client.get(url(gbucket, "secret"), headers={"Range": "bytes=5-"}), 416)


def test_buckets_created_on_named_backend_and_deleted(live: LiveGateway) -> None:
    on_main = live.new_bucket()
    on_spare = live.new_bucket(backend="spare")
    listed = {b["name"]: b["backend"] for b in live.client.get("/v1/buckets").json()["buckets"]}
    assert listed[on_main] == "main" and listed[on_spare] == "spare"
    assert_problem(live.client.put(f"/v1/buckets/{on_main}"), 409)
    assert_problem(live.client.put("/v1/buckets/nowhere-x", params={"backend": "nope"}), 400)
    assert live.client.put(url(on_spare, "k"), content=b"k").status_code == 200
    assert_problem(live.client.delete(f"/v1/buckets/{on_spare}"), 409)  # not empty
    assert live.client.delete(url(on_spare, "k")).status_code == 204
    for name in (on_main, on_spare):
        assert live.client.delete(f"/v1/buckets/{name}").status_code == 204
        assert_problem(live.client.get(f"/v1/buckets/{name}/objects"), 404)


def test_audit_log_names_token_id_and_bytes_sent(live: LiveGateway, gbucket: str) -> None:
    token = live.token(["read", "write"], [gbucket])
    client = live.as_token(token)
    assert client.put(url(gbucket, "audited"), content=b"a" * 1000).status_code == 200
    assert client.get(url(gbucket, "audited"), headers={"Range": "bytes=0-99"}).status_code == 206
    token_id = token.split("_")[1]
    lines = live.wait_audit(2, token_id)
    assert [(line["action"], line["status"], line["bytes"], line["key"]) for line in lines] == [
        ("put_object", 200, 1000, "audited"), ("get_object", 206, 100, "audited")]
    assert all(line["bucket"] == gbucket and line["backend"] == "main" for line in lines)
    assert token not in live.config.audit_log.read_text("utf-8")


def test_readyz_and_metrics(live: LiveGateway, gbucket: str) -> None:
    anonymous = live.anonymous()
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.json()["backends"] == {"main": "ok", "spare": "ok"}
    assert live.client.put(url(gbucket, "metered"), content=b"m" * 10).status_code == 200
    text = anonymous.get("/metrics").text
    assert 'sortie_requests_total{backend="main",operation="put_object",status="200"}' in text
    assert re.search(r'sortie_request_duration_seconds_count\{backend="main",operation="put_object"\} '
                     r'[1-9]', text)
    assert re.search(r'sortie_bytes_total\{backend="main",direction="in",operation="put_object"\} '
                     r'[1-9]', text)
    assert anonymous.get("/docs").status_code == 200
    assert anonymous.get("/openapi.json").json()["info"]["title"] == "Sortie gateway"


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()
