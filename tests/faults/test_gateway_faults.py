"""The gateway in front of a backend reached through the faulty proxy: a cut, a stall or a refusal
gives a clear 503 problem with Retry-After (or a truncated transfer once bytes have gone out),
within the backend's timeouts; never a complete response with wrong bytes."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from adapters.config import BackendConfig

from ..gateway.live import LiveGateway, start_gateway
from ..gateway.test_objects import url
from ..servers.faulty import Fault, FaultyProxy
from .conftest import TIMEOUT

SIZE = 4 * 1024 * 1024
BOUND = 20 * TIMEOUT + 10


@pytest.fixture
def behind_proxy(proxied: Callable[[str], tuple[FaultyProxy, BackendConfig]],
                 tmp_path: Path) -> Iterator[tuple[FaultyProxy, LiveGateway]]:
    proxy, settings = proxied("s3-seaweedfs")
    backend = settings.model_dump(mode="json", exclude_none=True)
    backend.update(access_key="${FAULTY_S3_ACCESS}", secret_key="${FAULTY_S3_SECRET}")
    live = start_gateway("faulty", tmp_path / "gateway", backend, env={
        "FAULTY_S3_ACCESS": settings.access_key.get_secret_value(),  # type: ignore[attr-defined]
        "FAULTY_S3_SECRET": settings.secret_key.get_secret_value()})  # type: ignore[attr-defined]
    yield proxy, live
    live.stop()


def _data() -> bytes:
    block = hashlib.sha256(b"gateway").digest()
    return (block * (SIZE // len(block) + 1))[:SIZE]


def _seeded(live: LiveGateway) -> tuple[str, bytes]:
    bucket, data = live.new_bucket(), _data()
    assert live.client.put(url(bucket, "scan.dcm"), content=data).status_code == 200
    return bucket, data


def _problem_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0


def test_a_backend_cut_mid_body_never_completes_a_wrong_get(
        behind_proxy: tuple[FaultyProxy, LiveGateway]) -> None:
    proxy, live = behind_proxy
    bucket, data = _seeded(live)
    with proxy.fault(Fault(cut_after=SIZE // 2)):
        try:
            response = live.client.get(url(bucket, "scan.dcm"))
        except httpx.HTTPError:
            pass  # bytes had gone out: the transfer is cut short, as it must be
        else:
            if response.status_code == 200:
                assert response.content == data
            else:
                _problem_503(response)
    assert proxy.faults >= 1
    assert live.client.get(url(bucket, "scan.dcm")).content == data


def test_a_refusing_or_stalled_backend_is_a_503_within_the_timeouts(
        behind_proxy: tuple[FaultyProxy, LiveGateway]) -> None:
    proxy, live = behind_proxy
    bucket, data = _seeded(live)
    for fault in (Fault(refuse=True), Fault(stall_after=0, direction="up")):
        with proxy.fault(fault):
            started = time.monotonic()
            _problem_503(live.client.get(url(bucket, "scan.dcm")))
            _problem_503(live.client.put(url(bucket, "new.dcm"), content=b"x" * 1000))
            assert time.monotonic() - started < 2 * BOUND
    assert live.client.get(url(bucket, "scan.dcm")).content == data
    assert live.client.get(url(bucket, "new.dcm")).status_code == 404


def test_an_upload_cut_mid_body_keeps_the_object_as_it_was(
        behind_proxy: tuple[FaultyProxy, LiveGateway]) -> None:
    proxy, live = behind_proxy
    bucket, data = _seeded(live)
    with proxy.fault(Fault(cut_after=SIZE // 2, direction="up")):
        _problem_503(live.client.put(url(bucket, "scan.dcm"), content=b"n" * SIZE))
    assert live.client.get(url(bucket, "scan.dcm")).content == data
