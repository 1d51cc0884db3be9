"""Per-bucket readers-writer locks: writes into a bucket share it; deleting the bucket and
switching its route take it alone. So through one gateway a PUT never interleaves with a DELETE of
its bucket, even on backends that cannot refuse a non-empty delete atomically (Azure:
`Feature.atomic_bucket_delete`), nor with the exit switch: a write that resolved the old route
lands before the switch checks for writes since its drill, never after it.
With a folder, the locks also hold across the processes of one host (an flock on a file per
bucket, taken after the in-process lock, which keeps waiting deletes ahead of new writes);
several hosts need the shared state store (service/state/locks.py) for the same guarantee.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class _Lock:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.writers = 0          # operations writing into the bucket now
        self.deleting = False     # a delete holds the bucket
        self.waiting_deletes = 0  # deletes waiting: new writes wait behind them


class BucketLocks:
    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._locks: defaultdict[str, _Lock] = defaultdict(_Lock)
        self._guard = threading.Lock()
        self._keys: dict[tuple[str, str], list[object]] = {}  # (bucket, key) -> [lock, users]

    @contextmanager
    def key(self, bucket: str, key: str) -> Iterator[None]:
        """One holder at a time per object key (conditional writes check, then store)."""
        with self._guard:
            entry = self._keys.setdefault((bucket, key), [threading.Lock(), 0])
            entry[1] += 1  # type: ignore[operator]
        lock: threading.Lock = entry[0]  # type: ignore[assignment]
        try:
            with lock, self._across_processes(f"{bucket}/{key}", fcntl.LOCK_EX):
                yield
        finally:
            with self._guard:
                entry[1] -= 1  # type: ignore[operator]
                if not entry[1]:
                    del self._keys[(bucket, key)]

    def _lock(self, bucket: str) -> _Lock:
        with self._guard:
            return self._locks[bucket]

    @contextmanager
    def _across_processes(self, name: str, mode: int) -> Iterator[None]:
        if self._folder is None:
            yield
            return
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
        with open(self._folder / f"{digest}.lock", "a") as handle:
            fcntl.flock(handle, mode)  # released when the file closes
            yield

    @contextmanager
    def writing(self, bucket: str) -> Iterator[None]:
        lock = self._lock(bucket)
        with lock.cond:
            lock.cond.wait_for(lambda: not lock.deleting and not lock.waiting_deletes)
            lock.writers += 1
        try:
            with self._across_processes(bucket, fcntl.LOCK_SH):
                yield
        finally:
            with lock.cond:
                lock.writers -= 1
                lock.cond.notify_all()

    @contextmanager
    def exclusive(self, bucket: str) -> Iterator[None]:
        """The bucket alone: no write in flight, none starting (bucket delete, route switch)."""
        lock = self._lock(bucket)
        with lock.cond:
            lock.waiting_deletes += 1
            lock.cond.wait_for(lambda: not lock.deleting and lock.writers == 0)
            lock.waiting_deletes -= 1
            lock.deleting = True
        try:
            with self._across_processes(bucket, fcntl.LOCK_EX):
                yield
        finally:
            with lock.cond:
                lock.deleting = False
                lock.cond.notify_all()
