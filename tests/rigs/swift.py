"""Swift adapter against a real single-node Swift (v1 tempauth), see tests/servers/swift.py."""

from __future__ import annotations

from typing import Iterator

import pytest

from adapters.contract import MiB
from adapters.swift import SWIFT_CAPABILITIES, SwiftAuth, SwiftStore

from ..servers.swift import SwiftServer, server_swift  # noqa: F401 - exposed as a fixture
from . import Rig

RIG_IDS = ["swift"]

#: 1 MiB segments, so that the suite's 40 MiB object is an SLO of 40 segments.
SMALL_SEGMENTS = SWIFT_CAPABILITIES.with_overrides(
    max_single_put=1 * MiB, min_part_size=1 * MiB, max_part_size=1 * MiB,
    max_object_size=1000 * MiB)


def swift_auth(server: SwiftServer, key: str | None = None) -> SwiftAuth:
    return SwiftAuth(auth_url=server.auth_url, auth_version="1", username=server.user,
                     password=key if key is not None else server.key)


@pytest.fixture(scope="session")
def rig_swift(server_swift: SwiftServer) -> Iterator[Rig]:  # noqa: F811
    store = SwiftStore("swift", swift_auth(server_swift))
    multipart = SwiftStore("swift-slo", swift_auth(server_swift), capabilities=SMALL_SEGMENTS)
    yield Rig(store=store, multipart_store=multipart,
              extras={"server": lambda: server_swift})
    store.close()
    multipart.close()
