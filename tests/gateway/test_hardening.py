"""Bad input is refused clearly before it costs anything: keys that are not UTF-8 or hold control
characters (400 invalid-name), absurd Range values (never a 5xx), bodies of anonymous requests
(401 before the body is read) and oversized JSON bodies (413)."""

from __future__ import annotations

import http.client
import socket
import time

from .live import LiveGateway
from .test_objects import assert_problem, url


def _raw(live: LiveGateway, method: str, path: str, body: bytes = b"",
         headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A request whose path goes out byte for byte (httpx would re-encode it)."""
    host, port = live.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Authorization": f"Bearer {live.admin_token}",
                            "Content-Length": str(len(body)), **(headers or {})}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_keys_that_are_not_utf8_do_not_collide(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    for escaped in ("caf%e9", "caf%e8", "%ff%fe", "a%c3"):
        status, body = _raw(live, "PUT", f"/v1/buckets/{bucket}/objects/{escaped}", b"A")
        assert status == 400 and b"invalid-name" in body and b"UTF-8" in body, (escaped, body)
    status, _ = _raw(live, "PUT", f"/v1/buckets/{bucket}/objects/caf%C3%A9", b"B")
    assert status == 200  # a real UTF-8 key is fine
    assert live.client.get(url(bucket, "café")).content == b"B"
    assert [o["key"] for o in live.client.get(f"/v1/buckets/{bucket}/objects").json()["objects"]] \
        == ["café"]


def test_control_characters_in_keys_are_invalid_names(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    for escaped in ("a%0ab", "a%00b", "tab%09", "del%7f", "c1%c2%85"):
        status, body = _raw(live, "PUT", f"/v1/buckets/{bucket}/objects/{escaped}", b"x")
        assert status == 400 and b"invalid-name" in body and b"control" in body, (escaped, body)


def test_absurd_range_values_never_give_a_5xx(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    assert live.client.put(url(bucket, "k"), content=b"0123456789").status_code == 200
    huge = "9" * 4301
    assert_problem(live.client.get(url(bucket, "k"), headers={"Range": f"bytes={huge}-"}), 416)
    tail = live.client.get(url(bucket, "k"), headers={"Range": f"bytes=-{huge}"})
    assert tail.status_code == 206 and tail.content == b"0123456789"
    upto = live.client.get(url(bucket, "k"), headers={"Range": f"bytes=2-{huge}"})
    assert upto.status_code == 206 and upto.content == b"23456789"
    assert live.client.get(url(bucket, "k"), headers={"Range": "bytes=00003-4"}).content == b"34"


def test_anonymous_requests_are_refused_before_their_body(live_local: LiveGateway) -> None:
    live = live_local
    # Headers announcing 100 MB, and not one byte of body: the answer comes at once, so the
    # gateway read nothing of it (it used to read and parse the whole body first).
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/drills HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 104857600\r\n\r\n")
        started = time.monotonic()
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 401"), reply
        assert time.monotonic() - started < 5
    anonymous = live.anonymous()
    for method, path in (("POST", "/v1/drills"), ("PUT", "/v1/buckets/b-x/route")):
        assert_problem(anonymous.request(method, path, content=b"{",
                                         headers={"Content-Type": "application/json"}), 401)


def test_json_bodies_are_capped(live_local: LiveGateway) -> None:
    live = live_local
    body = b'{"from": "' + b"x" * (300 * 1024) + b'", "to": "spare:x"}'
    assert_problem(live.client.post("/v1/drills", content=body,
                                    headers={"Content-Type": "application/json"}), 413)

    def chunked():  # no Content-Length: counted as it arrives
        yield body[:100_000]
        yield body[100_000:]

    assert_problem(live.client.post("/v1/drills", content=chunked(),
                                    headers={"Content-Type": "application/json"}), 413)


def test_only_configured_backends_become_metric_labels(live_local: LiveGateway) -> None:
    live = live_local
    assert_problem(live.client.put("/v1/buckets/label-probe", params={"backend": "nope-123"}), 400)
    assert 'backend="nope-123"' not in live.client.get("/metrics").text
