"""Conditional requests: `If-None-Match: *` creates only (412 over an existing object, and of
two concurrent creates exactly one wins), If-Match on PUT and GET, If-Modified-Since and
If-Unmodified-Since on GET, and HEAD answering 304 like GET."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .live import LiveGateway
from .test_objects import assert_problem, url


def test_if_none_match_star_never_overwrites(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    create = {"If-None-Match": "*"}
    assert live.client.put(url(bucket, "k"), content=b"first", headers=create).status_code == 200
    assert_problem(live.client.put(url(bucket, "k"), content=b"second", headers=create), 412)
    assert live.client.get(url(bucket, "k")).content == b"first"
    for round_ in range(10):
        key = f"race-{round_}"
        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(lambda body: live.client.put(url(bucket, key), content=body,
                                                                 headers=create), [b"A", b"B"]))
        assert sorted(r.status_code for r in replies) == [200, 412], [r.text for r in replies]
        winner = next(r for r in replies if r.status_code == 200)
        assert live.client.get(url(bucket, key)).headers["etag"] == winner.headers["etag"]


def test_if_match_on_put_and_get(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    tag = live.client.put(url(bucket, "k"), content=b"v1").headers["etag"]
    assert_problem(live.client.put(url(bucket, "k"), content=b"x", headers={"If-Match": '"nope"'}),
                   412)
    assert_problem(live.client.put(url(bucket, "absent"), content=b"x",
                                   headers={"If-Match": "*"}), 412)
    updated = live.client.put(url(bucket, "k"), content=b"v2", headers={"If-Match": tag})
    assert updated.status_code == 200
    assert_problem(live.client.get(url(bucket, "k"), headers={"If-Match": tag}), 412)
    got = live.client.get(url(bucket, "k"), headers={"If-Match": updated.headers["etag"]})
    assert got.status_code == 200 and got.content == b"v2"


def test_dates_and_head_conditions(live_local: LiveGateway) -> None:
    live = live_local
    bucket = live.new_bucket()
    live.client.put(url(bucket, "k"), content=b"v")
    head = live.client.head(url(bucket, "k"))
    tag, modified = head.headers["etag"], head.headers["last-modified"]
    assert live.client.head(url(bucket, "k"), headers={"If-None-Match": tag}).status_code == 304
    assert live.client.get(url(bucket, "k"),
                           headers={"If-Modified-Since": modified}).status_code == 304
    past = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert live.client.get(url(bucket, "k"), headers={"If-Modified-Since": past}).status_code == 200
    assert_problem(live.client.get(url(bucket, "k"), headers={"If-Unmodified-Since": past}), 412)
    assert live.client.get(url(bucket, "k"),
                           headers={"If-Unmodified-Since": modified}).status_code == 200
    assert live.client.get(url(bucket, "k"),
                           headers={"If-Modified-Since": "not a date"}).status_code == 200
