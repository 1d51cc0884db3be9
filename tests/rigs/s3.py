"""S3 adapter rigs: SeaweedFS (`weed mini`) and OpenStack Swift's s3api, two real S3 servers.

Stores are built the way `sortie` builds them (settings -> preset -> registry, retry layer
included), so the rig proves the configuration path too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from adapters.config import S3Backend
from adapters.contract import MiB, ObjectStore
from adapters.registry import build_store
from tests.servers.seaweedfs import SeaweedServer, server_seaweedfs

from . import Rig

try:  # a colleague's single-node Swift (with s3api); the rig skips until it exists
    from tests.servers.swift import SwiftServer, server_swift  # noqa: F401
except ImportError:  # pragma: no cover - depends on the tree
    server_swift = None

RIG_IDS = ["s3-seaweedfs", "s3-swift-s3api", "s3-minio-docker"]

#: Parts small enough that a 40 MiB object takes the multipart path several times over.
SMALL_PARTS = {"part_size": 5 * MiB, "min_part_size": 5 * MiB}


def s3_store(name: str, endpoint: str, access_key: str, secret_key: str, region: str,
             preset: str, **quirks: Any) -> ObjectStore:
    settings = S3Backend(type="s3", preset=preset, endpoint=endpoint, region=region,
                         access_key=access_key, secret_key=secret_key,  # type: ignore[arg-type]
                         quirks=quirks)
    return build_store(name, settings, Path.cwd())


def seaweed_store(server: SeaweedServer, name: str = "s3-seaweedfs", **quirks: Any) -> ObjectStore:
    return s3_store(name, server.endpoint, server.access_key, server.secret_key, server.region,
                    "seaweedfs", **quirks)


@pytest.fixture(scope="session")
def rig_s3_seaweedfs(server_seaweedfs: SeaweedServer) -> Iterator[Rig]:
    store = seaweed_store(server_seaweedfs)
    multipart = seaweed_store(server_seaweedfs, "s3-seaweedfs-multipart", **SMALL_PARTS)
    yield Rig(store=store, multipart_store=multipart,
              extras={"server": lambda: server_seaweedfs, "client": server_seaweedfs.client})
    store.close()
    multipart.close()


if server_swift is not None:
    def swift_store(server: Any, name: str = "s3-swift-s3api", **quirks: Any) -> ObjectStore:
        return s3_store(name, server.s3_endpoint, server.s3_access_key, server.s3_secret_key,
                        server.s3_region, "swift-s3api", **quirks)

    @pytest.fixture(scope="session")
    def rig_s3_swift_s3api(server_swift: Any) -> Iterator[Rig]:
        store = swift_store(server_swift)
        multipart = swift_store(server_swift, "s3-swift-s3api-multipart", **SMALL_PARTS)
        yield Rig(store=store, multipart_store=multipart,
                  extras={"server": lambda: server_swift})
        store.close()
        multipart.close()
else:
    @pytest.fixture(scope="session")
    def rig_s3_swift_s3api() -> Rig:
        pytest.skip("tests/servers/swift.py (single-node Swift with s3api) is not in this tree yet")


@pytest.fixture(scope="session")
def rig_s3_minio_docker() -> Iterator[Rig]:
    """The suite against MinIO's container image (testcontainers), where a Docker engine runs;
    skipped cleanly elsewhere (the engine check has a short timeout, it never hangs)."""
    from ..servers.docker import docker_unavailable_reason

    reason = docker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from testcontainers.community.minio import MinioContainer

    with MinioContainer() as container:
        config = container.get_config()
        endpoint = f"http://{config['endpoint']}"
        store = s3_store("s3-minio-docker", endpoint, config["access_key"], config["secret_key"],
                         "us-east-1", "minio")
        multipart = s3_store("s3-minio-docker-multipart", endpoint, config["access_key"],
                             config["secret_key"], "us-east-1", "minio", **SMALL_PARTS)
        yield Rig(store=store, multipart_store=multipart)
        store.close()
        multipart.close()


__all__ = ["RIG_IDS", "rig_s3_seaweedfs", "rig_s3_swift_s3api", "rig_s3_minio_docker",
           "server_seaweedfs",
           "server_swift", "s3_store", "seaweed_store"]
