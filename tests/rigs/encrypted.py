"""The conformance suite through client-side encryption: each real-server rig's stores wrapped in
the encryption layer as the gateway wraps an encrypted bucket (adapters/layers/stack.encrypted),
so round trips, ranges, empty objects, multipart sizes and metadata are checked on ciphertext
stored on every backend family."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from adapters.encryption.keys import Keyring, create_key_file
from adapters.layers.stack import encrypted

from . import Rig

RIG_IDS = ["local-encrypted", "s3-seaweedfs-encrypted", "azure-azurite-encrypted",
           "swift-encrypted"]


@pytest.fixture(scope="session")
def rig_keyring(tmp_path_factory: pytest.TempPathFactory) -> Keyring:
    folder: Path = tmp_path_factory.mktemp("keys")
    return Keyring({"test": create_key_file(folder / "test.key")})


def _wrapped(base: Rig, keyring: Keyring) -> Rig:
    key = keyring.named("test")
    return Rig(store=encrypted(base.store, keyring, key),
               multipart_store=None if base.multipart_store is None
               else encrypted(base.multipart_store, keyring, key),
               extras={**base.extras, "plain": lambda: base.store})


@pytest.fixture(scope="session")
def rig_local_encrypted(rig_local: Rig, rig_keyring: Keyring) -> Iterator[Rig]:
    yield _wrapped(rig_local, rig_keyring)


@pytest.fixture(scope="session")
def rig_s3_seaweedfs_encrypted(rig_s3_seaweedfs: Rig, rig_keyring: Keyring) -> Iterator[Rig]:
    yield _wrapped(rig_s3_seaweedfs, rig_keyring)


@pytest.fixture(scope="session")
def rig_azure_azurite_encrypted(rig_azure_azurite: Rig,
                                rig_keyring: Keyring) -> Iterator[Rig]:
    yield _wrapped(rig_azure_azurite, rig_keyring)


@pytest.fixture(scope="session")
def rig_swift_encrypted(rig_swift: Rig, rig_keyring: Keyring) -> Iterator[Rig]:
    yield _wrapped(rig_swift, rig_keyring)
