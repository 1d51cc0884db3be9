"""Retrying transient storage errors with backoff, and not hammering a backend that is down.

Only errors that say so (`StorageError.retryable`, e.g. TransientError) are retried: a wrong name
or a hash mismatch fails at once. A shared breaker counts consecutive transient failures across
all workers; once a backend looks down, each further object gets a single attempt, so a drill
against a stopped server ends quickly with clear reasons instead of sleeping through every
object's backoff.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from tenacity import (RetryCallState, Retrying, retry_if_exception, stop_after_attempt,
                      wait_exponential, wait_random)

from adapters.errors import StorageError

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, StorageError) and exc.retryable


class Breaker:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._failures = 0
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self._failures >= self.threshold

    def failure(self) -> None:
        with self._lock:
            self._failures += 1

    def success(self) -> None:
        with self._lock:
            self._failures = 0


class Retrier:
    def __init__(self, attempts: int = 4, initial_wait: float = 0.5, max_wait: float = 8.0,
                 breaker_threshold: int = 8) -> None:
        self.attempts = attempts
        self.initial_wait = initial_wait
        self.max_wait = max_wait
        self.breaker = Breaker(breaker_threshold)

    def _stop(self, state: RetryCallState) -> bool:
        return stop_after_attempt(self.attempts)(state) or self.breaker.open

    def _count(self, state: RetryCallState) -> None:
        self.breaker.failure()

    def call(self, fn: Callable[[], T]) -> T:
        retrying = Retrying(retry=retry_if_exception(is_retryable), stop=self._stop,
                            wait=wait_exponential(multiplier=self.initial_wait, max=self.max_wait)
                            + wait_random(0, self.initial_wait),
                            before_sleep=None, after=self._count, reraise=True)
        # Failed attempts are counted by `after`; a success closes the breaker again.
        result = retrying(fn)
        self.breaker.success()
        return result
