"""The Azure store's obstore data path (adapters/fast_io.py): only with a shared key (from a
connection string or `account_key`); SAS tokens and Entra ID stay on azure-storage-blob."""

from __future__ import annotations

from typing import Any

from azure.storage.blob import BlobServiceClient

from ..config import AzureBackend
from ..fast_io import NO_RETRIES, FastPath, client_options


def fast_path(name: str, settings: AzureBackend, client: BlobServiceClient) -> FastPath | None:
    credential = getattr(client, "credential", None)
    account_key = getattr(credential, "account_key", None)
    if not settings.fast_io or not account_key or settings.entra_id or settings.sas_token:
        return None
    account = client.account_name
    endpoint = client.url.split("?", 1)[0].rstrip("/")

    def store(bucket: str) -> Any:
        from obstore.store import AzureStore

        return AzureStore(bucket, account_name=account, account_key=account_key,
                          endpoint=endpoint, retry_config=NO_RETRIES,
                          client_options=client_options(endpoint, settings.connect_timeout,
                                                        settings.read_timeout))

    return FastPath(name, store, auth_hint="check the account name and account key, or the "
                                            "connection string")
