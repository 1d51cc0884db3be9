"""Keys as hex paths, for libcloud's LOCAL driver (names are file paths)."""

from __future__ import annotations

from . import KeyCodec


class HexPathCodec(KeyCodec):
    """For drivers whose names are file paths (LOCAL): keys as hex of their UTF-8, cut into
    directories of 200 hex digits, and ending with `.`.

    Paths cannot hold every key (`a` and `a/b`, `b/`, `a//b`, 1,024-byte keys, `..`); hex can.
    The encoding keeps byte order and prefixes: `.` < `/` < hex digits, directories are always
    exactly 200 digits and files always end with `.`, so sorting the stored paths as strings sorts
    the keys by their bytes, and a key prefix encodes to a path prefix.
    """

    SEGMENT = 200

    def _split(self, hexed: str) -> str:
        return "/".join(hexed[i:i + self.SEGMENT] for i in range(0, len(hexed), self.SEGMENT))

    def to_name(self, key: str) -> str:
        return self._split(key.encode("utf-8").hex()) + "."

    def to_prefix(self, prefix: str) -> str:
        return self._split(prefix.encode("utf-8").hex())

    def from_name(self, name: str) -> str | None:
        if not name.endswith(".") or name.startswith("."):
            return None
        try:
            return bytes.fromhex(name[:-1].replace("/", "")).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
