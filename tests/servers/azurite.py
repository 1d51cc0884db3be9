"""Azurite (Azure Blob emulator) for tests, on a free 127.0.0.1 port.

`server_azurite` is session-scoped: it runs node_modules/.bin/azurite-blob directly (through npx,
killing the wrapper would leave the node child holding the port) in its own process group, with
its data under a pytest temp dir, and stops the whole group afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from .process import ServerProcess, free_port, port_open

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
#: The emulator's published development key (the same in every Azurite): not a secret.
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")


@dataclass(frozen=True)
class AzuriteServer:
    port: int
    process: ServerProcess

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def connection_string(self, account_key: str = ACCOUNT_KEY) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={account_key};"
                f"BlobEndpoint={self.account_url};")


def unavailable_reason() -> str | None:
    if not AZURITE.exists():
        return f"Azurite not installed ({AZURITE} missing: run `npm install azurite`)"
    return None


def start_azurite(workdir: Path, env: dict[str, str] | None = None) -> AzuriteServer:
    """Start Azurite's blob service on a free port under `workdir`; stop it with
    `server.process.stop()`. `env` may carry AZURITE_ACCOUNTS for accounts of one's own."""
    port = free_port()
    process = ServerProcess(
        "azurite",
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port),
         "--location", str(workdir / "data"), "--skipApiVersionCheck", "--loose",
         "--disableTelemetry", "--silent"],
        log_dir=workdir, cwd=workdir, env=env)
    process.start()
    try:
        process.wait_until(lambda: port_open(port), timeout=60)
    except BaseException:
        process.stop()
        raise
    return AzuriteServer(port=port, process=process)


@pytest.fixture(scope="session")
def server_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.process.stop()
