"""Swift adapter against a real single-node Swift (v1 tempauth), see tests/servers/swift.py."""

from __future__ import annotations

from typing import Iterator

import pytest

from adapters.config import SwiftBackend
from adapters.contract import MiB
from adapters.registry import build_store
from adapters.swift.auth import SwiftAuth
from adapters.swift.store import SWIFT_CAPABILITIES

from ..servers.swift import SwiftServer, server_swift  # noqa: F401 - exposed as a fixture
from . import Rig

RIG_IDS = ["swift"]

#: 1 MiB segments, so that the suite's 40 MiB object is an SLO of 40 segments.
SMALL_SEGMENT_LIMITS = {"max_single_put": 1 * MiB, "min_part_size": 1 * MiB,
                        "max_part_size": 1 * MiB, "max_object_size": 1000 * MiB}
SMALL_SEGMENTS = SWIFT_CAPABILITIES.with_overrides(**SMALL_SEGMENT_LIMITS)


def swift_settings(server: SwiftServer) -> SwiftBackend:
    return SwiftBackend(type="swift", auth_url=server.auth_url, auth_version="1",
                        username=server.user, password=server.key)  # type: ignore[arg-type]


def swift_auth(server: SwiftServer, key: str | None = None) -> SwiftAuth:
    return SwiftAuth(auth_url=server.auth_url, auth_version="1", username=server.user,
                     password=key if key is not None else server.key)


@pytest.fixture(scope="session")
def rig_swift(server_swift: SwiftServer) -> Iterator[Rig]:  # noqa: F811
    # Built as `sortie` builds them: through the registry, with its layers.
    store = build_store("swift", swift_settings(server_swift))
    multipart = build_store("swift-slo", swift_settings(server_swift),
                            capability_overrides=SMALL_SEGMENT_LIMITS)
    yield Rig(store=store, multipart_store=multipart,
              extras={"server": lambda: server_swift})
    store.close()
    multipart.close()
