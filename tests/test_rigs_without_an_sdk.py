"""One optional SDK missing must not break the collection: its rigs skip and say why."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Runs in a fresh interpreter where `azure` (the Azure SDK) cannot be imported.
PROBE = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "azure" or name.startswith("azure."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
from tests.rigs import rig_ids, rig_modules
modules = {m.__name__.rsplit('.', 1)[1]: m for m in rig_modules()}
print("ids", sorted(rig_ids()))
print("azure-fixture", hasattr(modules["azure"], "rig_azure_azurite"))
print("s3-real", hasattr(modules["s3"], "seaweed_store"))
"""


def test_rigs_of_a_missing_sdk_become_skipping_fixtures() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'azure-azurite'" in done.stdout and "'s3-seaweedfs'" in done.stdout
    assert "azure-fixture True" in done.stdout
    assert "s3-real True" in done.stdout
