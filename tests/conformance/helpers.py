"""Small helpers shared by the conformance tests."""

from __future__ import annotations

import hashlib
import os
from typing import Iterator

import pytest

from adapters.contract import Feature, ObjectStore

MiB = 1024 * 1024


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible-looking bytes (a repeated pattern would hide offset bugs)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    """A generator: a stream of unknown length."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def require(store: ObjectStore, feature: Feature) -> None:
    """Skip exactly this feature's test where the adapter declares it cannot honour it."""
    reason = store.capabilities.lacks.get(feature)
    if reason:
        pytest.skip(f"{store.name} does not honour {feature.value}: {reason}")


def random_bytes(size: int) -> bytes:
    return os.urandom(size)
