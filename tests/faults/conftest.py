"""Stores of every network family built through a fault-injecting proxy (tests/servers/faulty.py)
in front of the real server, with short timeouts so a stalled peer costs seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from adapters import build_store
from adapters.config import AzureBackend, BackendConfig, S3Backend, SwiftBackend
from adapters.contract import ObjectStore

from ..servers.azurite import ACCOUNT, ACCOUNT_KEY, AzuriteServer
from ..servers.faulty import FaultyProxy
from ..servers.seaweedfs import SeaweedServer

#: Seconds of silence before a call gives up (connect and read).
TIMEOUT = 1.0
FAMILIES = ["s3-seaweedfs", "azure-azurite", "swift"]


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].split("/", 1)[0].split(":")
    return host, int(port)


def s3_settings(server: SeaweedServer, proxy: FaultyProxy) -> S3Backend:
    return S3Backend(type="s3", preset="seaweedfs", endpoint=proxy.url(), region=server.region,
                     access_key=server.access_key, secret_key=server.secret_key,  # type: ignore[arg-type]
                     connect_timeout=TIMEOUT, read_timeout=TIMEOUT)


def azure_settings(server: AzuriteServer, proxy: FaultyProxy) -> AzureBackend:
    connection = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                  f"BlobEndpoint={proxy.url(path='/' + ACCOUNT)};")
    return AzureBackend(type="azure", connection_string=connection,  # type: ignore[arg-type]
                        connect_timeout=TIMEOUT, read_timeout=TIMEOUT)


def swift_settings(server: object, proxy: FaultyProxy) -> SwiftBackend:
    auth_path = "/" + server.auth_url.split("://", 1)[1].split("/", 1)[1]  # type: ignore[attr-defined]
    storage_path = "/" + server.storage_url.split("://", 1)[1].split("/", 1)[1]  # type: ignore[attr-defined]
    return SwiftBackend(type="swift", auth_url=proxy.url(path=auth_path), auth_version="1",
                        username=server.user, password=server.key,  # type: ignore[attr-defined,arg-type]
                        storage_url=proxy.url(path=storage_path), timeout=TIMEOUT)


@pytest.fixture
def proxied(request: pytest.FixtureRequest
            ) -> Iterator[Callable[[str], tuple[FaultyProxy, BackendConfig]]]:
    """family -> (a started proxy in front of that family's real server, settings through it)."""
    proxies: list[FaultyProxy] = []

    def make(family: str) -> tuple[FaultyProxy, BackendConfig]:
        if family == "s3-seaweedfs":
            server = request.getfixturevalue("server_seaweedfs")
            proxy = FaultyProxy(*_host_port(server.endpoint)).start()
            settings: BackendConfig = s3_settings(server, proxy)
        elif family == "azure-azurite":
            server = request.getfixturevalue("server_azurite")
            proxy = FaultyProxy(*_host_port(server.account_url)).start()
            settings = azure_settings(server, proxy)
        else:
            server = request.getfixturevalue("server_swift")
            proxy = FaultyProxy(*_host_port(server.proxy_url)).start()
            settings = swift_settings(server, proxy)
        proxies.append(proxy)
        return proxy, settings

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.fixture(params=FAMILIES)
def faulty_store(request: pytest.FixtureRequest,
                 proxied: Callable[[str], tuple[FaultyProxy, BackendConfig]]
                 ) -> Iterator[tuple[FaultyProxy, ObjectStore]]:
    proxy, settings = proxied(request.param)
    store = build_store(f"faulty-{request.param}", settings, Path.cwd())
    yield proxy, store
    store.close()
