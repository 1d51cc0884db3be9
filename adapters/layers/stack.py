"""The layers every store gets, applied once, in one place (the registry calls `wrap`).

Today: the retry layer, and for the gateway the read-verification layer; metrics or encryption
layers join them here, each applied once and in a fixed order, so no store is ever wrapped twice
by the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import ObjectStore
from .retry import DEFAULT_POLICY, RetryingStore, RetryPolicy
from .verify import VerifyingStore


@dataclass(frozen=True)
class LayerStack:
    retry: RetryPolicy = DEFAULT_POLICY
    #: Check whole-object reads against the recorded SHA-256 (the gateway serves with it).
    verify_reads: bool = False


DEFAULT_STACK = LayerStack()
#: What the gateway serves through: every whole-object read checked before its last byte.
SERVING_STACK = LayerStack(verify_reads=True)


def wrap(store: ObjectStore, stack: LayerStack = DEFAULT_STACK) -> ObjectStore:
    """`store` inside the layers of `stack`: retry innermost (a retried read is checked as a
    whole), verification outside it."""
    layered: ObjectStore = RetryingStore(store, stack.retry)
    if stack.verify_reads:
        layered = VerifyingStore(layered)
    return layered
