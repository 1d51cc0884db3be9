"""The layers every store gets, applied once, in one place (the registry calls `wrap`).

Today the stack is the retry layer alone; metrics or encryption layers join it here, each applied
once and in a fixed order, so no store is ever wrapped twice by the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import ObjectStore
from .retry import DEFAULT_POLICY, RetryingStore, RetryPolicy


@dataclass(frozen=True)
class LayerStack:
    retry: RetryPolicy = DEFAULT_POLICY


DEFAULT_STACK = LayerStack()


def wrap(store: ObjectStore, stack: LayerStack = DEFAULT_STACK) -> ObjectStore:
    """`store` inside the layers of `stack`, outermost last."""
    return RetryingStore(store, stack.retry)


def innermost(store: ObjectStore) -> ObjectStore:
    """The adapter under every layer (for tests and tools that inspect the backend itself)."""
    while isinstance(getattr(store, "inner", None), ObjectStore):
        store = store.inner  # type: ignore[attr-defined]
    return store
