"""A gateway process killed in the middle of a bucket delete: the next start finishes the delete or
rolls it back, never lists a route whose bucket is gone (before the fix the route stayed listed
and listing it answered 404).

The kill is real (`os._exit` in a child process) at the two points where it hurts: right after the
backend deleted the bucket, and right before it did.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from adapters import build_store
from adapters.errors import BucketNotFound
from service.config import LoadedConfig, load
from service.gateway import Gateway

_CHILD = r"""
import os, sys
from adapters import build_store
from adapters.layers.base import Layer
from service.config import load
from service.gateway import Gateway

class KilledDuringDelete(Layer):
    def delete_bucket(self, bucket):
        if bucket != sys.argv[3] or sys.argv[2] == "after":
            self.inner.delete_bucket(bucket)
        if bucket == sys.argv[3]:
            os._exit(9)

config = load(sys.argv[1])
stores = {name: KilledDuringDelete(build_store(name, settings, config.base_dir))
          for name, settings in config.settings.backends.items()}
Gateway(config, stores).delete_bucket(sys.argv[3])
"""


def _config(tmp_path: Path) -> LoadedConfig:
    path = tmp_path / "sortie.yaml"
    path.write_text(yaml.safe_dump({"backends": {"main": {"type": "local", "path": "data"}},
                                    "state_dir": "state"}))
    return load(path)


def _config_path(config: LoadedConfig) -> Path:
    return config.base_dir / "sortie.yaml"


def _gateway(config: LoadedConfig) -> Gateway:
    return Gateway(config, {name: build_store(name, settings, config.base_dir)
                            for name, settings in config.settings.backends.items()})


def _kill_during_delete(config: LoadedConfig, when: str, bucket: str) -> None:
    child = subprocess.run([sys.executable, "-c", _CHILD, str(_config_path(config)), when, bucket],
                           cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                           timeout=60)
    assert child.returncode == 9, child.stderr


def test_a_delete_killed_after_the_backend_deleted_is_finished_on_restart(tmp_path: Path) -> None:
    config = _config(tmp_path)
    gateway = _gateway(config)
    gateway.create_bucket("gone")
    gateway.close()

    _kill_during_delete(config, "after", "gone")

    restarted = _gateway(config)
    assert "gone" not in restarted.list_buckets()
    with pytest.raises(BucketNotFound):
        restarted.resolve("gone")
    assert restarted.routes.pending_deletes() == {}
    restarted.create_bucket("gone")  # the name is free again
    restarted.close()


def test_a_delete_killed_before_the_backend_acted_is_rolled_back_if_objects_remain(
        tmp_path: Path) -> None:
    config = _config(tmp_path)
    gateway = _gateway(config)
    gateway.create_bucket("kept")
    gateway.put_object("kept", "rec1", [b"record"], size=6, content_type=None, metadata={},
                       expected_sha256=None)
    gateway.create_bucket("empty")
    gateway.close()

    _kill_during_delete(config, "before", "kept")
    _kill_during_delete(config, "before", "empty")

    restarted = _gateway(config)
    assert list(restarted.list_buckets()) == ["kept"]
    assert b"".join(restarted.get_object("kept", "rec1", None)) == b"record"
    assert restarted.routes.pending_deletes() == {}
    assert not restarted.store("main").bucket_exists("empty")
    restarted.close()
