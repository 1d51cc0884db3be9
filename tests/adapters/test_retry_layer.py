"""The retry layer (adapters/layers/retry.py) over a real local store whose first calls fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from adapters.errors import AuthError, TransientError
from adapters.layers.retry import RetryingStore, RetryPolicy
from adapters.local.store import LocalStore


class Flaky:
    """Delegates to a real store, failing the first `failures` calls of each operation with
    `error` (the way a throttled or briefly unreachable backend does)."""

    def __init__(self, inner: LocalStore, failures: int, error: Exception) -> None:
        self.inner = inner
        self.name = inner.name
        self.capabilities = inner.capabilities
        self.failures = failures
        self.error = error
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        target = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] <= self.failures:
                raise self.error
            return target(*args, **kwargs)
        return call


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = LocalStore("local", tmp_path)
    store.create_bucket("bucket")
    return store


def retrying(flaky: Flaky, attempts: int = 4) -> RetryingStore:
    return RetryingStore(flaky, RetryPolicy(attempts=attempts),  # type: ignore[arg-type]
                         sleep=lambda _: None)


def test_idempotent_operations_are_retried(local: LocalStore) -> None:
    flaky = Flaky(local, failures=2, error=TransientError("slow down"))
    store = retrying(flaky)
    assert store.put("bucket", "k", b"bytes can be sent again").size == 23
    assert store.head("bucket", "k").size == 23
    assert store.get("bucket", "k").read() == b"bytes can be sent again"
    assert [o.key for o in store.list("bucket").objects] == ["k"]
    store.delete("bucket", "k")
    assert flaky.calls == {"put": 3, "head": 3, "get": 3, "list": 3, "delete": 3}


def test_a_consumed_stream_is_not_retried(local: LocalStore) -> None:
    flaky = Flaky(local, failures=1, error=TransientError("connection reset"))
    store = retrying(flaky)

    def stream() -> Iterator[bytes]:
        yield b"once"

    with pytest.raises(TransientError):
        store.put("bucket", "s", stream())
    assert flaky.calls["put"] == 1


def test_attempts_are_bounded_and_other_errors_pass_at_once(local: LocalStore) -> None:
    flaky = Flaky(local, failures=10, error=TransientError("down"))
    with pytest.raises(TransientError):
        retrying(flaky, attempts=3).head("bucket", "k")
    assert flaky.calls["head"] == 3
    denied = Flaky(local, failures=10, error=AuthError("bad key"))
    with pytest.raises(AuthError):
        retrying(denied).list_buckets()
    assert denied.calls["list_buckets"] == 1
