"""The layers every store gets, applied once, in one place (the registry calls `wrap`).

The retry layer, and for the gateway the read-verification layer, wrap every store of a backend;
client-side encryption is a bucket's choice, so it wraps a backend's store per bucket
(`encrypted`), outside the others: the read check and the retries then see the ciphertext the
backend holds. Each is applied once, in this fixed order, so no store is ever wrapped twice by
the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contract import ObjectStore
from ..encryption.keys import KeyEncryptionKey, Keyring
from .base import has_layer
from .encrypt import EncryptingStore
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


def encrypted(store: ObjectStore, keyring: Keyring, key: KeyEncryptionKey | None) -> ObjectStore:
    """`store` (already wrapped by `wrap`) inside client-side encryption under `key` (None: writes
    plaintext, reads decrypt what the keyring can)."""
    if has_layer(store, EncryptingStore):
        raise ValueError("this store is already inside the encryption layer")
    return EncryptingStore(store, keyring, key)
