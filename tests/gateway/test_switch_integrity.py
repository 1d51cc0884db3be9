"""The exit switch trusts only bytes read back: a target copy damaged after a passed drill is
caught by the next incremental drill (which reads back what it skips), and a drill that did not
read everything back cannot switch a route."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

from exit_drills.runner import run_drill
from exit_drills.spec import DrillSpec, Endpoint, Mode

from .live import LiveGateway
from .test_objects import assert_problem, url


def _flip_a_byte(root: Path, bucket: str, key: str) -> None:
    """Damage the stored bytes of `key` on a local backend, bypassing every Sortie code path."""
    db = sqlite3.connect(root / bucket / "index.sqlite3")
    blob = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()[0]
    db.close()
    path = root / bucket / "blobs" / blob[:2] / blob
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))


def _drill(live: LiveGateway, bucket: str, mode: Mode, *, read_back_skipped: bool = True):
    spec = DrillSpec(source=Endpoint(backend="main", bucket=bucket),
                     target=Endpoint(backend="spare", bucket=f"{bucket}-exit"), mode=mode,
                     read_back_skipped=read_back_skipped)
    return run_drill(spec, live.config.settings.backends, base_dir=live.config.base_dir,
                     state_dir=live.state_dir)


def _seed(live: LiveGateway) -> str:
    bucket = live.new_bucket()
    for index in range(20):
        assert live.client.put(url(bucket, f"obj-{index:02d}"),
                               content=f"record {index} ".encode() * 50).status_code == 200
    time.sleep(1.1)  # the switch's check for writes since the drill works in whole seconds
    return bucket


def test_incremental_reads_back_what_it_skips_and_the_switch_refuses_damage(
        live_local: LiveGateway) -> None:
    live = live_local
    bucket = _seed(live)
    assert _drill(live, bucket, Mode.full).status == "passed"
    _flip_a_byte(live.config.base_dir / "spare", f"{bucket}-exit", "obj-07")
    check = _drill(live, bucket, Mode.verify_only)
    assert check.status == "failed" and [f.key for f in check.failures] == ["obj-07"]
    # The next incremental drill skips what matches on recorded hashes, but reads it back: the
    # damaged copy is caught and copied again, and every object is verified by its bytes.
    report = _drill(live, bucket, Mode.incremental)
    assert report.status == "passed", report.failures
    assert report.objects.copied == 1 and report.objects.skipped == 19
    assert report.objects.verified == 20
    assert report.objects.not_read_back == 0 and report.switch_eligible
    switched = live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "spare"})
    assert switched.status_code == 200, switched.text
    served = live.client.get(url(bucket, "obj-07"))
    assert served.content == b"record 7 " * 50
    assert hashlib.sha256(served.content).hexdigest() == served.headers["x-sortie-sha256"]


def test_a_drill_that_did_not_read_back_cannot_switch(live_local: LiveGateway) -> None:
    live = live_local
    bucket = _seed(live)
    assert _drill(live, bucket, Mode.full).status == "passed"
    time.sleep(1.1)
    report = _drill(live, bucket, Mode.incremental, read_back_skipped=False)
    assert report.status == "passed" and report.objects.skipped == 20
    assert report.objects.not_read_back == 20 and report.objects.verified == 0
    assert not report.switch_eligible
    refused = assert_problem(live.client.put(f"/v1/buckets/{bucket}/route",
                                             json={"backend": "spare"}), 409)
    assert "not read back" in refused["detail"] and "obj-00" in refused["detail"]
    assert live.client.get(f"/v1/buckets/{bucket}/route").json()["backend"] == "main"


def test_a_write_in_flight_during_the_switch_is_never_lost(live_local: LiveGateway) -> None:
    """A PUT that resolved the old route before the switch and lands after the switch's check
    for writes since the drill: the switch must wait for it (and then refuse, as the object was
    written after the drill), never switch away from an acknowledged write."""
    import threading

    import httpx

    live = live_local
    bucket = _seed(live)
    assert _drill(live, bucket, Mode.full).status == "passed"
    time.sleep(1.1)  # the new write must come a whole second after the drill started
    switch_sent = threading.Event()
    body = b"late record " * 10_000

    def slow_body():
        yield body[:1000]
        switch_sent.wait(10)
        time.sleep(1.0)  # the switch has run its check by now, unless it waits for this PUT
        yield body[1000:]

    put_status: list[int] = []

    def put() -> None:
        with httpx.Client(base_url=live.client.base_url, headers=live.client.headers,
                          timeout=30) as client:
            put_status.append(client.put(url(bucket, "late"), content=slow_body()).status_code)

    writer = threading.Thread(target=put)
    writer.start()
    time.sleep(0.5)  # the PUT has resolved its route and is streaming into `main`
    switch_result: list[httpx.Response] = []
    switcher = threading.Thread(target=lambda: switch_result.append(
        live.client.put(f"/v1/buckets/{bucket}/route", json={"backend": "spare"})))
    switcher.start()
    time.sleep(0.3)
    switch_sent.set()
    writer.join(30)
    switcher.join(30)
    assert put_status == [200]
    switched = switch_result[0]
    if switched.status_code == 200:  # then the acknowledged write must be served
        assert live.client.get(url(bucket, "late")).content == body
    else:
        assert switched.status_code == 409, switched.text
        assert "'late' was written" in switched.json()["detail"]
        assert live.client.get(url(bucket, "late")).content == body
