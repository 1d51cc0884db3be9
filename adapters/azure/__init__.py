"""Azure Blob Storage (`type: azure`) on azure-storage-blob's sync API.

Settings: adapters.config.AzureBackend (connection string, account URL + key, SAS token, or
Entra ID through DefaultAzureCredential). Provider facts: adapters/azure/presets/*.yaml. Stores
are built by the registry from family.py; the retry layer around them is the registry's, and the
SDK's own policy is off by default (settings `retries`), so a dead endpoint is reported in
seconds.
"""
