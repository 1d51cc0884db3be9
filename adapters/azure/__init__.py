"""Azure Blob Storage (`type: azure`) on azure-storage-blob's sync API.

    from_config(name, settings, base_dir) -> ObjectStore

Settings: adapters.config.AzureBackend (connection string, account URL + key, SAS token, or
Entra ID through DefaultAzureCredential). Provider facts: adapters/azure/presets/*.yaml.
The store is wrapped in the shared retry layer (adapters/layers/retry.py); the SDK's own policy
stays short (a couple of quick retries per request), so a dead endpoint is reported in seconds.
"""

from __future__ import annotations

from pathlib import Path

from ..config import AzureBackend
from ..errors import InvalidRequest
from ..layers.retry import RetryingStore
from ..presets import PresetError
from .client import service_client
from .preset import load_preset
from .store import AZURE_CAPABILITIES, AzureStore

__all__ = ["AZURE_CAPABILITIES", "AzureStore", "build_store", "from_config"]

#: Whole-operation attempts by the retry layer, on top of the SDK's per-request retries.
RETRY_ATTEMPTS = 3


def build_store(name: str, settings: AzureBackend, **capability_overrides: object) -> RetryingStore:
    """The configured store; `capability_overrides` (e.g. a smaller block size) are for tests
    and benchmarks that need to force a path."""
    try:
        preset = load_preset(settings.preset or "azure")
    except PresetError as exc:
        raise InvalidRequest(f"backend {name!r}: {exc}", backend=name) from None
    capabilities = preset.capabilities(AZURE_CAPABILITIES)
    if settings.entra_id:
        # Copy Blob authorises its source with the destination's Shared Key or SAS; with an
        # Entra ID token that is not assured, so copies are streamed through Sortie instead.
        capabilities = capabilities.with_overrides(server_side_copy=False)
    if capability_overrides:
        capabilities = capabilities.with_overrides(**capability_overrides)
    store = AzureStore(name, service_client(name, settings), capabilities,
                       max_concurrency=settings.max_concurrency)
    return RetryingStore(store, attempts=RETRY_ATTEMPTS)


def from_config(name: str, settings: AzureBackend, base_dir: Path) -> RetryingStore:
    return build_store(name, settings)
