"""KEK rotation: every encrypted object of a bucket gets its data key wrapped by the new KEK, in
its metadata only (`set_metadata`, conditional on the object being unchanged). No data byte is
read or rewritten, so rotating a million objects costs two small requests each; afterwards the
old KEK is no longer needed. A run stopped half way is resumed by running it again: objects
already under the new KEK are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract import ObjectStore
from ..errors import Conflict, ObjectNotFound, StorageError
from ..layers.encrypt import KID, EncryptingStore, is_encrypted
from .keys import KeyEncryptionKey, Keyring

#: An object rewritten while it was being rewrapped is read again this many times.
ATTEMPTS = 3


@dataclass
class Rotation:
    rewrapped: int = 0
    already_current: int = 0
    #: Objects stored in plaintext (written before the bucket was encrypted): left as they are.
    plaintext: int = 0
    #: Objects deleted while the rotation ran.
    gone: int = 0
    failures: list[str] = field(default_factory=list)


def rotate(store: ObjectStore, bucket: str, keyring: Keyring, new: KeyEncryptionKey,
           prefix: str = "") -> Rotation:
    """Rewrap every encrypted object of `bucket` under `new`. `store` is the backend's store
    without the encryption layer (what the backend holds); `keyring` holds the old KEKs."""
    layer = EncryptingStore(store, keyring, new)
    result = Rotation()
    for listed in store.iter_objects(bucket, prefix):
        try:
            _rotate_one(store, layer, bucket, listed.key, new, result)
        except ObjectNotFound:
            result.gone += 1
        except StorageError as exc:
            result.failures.append(f"{listed.key}: {exc}")
    return result


def _rotate_one(store: ObjectStore, layer: EncryptingStore, bucket: str, key: str,
                new: KeyEncryptionKey, result: Rotation) -> None:
    for attempt in range(ATTEMPTS):
        info = store.head(bucket, key)
        if not is_encrypted(info):
            result.plaintext += 1
            return
        if info.metadata.get(KID) == new.id:
            result.already_current += 1
            return
        try:
            store.set_metadata(bucket, key, layer.rewrap(info, bucket, key, new),
                               if_etag=info.etag or "")
        except Conflict:
            if attempt + 1 == ATTEMPTS:
                raise
            continue  # rewritten meanwhile (under whichever key): look again
        result.rewrapped += 1
        return
