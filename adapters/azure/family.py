"""The Azure Blob family's record: settings, build, presets (default `azure`) and facts."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..config import AzureBackend
from ..contract import ObjectStore
from ..family import Family
from .preset import CATALOGUE, DEFAULT_PRESET


def build(name: str, settings: AzureBackend, base_dir: Path,
          overrides: Mapping[str, object]) -> ObjectStore:
    from .client import service_client
    from .fast import fast_path
    from .store import AZURE_CAPABILITIES, AzureStore

    capabilities = CATALOGUE.load(settings.preset or DEFAULT_PRESET).capabilities(
        AZURE_CAPABILITIES)
    if settings.entra_id:
        # Copy Blob authorises its source with the destination's Shared Key or SAS; with an
        # Entra ID token that is not assured, so copies are streamed through Sortie instead.
        capabilities = capabilities.with_overrides(server_side_copy=False)
    if overrides:
        capabilities = capabilities.with_overrides(**overrides)
    client = service_client(name, settings)
    return AzureStore(name, client, capabilities, max_concurrency=settings.max_concurrency,
                      fast=fast_path(name, settings, client))


FAMILY = Family(type="azure", title="Azure Blob Storage", settings=AzureBackend, build=build,
                presets=CATALOGUE, default_preset=DEFAULT_PRESET,
                modules=("adapters.azure.client", "adapters.azure.store", "adapters.azure.fast"))
