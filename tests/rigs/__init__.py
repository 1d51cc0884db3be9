"""Rigs: one per adapter and the real server it runs against.

A rig module in this folder declares `RIG_IDS` and, for each id, a pytest fixture named
`rig_<id with - as _>` that yields a `Rig` (a ready store plus what the conformance suite needs to
drive it). tests/conftest.py discovers the modules, so a new adapter only adds its rig module here:
nothing in tests/conformance/ changes. Rigs start their real server on 127.0.0.1 and stop it
afterwards, or skip with the reason where the server cannot run on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from adapters.contract import ObjectStore

import importlib
import pkgutil
from types import ModuleType

#: Rigs run first in this order, then the others alphabetically.
_FIRST = ["local", "s3-seaweedfs", "s3-swift-s3api", "azure-azurite", "swift",
          "libcloud-local", "libcloud-azurite"]


def rig_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]


def rig_ids() -> list[str]:
    ids = {rig_id for module in rig_modules() for rig_id in getattr(module, "RIG_IDS", [])}
    return [i for i in _FIRST if i in ids] + sorted(ids - set(_FIRST))


@dataclass
class Rig:
    store: ObjectStore
    #: The same backend configured with small parts, so that a 40 MiB object goes through its
    #: multipart (blocks, segments) path; None where the backend has no such path.
    multipart_store: ObjectStore | None = None
    #: Corrupt or inspect the backend directly, bypassing the adapter (for tests that need it).
    extras: dict[str, Callable[..., object]] = field(default_factory=dict)
