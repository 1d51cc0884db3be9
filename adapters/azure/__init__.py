"""Azure Blob Storage (`type: azure`) on azure-storage-blob's sync API.

    from_config(name, settings, base_dir) -> ObjectStore

Settings: adapters.config.AzureBackend (connection string, account URL + key, SAS token, or
Entra ID through DefaultAzureCredential). Provider facts: adapters/azure/presets/*.yaml.
"""

from __future__ import annotations

from pathlib import Path

from ..config import AzureBackend
from ..contract import ObjectStore
from .client import service_client
from .preset import load_preset
from .store import AZURE_CAPABILITIES, AzureStore

__all__ = ["AZURE_CAPABILITIES", "AzureStore", "from_config"]


def from_config(name: str, settings: AzureBackend, base_dir: Path) -> ObjectStore:
    capabilities = load_preset(settings.preset or "azure").capabilities(AZURE_CAPABILITIES)
    if settings.entra_id:
        # Copy Blob authorises its source with the destination's Shared Key or SAS; with an
        # Entra ID token that is not assured, so copies are streamed through Sortie instead.
        capabilities = capabilities.with_overrides(server_side_copy=False)
    return AzureStore(name, service_client(name, settings), capabilities,
                      max_concurrency=settings.max_concurrency)
