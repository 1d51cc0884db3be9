"""The retry policy and the per-backend breaker, driven by plain functions that fail on cue."""

from __future__ import annotations

import time

import pytest

from adapters.errors import InvalidRequest, TransientError
from exit_drills.retry import Retrier


def fast(**kw: float) -> Retrier:
    return Retrier(attempts=3, initial_wait=0.01, max_wait=0.02, **kw)  # type: ignore[arg-type]


def test_transient_errors_are_retried_then_succeed() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("throttled", backend="t")
        return "ok"

    assert fast().call(flaky, "t") == "ok" and len(calls) == 3


def test_permanent_errors_are_not_retried() -> None:
    calls = []

    def wrong() -> None:
        calls.append(1)
        raise InvalidRequest("bad name", backend="t")

    with pytest.raises(InvalidRequest):
        fast().call(wrong, "t")
    assert len(calls) == 1


def test_breaker_fails_fast_per_backend_and_recovers_through_a_probe() -> None:
    retrier = fast(breaker_threshold=4, probe_interval=0.2)
    down = {"t": True}
    calls = []

    def target() -> str:
        calls.append(1)
        if down["t"]:
            raise TransientError("connection refused", backend="t")
        return "ok"

    for _ in range(2):
        with pytest.raises(TransientError):
            retrier.call(target, "s", "t")
    assert retrier.breaker("t").open and not retrier.breaker("s").open
    before = len(calls)
    started = time.monotonic()
    with pytest.raises(TransientError, match="not attempted"):
        retrier.call(target, "s", "t")
    assert len(calls) == before and time.monotonic() - started < 0.05
    assert retrier.call(lambda: "fine", "s") == "fine"  # the healthy side is not blocked
    down["t"] = False
    time.sleep(0.25)
    assert retrier.call(target, "t") == "ok"  # the probe goes through and closes the breaker
    assert not retrier.breaker("t").open
