"""The Azure Blob adapter against Azurite."""

from __future__ import annotations

from typing import Iterator

import pytest

from adapters.layers.base import innermost
from adapters.registry import build_store
from adapters.config import AzureBackend
from adapters.contract import MiB

from ..servers.azurite import AzuriteServer, server_azurite  # noqa: F401 - exposed fixture
from . import Rig

#: 4 MiB blocks and single puts only up to 4 MiB: 40 MiB goes through ten staged blocks.
SMALL_BLOCKS = {"min_part_size": 4 * MiB, "max_single_put": 4 * MiB}

#: The second runs the same suite in Azurite's container image where a Docker engine exists.
RIG_IDS = ["azure-azurite", "azure-azurite-docker"]


def azurite_settings(server: AzuriteServer, **changes: object) -> AzureBackend:
    return AzureBackend(type="azure", connection_string=server.connection_string(),  # type: ignore[arg-type]
                        **changes)


@pytest.fixture(scope="session")
def rig_azure_azurite(server_azurite: AzuriteServer) -> Iterator[Rig]:
    store = build_store("azure-azurite", azurite_settings(server_azurite))
    small = build_store("azure-azurite-blocks", azurite_settings(server_azurite),
                        capability_overrides=SMALL_BLOCKS)
    yield Rig(store=store, multipart_store=small,
              extras={"client": lambda: innermost(store).client, "server": lambda: server_azurite})
    store.close()
    small.close()


@pytest.fixture(scope="session")
def rig_azure_azurite_docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The same suite against Azurite's published container image (testcontainers), where a
    Docker engine runs; skipped cleanly elsewhere."""
    from ..servers.docker import docker_unavailable_reason

    reason = docker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from testcontainers.community.azurite import AzuriteContainer

    container = AzuriteContainer().with_command(
        "azurite --blobHost 0.0.0.0 --queueHost 0.0.0.0 --tableHost 0.0.0.0 "
        "--skipApiVersionCheck --loose")
    with container:
        settings = AzureBackend(type="azure",  # type: ignore[arg-type]
                                connection_string=container.get_connection_string())
        store = build_store("azure-azurite-docker", settings, tmp_path_factory.getbasetemp())
        small = build_store("azure-azurite-docker-blocks", settings,
                            capability_overrides=SMALL_BLOCKS)
        yield Rig(store=store, multipart_store=small,
                  extras={"client": lambda: innermost(store).client})
        store.close()
        small.close()
