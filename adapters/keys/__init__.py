"""Key codecs: how a Sortie key becomes a backend's object name and back, where the backend
cannot store every key as it is. One interface for every family:

- `Plain`: stored as it is (most backends);
- `BackslashCodec` (backslash.py): Azure and its libcloud driver turn `\\` into `/`;
- `PathEscapeCodec` (path_escape.py): S3 servers that keep keys as file paths (SeaweedFS);
- `HexPathCodec` (hex_path.py): libcloud's LOCAL driver, whose names are file paths.

Each keeps listing order and prefixes, so listings can stay server-side.
"""

from __future__ import annotations


class KeyCodec:
    """Keys stored under their own name (the common case); subclasses change what they must."""

    #: Whether names differ from keys at all (some listings take a slower path then).
    enabled = False

    def to_name(self, key: str) -> str:
        return key

    def to_prefix(self, prefix: str) -> str:
        return prefix

    def from_name(self, name: str) -> str | None:
        """The key of a stored name; None for names that are not keys (skipped in listings)."""
        return name


PLAIN = KeyCodec()

__all__ = ["KeyCodec", "PLAIN"]
