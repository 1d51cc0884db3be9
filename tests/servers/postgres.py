"""A private PostgreSQL server from Debian's packages: `initdb` into a temporary folder, then
`postgres` on a free port of 127.0.0.1, as an unprivileged user when the tests run as root
(PostgreSQL refuses to run as root). Stopped afterwards; skips, saying why, where the binaries are
missing."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from .process import ServerProcess, free_port, port_open

#: The unprivileged account the server runs as when the tests run as root.
SERVICE_USER = "nobody"


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


@dataclass
class PostgresServer:
    process: ServerProcess
    port: int
    password: str
    root: Path

    @property
    def url(self) -> str:
        return f"postgresql://sortie:{self.password}@127.0.0.1:{self.port}/sortie"

    def url_without_password(self) -> str:
        return f"postgresql://sortie@127.0.0.1:{self.port}/sortie"

    def database(self, name: str) -> str:
        """A new empty database on this server (one per test keeps tests apart)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://sortie:{self.password}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.process.stop()

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(lambda: port_open(self.port), timeout=30)


def _as_service_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVICE_USER, "--", *command] if os.geteuid() == 0 else command


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVICE_USER)


def start_postgres(root: Path) -> PostgresServer:
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root.mkdir(parents=True, exist_ok=True)
    _own(root)
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir(exist_ok=True)
    _own(sockets)
    password = secrets.token_urlsafe(16)
    pwfile = root / "pw"
    pwfile.write_text(password)
    _own(pwfile)
    subprocess.run(_as_service_user([str(bindir / "initdb"), "-D", str(data), "-U", "sortie",
                                     f"--pwfile={pwfile}", "--auth-host=scram-sha-256",
                                     "--auth-local=trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True)
    pwfile.unlink()
    port = free_port()
    process = ServerProcess("postgres", _as_service_user([
        str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"]),
        root)
    server = PostgresServer(process, port, password, root)
    server.start()
    import psycopg

    with psycopg.connect(f"postgresql://sortie:{password}@127.0.0.1:{port}/postgres",
                         autocommit=True) as conn:
        conn.execute("CREATE DATABASE sortie")
    return server


def reachable_root() -> Path:
    """A folder the service user can reach (pytest's own are private to the test user)."""
    root = Path(tempfile.mkdtemp(prefix="sortie-postgres-"))
    root.chmod(0o755)
    return root


@pytest.fixture(scope="session")
def server_postgres() -> Iterator[PostgresServer]:
    root = reachable_root()
    try:
        server = start_postgres(root / "server")
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"PostgreSQL cannot run here: {exc} {detail.decode(errors='replace')[-300:]}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
