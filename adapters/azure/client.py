"""Build the azure-storage-blob service client from Sortie's settings (one credential kind)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, LinearRetry

from ..config import AzureBackend
from ..errors import InvalidRequest

#: Connections kept per host: a drill's workers plus the blocks each has in flight.
_POOL_SIZE = 64
_GET_CHUNK = 8 * 1024 * 1024
_READ_BLOCK = 256 * 1024


def account_name_from_url(account_url: str) -> str:
    """`https://NAME.blob.core.windows.net` -> NAME; emulator style `http://host:port/NAME` -> NAME."""
    parts = urlsplit(account_url)
    host = parts.hostname or ""
    path = parts.path.strip("/")
    if path:
        return path.split("/")[0]
    if host and not host.replace(".", "").isdigit() and host != "localhost":
        return host.split(".")[0]
    raise InvalidRequest(f"cannot tell the storage account name from {account_url!r}")


def _settle_environment(session: requests.Session, url: str) -> None:
    """Resolve the environment's proxy and CA settings once, for the client's one endpoint.

    requests re-reads every environment variable on every request to find proxies (about a
    quarter of a millisecond each here); a drill sends thousands of them to one endpoint, whose
    settings cannot change meanwhile. The session has `trust_env` off from the start.
    """
    if not requests.utils.should_bypass_proxies(url, no_proxy=None):
        session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def service_client(name: str, settings: AzureBackend) -> BlobServiceClient:
    """A service client with short retries and timeouts, so a dead endpoint fails in seconds."""
    kinds = [kind for kind, given in (("connection_string", settings.connection_string),
                                      ("account_key", settings.account_key),
                                      ("sas_token", settings.sas_token),
                                      ("entra_id", settings.entra_id)) if given]
    if len(kinds) != 1:
        raise InvalidRequest(
            f"azure backend {name!r}: give exactly one of connection_string, account_key, "
            f"sas_token or entra_id (got {', '.join(kinds) or 'none'})", backend=name)
    session = requests.Session()
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # Our own transport, for a connection pool as large as the concurrency we use; it must then
    # get the timeouts and the read size itself (the client's kwargs only shape a transport the
    # SDK builds): with requests' 4 KiB default a 64 MiB read costs twice the CPU.
    transport = RequestsTransport(session=session, session_owner=True,
                                  connection_timeout=settings.connect_timeout,
                                  read_timeout=settings.read_timeout,
                                  connection_data_block_size=_READ_BLOCK)
    options = dict(
        transport=transport,
        # The storage SDK's default waits 15 s, then 18 s, then 24 s: far too long to notice a
        # dead endpoint. Here a failed request (one block, say) is tried again after about half
        # a second; the retry layer around the store backs off exponentially on top.
        retry_policy=LinearRetry(backoff=0.5, random_jitter_range=0.25,
                                 retry_total=settings.retries),
        connection_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        # Reads go in 8 MiB requests: bounded memory per open body, and the SDK's default
        # (a 32 MiB first request, then served in 4 MiB slices of it) copies that buffer over
        # and over when iterated, which made large reads 1.5x slower than readall().
        max_single_get_size=_GET_CHUNK,
        max_chunk_get_size=_GET_CHUNK,
    )
    if settings.connection_string is not None:
        client = BlobServiceClient.from_connection_string(
            settings.connection_string.get_secret_value(), **options)
        _settle_environment(session, client.url)
        return client
    if not settings.account_url:
        raise InvalidRequest(f"azure backend {name!r}: account_url is required with {kinds[0]}",
                             backend=name)
    credential: object
    if settings.account_key is not None:
        credential = {"account_name": account_name_from_url(settings.account_url),
                      "account_key": settings.account_key.get_secret_value()}
    elif settings.sas_token is not None:
        credential = settings.sas_token.get_secret_value().lstrip("?")
    else:
        from azure.identity import DefaultAzureCredential  # loaded only when configured

        credential = DefaultAzureCredential()
    _settle_environment(session, settings.account_url)
    return BlobServiceClient(settings.account_url, credential=credential, **options)
