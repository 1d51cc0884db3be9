"""A dead backend costs a bounded number of requests and seconds, on every family: the retry
layer the registry applies is the only one that retries (SDK retries are off, and a drill does not
retry what the store layer already gave up on).

Two kinds of dead: a server that answers 503 to everything (counted, so the number of HTTP
requests is exact), and a closed port (nothing listens: only the time is bounded).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from adapters.config import AzureBackend, LibcloudBackend, S3Backend, SwiftBackend
from adapters.errors import StorageError, TransientError
from adapters.layers.retry import DEFAULT_POLICY
from adapters.registry import build_store
from exit_drills.retry import Retrier
from tests.servers.dead import DeadServer, server_dead  # noqa: F401 - fixture

AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")

#: family -> settings for a backend at `url` (an HTTP endpoint on 127.0.0.1).
SETTINGS: dict[str, Callable[[str, int], Any]] = {
    "s3": lambda url, port: S3Backend(
        type="s3", endpoint=url, region="us-east-1", addressing="path",
        access_key="k", secret_key="s"),  # type: ignore[arg-type]
    "azure": lambda url, port: AzureBackend(
        type="azure", connection_string=(  # type: ignore[arg-type]
            f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint={url}/devstoreaccount1;")),
    "swift": lambda url, port: SwiftBackend(
        type="swift", auth_url=f"{url}/auth/v1.0", auth_version="1", username="t:u",
        password="p"),  # type: ignore[arg-type]
    "libcloud": lambda url, port: LibcloudBackend(
        type="libcloud", provider="S3", key="k", secret="s",  # type: ignore[arg-type]
        options={"host": "127.0.0.1", "port": port, "secure": False}),
}
#: One call to a dead backend may take this long at most, retries and backoff included.
GIVE_UP_WITHIN_S = 5.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fails_transiently(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(TransientError):
        call()
    return time.monotonic() - started


@pytest.mark.parametrize("family", sorted(SETTINGS))
def test_a_failing_backend_is_tried_exactly_the_layers_attempts(
        family: str, server_dead: DeadServer, tmp_path: Path) -> None:
    store = build_store(family, SETTINGS[family](server_dead.url, server_dead.port), tmp_path)
    try:
        seconds = _fails_transiently(lambda: store.head("dead-bucket", "key"))
        assert server_dead.requests == DEFAULT_POLICY.attempts
        assert seconds < GIVE_UP_WITHIN_S
        # A drill around the store adds no attempts: the error comes back marked persistent.
        server_dead.reset()
        retrier = Retrier(breaker_threshold=100)
        seconds = _fails_transiently(
            lambda: retrier.call(lambda: store.head("dead-bucket", "key"), family))
        assert server_dead.requests == DEFAULT_POLICY.attempts
        assert seconds < GIVE_UP_WITHIN_S
    finally:
        store.close()


@pytest.mark.parametrize("family", sorted(SETTINGS))
def test_a_closed_port_fails_fast(family: str, tmp_path: Path) -> None:
    port = _closed_port()
    store = build_store(family, SETTINGS[family](f"http://127.0.0.1:{port}", port), tmp_path)
    try:
        retrier = Retrier(breaker_threshold=100)
        seconds = _fails_transiently(
            lambda: retrier.call(lambda: store.head("dead-bucket", "key"), family))
        assert seconds < GIVE_UP_WITHIN_S
    finally:
        store.close()


def test_the_error_given_up_on_is_persistent_and_counts_against_the_breaker(
        server_dead: DeadServer, tmp_path: Path) -> None:
    store = build_store("s3", SETTINGS["s3"](server_dead.url, server_dead.port), tmp_path)
    retrier = Retrier(breaker_threshold=2, probe_interval=60)
    try:
        for _ in range(2):
            with pytest.raises(TransientError) as caught:
                retrier.call(lambda: store.head("dead-bucket", "key"), "s3")
            assert caught.value.persistent
        assert retrier.breaker("s3").open
        server_dead.reset()
        with pytest.raises(StorageError, match="looks down"):
            retrier.call(lambda: store.head("dead-bucket", "key"), "s3")
        assert server_dead.requests == 0
    finally:
        store.close()


def test_the_retry_layer_is_never_stacked_twice(tmp_path: Path) -> None:
    from adapters.config import LocalBackend
    from adapters.layers.retry import RetryingStore

    store = build_store("disk", LocalBackend(type="local", path=tmp_path), tmp_path)
    with pytest.raises(ValueError, match="already retries"):
        RetryingStore(store)
