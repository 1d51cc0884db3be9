"""apache-libcloud adapter (`type: libcloud`): the long tail of storage providers, through any
libcloud storage driver named by its Provider constant (LOCAL, AZURE_BLOBS, GOOGLE_STORAGE...).

It honours the contract where the driver can and declares the rest in
`capabilities.unsupported` (see profiles.py). Uploads go through files, never generators
(libcloud's generator uploads mis-hash on several drivers), after Sortie has checked the SHA-256.
Prefer a native adapter (s3, azure, swift) where one exists: they list with server-side cursors,
copy server-side and upload in verified parts.
"""

from __future__ import annotations

from pathlib import Path

from ..config import LibcloudBackend
from .profiles import PROFILES, DriverProfile, profile_for
from .store import LIBCLOUD_CAPABILITIES, LibcloudStore, provider_id

__all__ = ["LibcloudStore", "LIBCLOUD_CAPABILITIES", "DriverProfile", "PROFILES", "profile_for",
           "provider_id", "from_config"]


def from_config(name: str, settings: LibcloudBackend, base_dir: Path) -> LibcloudStore:
    key = settings.key.get_secret_value() if settings.key else None
    if settings.provider.upper() == "LOCAL" and key is not None and not Path(key).is_absolute():
        key = str(base_dir / key)  # LOCAL's "key" is its root folder: relative to the config file
    spool = settings.spool_dir
    if spool is not None and not spool.is_absolute():
        spool = base_dir / spool
    return LibcloudStore(name, settings.provider, key,
                         settings.secret.get_secret_value() if settings.secret else None,
                         settings.options, spool_dir=spool)
