"""The state suite runs unchanged over both implementations: files (SQLite, JSON, in-process
locks, the audit file) and PostgreSQL (a real server from Debian's packages, a new database per
test)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from service.config import LoadedConfig, load
from service.state import State, open_state
from service.state.postgres import Database, migrate
from tests.servers.postgres import PostgresServer, server_postgres  # noqa: F401

KINDS = ["files", "postgres"]


def write_config(folder: Path, url: str | None = None, **extra: Any) -> Path:
    document: dict[str, Any] = {
        "backends": {"main": {"type": "local", "path": str(folder / "main")},
                     "spare": {"type": "local", "path": str(folder / "spare")}},
        "state_dir": str(folder / "state"),
        "buckets": {"configured": {"backend": "main"}}, **extra}
    if url is not None:
        document["state"] = {"url": "${SORTIE_TEST_DB}"}
    path = folder / "sortie.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def new_database(server: PostgresServer) -> str:
    url = server.database("t" + uuid.uuid4().hex[:16])
    db = Database(url, pool_size=2)
    try:
        migrate(db)
    finally:
        db.close()
    return url


@pytest.fixture(params=KINDS)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> LoadedConfig:
    if request.param == "files":
        return load(write_config(tmp_path), environ={})
    server: PostgresServer = request.getfixturevalue("server_postgres")
    url = new_database(server)
    return load(write_config(tmp_path, url), environ={"SORTIE_TEST_DB": url})


@pytest.fixture
def state(config: LoadedConfig) -> Iterator[State]:
    opened = open_state(config)
    yield opened
    opened.close()
