"""The apache-libcloud family's record: any libcloud storage driver. No presets, so its provider
facts are unknown (prefer a native family where one covers the provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from ..config import LibcloudBackend
from ..contract import ObjectStore
from ..family import Family


def build(name: str, settings: LibcloudBackend, base_dir: Path,
          overrides: Mapping[str, object]) -> ObjectStore:
    from .store import LibcloudStore

    key = settings.key.get_secret_value() if settings.key else None
    if settings.provider.upper() == "LOCAL" and key is not None and not Path(key).is_absolute():
        key = str(base_dir / key)  # LOCAL's "key" is its root folder: relative to the config file
    spool = settings.spool_dir
    if spool is not None and not spool.is_absolute():
        spool = base_dir / spool
    store = LibcloudStore(name, settings.provider, key,
                          settings.secret.get_secret_value() if settings.secret else None,
                          settings.options, spool_dir=spool)
    if overrides:
        store.capabilities = store.capabilities.with_overrides(**overrides)
    return store


FAMILY = Family(type="libcloud", title="apache-libcloud driver", settings=LibcloudBackend,
                build=build, modules=("adapters.libcloud.store",))
