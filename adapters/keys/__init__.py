"""Key codecs: how a Sortie key becomes a backend's object name and back, where the backend
cannot store every key as it is. One interface for every family:

- `Plain`: stored as it is (most backends);
- `BACKSLASH_CODEC` (backslash.py): Azure and its libcloud driver turn `\\` into `/`;
- `PATH_ESCAPE` (path_escape.py): S3 servers that keep keys as file paths (SeaweedFS);
- `HexPathCodec` (hex_path.py): libcloud's LOCAL driver, whose names are file paths.

Each keeps listing order and prefixes, so listings can stay server-side.
"""

from __future__ import annotations

from typing import Callable


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


class MappingCodec(KeyCodec):
    """A codec from a pair of functions (and, where prefixes encode differently, a third)."""

    enabled = True

    def __init__(self, encode: Callable[[str], str], decode: Callable[[str], str],
                 encode_prefix: Callable[[str], str] | None = None) -> None:
        self._encode, self._decode = encode, decode
        self._encode_prefix = encode_prefix or encode

    def to_name(self, key: str) -> str:
        return self._encode(key)

    def to_prefix(self, prefix: str) -> str:
        return self._encode_prefix(prefix)

    def from_name(self, name: str) -> str:
        return self._decode(name)


PLAIN = KeyCodec()

__all__ = ["KeyCodec", "MappingCodec", "PLAIN"]
