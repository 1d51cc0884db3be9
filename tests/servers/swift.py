"""A single-node OpenStack Swift (proxy, object, container, account, memcached) for tests.

`server_swift` is session-scoped: it writes the configs, builds the three rings, starts every
server on a free 127.0.0.1 port and waits for `/healthcheck`; afterwards it stops them all and
removes the directory. The proxy runs tempauth (`test:tester` / `testing`, an admin) and s3api,
so the same server also serves as a second S3 implementation.

The data lives under the system temp dir rather than pytest's: the Swift servers drop to the
`swift` user, and pytest keeps its base temp dir private to root (mode 0700), so `swift` could
not reach anything inside it.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from .process import ServerProcess, free_port, port_open

SWIFT_USER = "swift"
_BINARIES = ["swift-proxy-server", "swift-object-server", "swift-container-server",
             "swift-account-server", "swift-ring-builder", "memcached"]
_PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk "
             "tempurl s3api tempauth copy slo dlo versioned_writes symlink proxy-logging "
             "proxy-server")
_START_TIMEOUT = 60.0


def unavailable_reason() -> str | None:
    """Why Swift cannot run on this machine, or None when it can."""
    missing = [b for b in _BINARIES if shutil.which(b) is None]
    if missing:
        return f"Swift not installed (missing: {', '.join(missing)})"
    if os.geteuid() != 0:
        return "Swift servers need root (they drop privileges to the swift user)"
    try:
        pwd.getpwnam(SWIFT_USER)
    except KeyError:
        return f"no '{SWIFT_USER}' user on this machine"
    return None


def _healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=2) as resp:
        return resp.status == 200


@dataclass
class SwiftServer:
    """A running single-node Swift: where it answers and how to log in (v1 tempauth and s3api)."""

    proxy_url: str
    auth_url: str                # tempauth v1: GET with X-Auth-User / X-Auth-Key
    user: str                    # "test:tester"
    key: str                     # "testing"
    storage_url: str             # proxy_url + "/v1/AUTH_test"
    s3_endpoint: str             # s3api answers on the proxy itself
    s3_access_key: str           # "test:tester"
    s3_secret_key: str           # "testing"
    s3_region: str               # s3api's default location
    root: Path
    _proxy: ServerProcess = field(repr=False)
    _all: list[ServerProcess] = field(repr=False, default_factory=list)

    @property
    def proxy_port(self) -> int:
        return int(self.proxy_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """Take the proxy away (storage servers keep running): clients see connection errors."""
        self._proxy.stop()

    def start(self) -> None:
        """Bring the proxy back after `stop()` (no-op if it is running)."""
        if self._proxy.process is None:
            self._proxy.start().wait_until(lambda: _healthy(self.proxy_port), _START_TIMEOUT)

    def restart(self) -> None:
        """Stop and start the proxy, waiting until it answers again."""
        self._proxy.restart(lambda: _healthy(self.proxy_port), _START_TIMEOUT)

    def close(self) -> None:
        """Stop every server and remove the data."""
        _teardown(self._all, self.root)

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(lines)}" for p in self._all)


def _write(path: Path, text: str) -> None:
    path.write_text(text.lstrip())


def _configure(root: Path, ports: dict[str, int]) -> None:
    node = root / "node"
    (node / "sdb1").mkdir(parents=True)
    (root / "run").mkdir()
    common = f"""
[DEFAULT]
swift_dir = {root}
devices = {node}
mount_check = false
bind_ip = 127.0.0.1
workers = 1
user = {SWIFT_USER}
log_level = INFO
"""
    _write(root / "swift.conf", """
[swift-hash]
swift_hash_path_suffix = sortie-test
swift_hash_path_prefix = sortie-test

[storage-policy:0]
name = Policy-0
default = yes
""")
    for kind, egg in (("object", "object"), ("container", "container"), ("account", "account")):
        _write(root / f"{kind}-server.conf", f"""
{common}
bind_port = {ports[kind]}

[pipeline:main]
pipeline = healthcheck {kind}-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:{kind}-server]
use = egg:swift#{egg}
""")
    _write(root / "proxy-server.conf", f"""
{common}
bind_port = {ports["proxy"]}

[pipeline:main]
pipeline = {_PIPELINE}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{ports["memcached"]}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:tempurl]
use = egg:swift#tempurl

[filter:s3api]
use = egg:swift#s3api

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes

[filter:symlink]
use = egg:swift#symlink
""")
    for ring, kind in (("object", "object"), ("container", "container"), ("account", "account")):
        builder = str(root / f"{ring}.builder")
        for args in (["create", "8", "1", "1"],
                     ["add", f"r1z1-127.0.0.1:{ports[kind]}/sdb1", "100"],
                     ["rebalance"]):
            done = subprocess.run(["swift-ring-builder", builder, *args], cwd=root,
                                  capture_output=True, text=True, timeout=60)
            # rebalance exits 1 for warnings (e.g. a single device), 2 for errors.
            if done.returncode >= 2:
                raise RuntimeError(f"swift-ring-builder {args[0]} failed: "
                                   f"{done.stdout}{done.stderr}")
    shutil.chown(root, SWIFT_USER, SWIFT_USER)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            shutil.chown(os.path.join(dirpath, name), SWIFT_USER, SWIFT_USER)


def start_swift() -> SwiftServer:
    """Start a single-node Swift in a fresh temp dir; `close()` stops it and removes the dir.
    For benchmarks and scripts; tests use the `server_swift` fixture."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    root = Path(tempfile.mkdtemp(prefix="sortie-swift-"))
    logs = root / "logs"
    logs.mkdir()
    ports = {name: free_port() for name in ("proxy", "object", "container", "account",
                                            "memcached")}
    processes: list[ServerProcess] = []
    try:
        _configure(root, ports)
        memcached = ServerProcess("memcached", [
            "memcached", "-l", "127.0.0.1", "-p", str(ports["memcached"]), "-U", "0",
            "-u", SWIFT_USER, "-m", "64"], logs)
        processes.append(memcached.start())
        memcached.wait_until(lambda: port_open(ports["memcached"]), _START_TIMEOUT)
        for kind in ("account", "container", "object"):
            proc = ServerProcess(f"swift-{kind}", [
                f"swift-{kind}-server", str(root / f"{kind}-server.conf"), "-v"], logs)
            processes.append(proc.start())
        proxy = ServerProcess("swift-proxy", [
            "swift-proxy-server", str(root / "proxy-server.conf"), "-v"], logs)
        processes.append(proxy.start())
        for proc, kind in zip(processes[1:], ("account", "container", "object", "proxy")):
            proc.wait_until(functools.partial(_healthy, ports[kind]), _START_TIMEOUT)
    except BaseException:
        _teardown(processes, root)
        raise
    proxy_url = f"http://127.0.0.1:{ports['proxy']}"
    return SwiftServer(
        proxy_url=proxy_url, auth_url=f"{proxy_url}/auth/v1.0", user="test:tester",
        key="testing", storage_url=f"{proxy_url}/v1/AUTH_test", s3_endpoint=proxy_url,
        s3_access_key="test:tester", s3_secret_key="testing", s3_region="us-east-1",
        root=root, _proxy=proxy, _all=processes)


def _teardown(processes: list[ServerProcess], root: Path) -> None:
    for proc in reversed(processes):
        proc.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def server_swift() -> Iterator[SwiftServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = start_swift()
    try:
        yield server
    finally:
        server.close()
