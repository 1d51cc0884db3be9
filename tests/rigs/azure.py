"""The Azure Blob adapter against Azurite."""

from __future__ import annotations

from typing import Iterator

import pytest

from adapters.azure import from_config
from adapters.config import AzureBackend
from adapters.contract import MiB
from adapters.azure.store import AzureStore

from ..servers.azurite import AzuriteServer, server_azurite  # noqa: F401 - exposed fixture
from . import Rig

RIG_IDS = ["azure-azurite"]


def azurite_settings(server: AzuriteServer, **changes: object) -> AzureBackend:
    return AzureBackend(type="azure", connection_string=server.connection_string(),  # type: ignore[arg-type]
                        **changes)


@pytest.fixture(scope="session")
def rig_azure_azurite(server_azurite: AzuriteServer, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[Rig]:
    store = from_config("azure-azurite", azurite_settings(server_azurite), tmp_path_factory.getbasetemp())
    small = from_config("azure-azurite-blocks", azurite_settings(server_azurite),
                        tmp_path_factory.getbasetemp())
    assert isinstance(store, AzureStore) and isinstance(small, AzureStore)
    # 4 MiB blocks and single puts only up to 4 MiB: 40 MiB goes through ten staged blocks.
    small.capabilities = small.capabilities.with_overrides(min_part_size=4 * MiB,
                                                           max_single_put=4 * MiB)
    yield Rig(store=store, multipart_store=small,
              extras={"client": lambda: store.client, "server": lambda: server_azurite})
    store.close()
    small.close()
