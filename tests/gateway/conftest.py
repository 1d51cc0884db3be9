"""Live gateways (real uvicorn) over local disk, SeaweedFS (S3) and Azurite (Azure Blob).

The server fixtures come from tests/servers/ and are shared with the conformance rigs (one
SeaweedFS and one Azurite per session). A backend whose adapter or server is not available here
skips its variant with the reason.
"""

from __future__ import annotations

import importlib
from typing import Iterator

import pytest

import tests.conftest as root_conftest

from .live import LiveGateway, start_gateway

# Server fixtures, unless the root conftest already exposes them through a rig module.
for _module, _fixture in (("tests.servers.seaweedfs", "server_seaweedfs"),
                          ("tests.servers.azurite", "server_azurite")):
    if not hasattr(root_conftest, _fixture):
        try:
            globals()[_fixture] = getattr(importlib.import_module(_module), _fixture)
        except (ImportError, AttributeError):
            pass

KINDS = ["local", "seaweedfs", "azurite"]


def _adapter_missing(module: str) -> str | None:
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        return f"adapter {module} not available yet ({exc})"
    if not hasattr(loaded, "FAMILY"):
        return f"adapter {module} not available yet (no family record)"
    return None


def _server(request: pytest.FixtureRequest, name: str) -> object:
    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        pytest.skip(f"server fixture {name} not available yet (tests/servers/)")


@pytest.fixture(scope="session")
def live_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    workdir = tmp_path_factory.mktemp("gateway-local")
    gateway = start_gateway("local", workdir, {"type": "local", "path": "main"})
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def live_seaweedfs(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    reason = _adapter_missing("adapters.s3.family")
    if reason:
        pytest.skip(reason)
    server = _server(request, "server_seaweedfs")
    workdir = tmp_path_factory.mktemp("gateway-seaweedfs")
    backend = {"type": "s3", "preset": "seaweedfs", "endpoint": server.endpoint,  # type: ignore[attr-defined]
               "region": server.region, "access_key": "${GW_TEST_S3_ACCESS}",  # type: ignore[attr-defined]
               "secret_key": "${GW_TEST_S3_SECRET}"}
    env = {"GW_TEST_S3_ACCESS": server.access_key,  # type: ignore[attr-defined]
           "GW_TEST_S3_SECRET": server.secret_key}  # type: ignore[attr-defined]
    gateway = start_gateway("seaweedfs", workdir, backend, env)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def live_azurite(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    reason = _adapter_missing("adapters.azure.family")
    if reason:
        pytest.skip(reason)
    server = _server(request, "server_azurite")
    workdir = tmp_path_factory.mktemp("gateway-azurite")
    backend = {"type": "azure", "connection_string": "${GW_TEST_AZURE}"}
    env = {"GW_TEST_AZURE": server.connection_string()}  # type: ignore[attr-defined]
    gateway = start_gateway("azurite", workdir, backend, env)
    yield gateway
    gateway.stop()


@pytest.fixture(params=KINDS)
def live(request: pytest.FixtureRequest) -> LiveGateway:
    """The gateway over each backend in turn (test ids: local, seaweedfs, azurite)."""
    return request.getfixturevalue(f"live_{request.param}")


@pytest.fixture
def gbucket(live: LiveGateway) -> Iterator[str]:
    """A fresh logical bucket on the backend under test, emptied and deleted afterwards."""
    name = live.new_bucket()
    yield name
    _empty_and_delete(live, name)


def _empty_and_delete(live: LiveGateway, name: str) -> None:
    cursor = None
    keys: list[str] = []
    while True:
        params: dict[str, str] = {"cursor": cursor} if cursor else {}
        page = live.client.get(f"/v1/buckets/{name}/objects", params=params)
        if page.status_code != 200:
            return
        body = page.json()
        keys += [o["key"] for o in body["objects"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    from urllib.parse import quote

    for key in keys:
        live.client.delete(f"/v1/buckets/{name}/objects/{quote(key, safe='/')}")
    live.client.delete(f"/v1/buckets/{name}")
