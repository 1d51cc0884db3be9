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

import ast
import importlib
import os
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

from adapters.contract import ObjectStore

#: Rigs run first in this order, then the others alphabetically.
_FIRST = ["local", "local-serving", "s3-seaweedfs", "s3-swift-s3api", "azure-azurite", "swift",
          "libcloud-local", "libcloud-azurite"]


def rig_modules() -> list[ModuleType]:
    return [_load(info.name) for info in pkgutil.iter_modules(__path__)
            if not info.name.startswith("_")]


def _load(name: str) -> ModuleType:
    """The rig module, or, when an optional SDK it needs is not installed, a stand-in whose
    fixtures skip and say why: one missing SDK must not break the collection of every test."""
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("adapters", "tests"):
            raise  # our own code is broken: say so, do not skip
        return _skipping(name, f"rig {name}: {exc.name} is not installed ({exc})")


def _skipping(name: str, reason: str) -> ModuleType:
    module = ModuleType(f"{__name__}.{name}")
    ids = _declared_ids(Path(__path__[0]) / f"{name}.py")
    module.RIG_IDS = ids  # type: ignore[attr-defined]

    def skip() -> None:
        pytest.skip(reason)

    for rig_id in ids:
        fixture_name = "rig_" + rig_id.replace("-", "_")
        setattr(module, fixture_name, pytest.fixture(scope="session", name=fixture_name)(skip))
    return module


def _declared_ids(path: Path) -> list[str]:
    """RIG_IDS read from the module's source, since the module itself cannot be imported."""
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RIG_IDS"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def rig_ids() -> list[str]:
    """Every rig; `SORTIE_ENCRYPTED_RIGS=0` leaves out the rigs through the encryption layer and
    `=only` keeps only them (`make test` and `make test-encrypted` split the suite that way)."""
    ids = {rig_id for module in rig_modules() for rig_id in getattr(module, "RIG_IDS", [])}
    choice = os.environ.get("SORTIE_ENCRYPTED_RIGS", "1")
    if choice == "0":
        ids = {i for i in ids if not i.endswith("-encrypted")}
    elif choice == "only":
        ids = {i for i in ids if i.endswith("-encrypted")}
    return [i for i in _FIRST if i in ids] + sorted(ids - set(_FIRST))


@dataclass
class Rig:
    store: ObjectStore
    #: The same backend configured with small parts, so that a 40 MiB object goes through its
    #: multipart (blocks, segments) path; None where the backend has no such path.
    multipart_store: ObjectStore | None = None
    #: Corrupt or inspect the backend directly, bypassing the adapter (for tests that need it).
    extras: dict[str, Callable[..., object]] = field(default_factory=dict)
