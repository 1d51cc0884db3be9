"""A multipart upload is pinned to the route it started on: the exit switch moving its bucket
meanwhile makes it gone (NoSuchUpload) rather than completed on the backend left behind, where
the object would be lost to the applications. Two real local backends, a real drill."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import yaml

from adapters.errors import ObjectNotFound, UploadNotFound
from adapters.registry import build_store
from exit_drills.runner import run_drill
from exit_drills.spec import DrillSpec, Endpoint, Mode
from service.config import load
from service.gateway import Gateway
from service.uploads import Uploads

MiB = 1024 * 1024


def _gateway(tmp_path: Path) -> Gateway:
    path = tmp_path / "sortie.yaml"
    path.write_text(yaml.safe_dump({
        "backends": {"main": {"type": "local", "path": "main"},
                     "spare": {"type": "local", "path": "spare"}},
        "state_dir": "state"}))
    config = load(path)
    return Gateway(config, {name: build_store(name, settings, config.base_dir)
                            for name, settings in config.settings.backends.items()})


def test_an_upload_across_the_exit_switch_is_gone(tmp_path: Path) -> None:
    gateway = _gateway(tmp_path)
    uploads = Uploads(gateway)
    gateway.create_bucket("records")
    gateway.put_object("records", "before", [b"kept"], size=4, content_type=None, metadata={},
                       expected_sha256=None)
    upload = uploads.start("records", "scan.bin", content_type=None, metadata={})
    first = uploads.upload_part("records", "scan.bin", upload, 1, b"a" * (5 * MiB))
    time.sleep(1.1)  # the switch compares whole seconds
    spec = DrillSpec(source=Endpoint(backend="main", bucket="records"),
                     target=Endpoint(backend="spare", bucket="records-exit"), mode=Mode.full)
    report = run_drill(spec, gateway.config.settings.backends, base_dir=gateway.config.base_dir,
                       state_dir=gateway.state_dir)
    assert report.status == "passed"
    gateway.switch_route("records", "spare")
    for call in (lambda: uploads.upload_part("records", "scan.bin", upload, 2, b"b"),
                 lambda: uploads.list_parts("records", "scan.bin", upload),
                 lambda: uploads.complete("records", "scan.bin", upload, [first])):
        with pytest.raises(UploadNotFound, match="exit switch"):
            call()
    with pytest.raises(ObjectNotFound):
        gateway.head_object("records", "scan.bin")
    # A new upload goes to the new route, and completes there.
    again = uploads.start("records", "scan.bin", content_type=None, metadata={})
    part = uploads.upload_part("records", "scan.bin", again, 1, b"c" * 10)
    info = uploads.complete("records", "scan.bin", again, [part])
    assert info.size == 10 and gateway.resolve("records").route.backend == "spare"
    with gateway.get_object("records", "scan.bin", None) as body:
        assert hashlib.sha256(body.read()).hexdigest() == hashlib.sha256(b"c" * 10).hexdigest()
    gateway.close()
