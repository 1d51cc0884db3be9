"""Retrying transient storage errors with backoff, and not hammering a backend that is down.

Only errors that say so (`StorageError.retryable`, e.g. TransientError) are retried, and only
those the store's own retry layer has not already retried (`persistent`): a wrong name, a hash
mismatch, or a backend the store layer already gave up on fails at once here. What the store
layer cannot retry itself (a put from a stream it has consumed) is retried here, as a whole copy. A shared breaker counts consecutive transient failures across
all workers. Once it opens (the backend looks down), calls fail at once with a clear reason,
except one probe every few seconds: if a probe succeeds the breaker closes and the drill goes on
at full speed; if the backend stays down the drill ends quickly, every unfinished object failed
with the reason, ready for `--resume`, instead of sleeping through each object's backoff.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

from tenacity import (RetryCallState, Retrying, retry_if_exception, stop_after_attempt,
                      wait_exponential, wait_random)

from adapters.errors import StorageError, TransientError

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """Transient, and not already retried by the store's retry layer (which marks what it gave
    up on as persistent): the drill never multiplies the store's attempts."""
    return isinstance(exc, StorageError) and exc.worth_retrying


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, StorageError) and exc.retryable


class Breaker:
    def __init__(self, threshold: int, probe_interval: float) -> None:
        self.threshold = threshold
        self.probe_interval = probe_interval
        self._failures = 0
        self._last_error = ""
        self._last_probe = 0.0
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self._failures >= self.threshold

    def failure(self, exc: BaseException | None) -> None:
        with self._lock:
            self._failures += 1
            if self._failures == self.threshold:
                # Just opened: the first probe waits a full interval.
                self._last_probe = time.monotonic()
            if exc is not None:
                self._last_error = f"{type(exc).__name__}: {exc}"

    def success(self) -> None:
        with self._lock:
            self._failures = 0

    def admit(self) -> None:
        """Let a call through, or refuse it at once while the backend looks down."""
        if not self.open:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._last_probe >= self.probe_interval:
                self._last_probe = now  # this call is the probe
                return
            failures, last = self._failures, self._last_error
        raise TransientError(f"not attempted: the last {failures} storage calls failed with "
                             f"transient errors, the backend looks down (last: {last})")


class Retrier:
    """Retries with backoff, and one breaker per backend: calls name the backends they touch, a
    failure counts against the backend the error names (else all of them), a success closes the
    breakers of every backend it touched. So a healthy source never hides a dead target."""

    def __init__(self, attempts: int = 4, initial_wait: float = 0.5, max_wait: float = 8.0,
                 breaker_threshold: int = 8, probe_interval: float = 5.0) -> None:
        self.attempts = attempts
        self.initial_wait = initial_wait
        self.max_wait = max_wait
        self.breaker_threshold = breaker_threshold
        self.probe_interval = probe_interval
        self._breakers: dict[str, Breaker] = {}
        self._lock = threading.Lock()

    def breaker(self, backend: str) -> Breaker:
        with self._lock:
            if backend not in self._breakers:
                self._breakers[backend] = Breaker(self.breaker_threshold, self.probe_interval)
            return self._breakers[backend]

    def call(self, fn: Callable[[], T], *backends: str) -> T:
        breakers = [self.breaker(b) for b in backends or ("*",)]
        for breaker in breakers:
            breaker.admit()

        def attempt() -> T:
            try:
                return fn()
            except StorageError as exc:
                if is_transient(exc):  # retried here or not, it counts against the backend
                    self._count(exc, backends, breakers)
                raise

        def stop(state: RetryCallState) -> bool:
            return stop_after_attempt(self.attempts)(state) or any(b.open for b in breakers)

        retrying = Retrying(retry=retry_if_exception(is_retryable), stop=stop,
                            wait=wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
                            + wait_random(0, self.initial_wait), reraise=True)
        result = retrying(attempt)
        for breaker in breakers:
            breaker.success()
        return result

    @staticmethod
    def _count(exc: StorageError, backends: tuple[str, ...], breakers: list[Breaker]) -> None:
        named = exc.backend
        for backend, breaker in zip(backends or ("*",), breakers):
            if named is None or named == backend or named not in backends:
                breaker.failure(exc)
