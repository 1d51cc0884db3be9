"""Key-encryption keys (KEKs): each object's data key is wrapped by one, named in its metadata.

A KEK is anything with an `id`, `wrap` and `unwrap` (`KeyEncryptionKey`): a key file today; a KMS
or a PKCS#11 token can implement the same three members later without touching the layer.

Key file (`sortie keys create --out FILE`): JSON with the format, a random id (`kek-` and 16 hex
digits: it names the key in every object it wraps, so it must not change), the creation time and
the 32-byte AES key in base64; readable by its owner only (0600), refused otherwise. Data keys are
wrapped with AES Key Wrap (RFC 3394, NIST SP 800-38F), whose integrity check refuses a wrong KEK.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

FORMAT = "sortie-kek/1"
KEY_BYTES = 32


class KeyFileError(Exception):
    """A key file that cannot be used; the message says which and why."""


class WrongKey(Exception):
    """A wrapped data key that does not unwrap under this KEK."""


class KeyEncryptionKey(Protocol):
    @property
    def id(self) -> str: ...
    def wrap(self, data_key: bytes) -> bytes: ...
    def unwrap(self, wrapped: bytes) -> bytes: ...


@dataclass(frozen=True)
class FileKey:
    """A KEK held in a key file."""

    id: str
    secret: bytes

    def wrap(self, data_key: bytes) -> bytes:
        return aes_key_wrap(self.secret, data_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self.secret, wrapped)
        except (InvalidUnwrap, ValueError):
            raise WrongKey(f"the data key does not unwrap under key {self.id}") from None

    def __repr__(self) -> str:  # never the secret, in logs or tracebacks
        return f"FileKey(id={self.id!r})"


def read_private(path: Path, what: str) -> bytes:
    """The bytes of a secret file, refused when others may read it."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{what} {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{what} {path} is readable by others (mode {stat.S_IMODE(mode):o}): "
                           f"chmod 600 {path}")
    return data


def write_private(path: Path, data: bytes) -> None:
    """Create `path` (0600) with `data`; refuses to overwrite (a lost key cannot be recovered)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists: move it away or choose another name") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def create_key_file(path: Path) -> FileKey:
    key = FileKey(f"kek-{secrets.token_hex(8)}", secrets.token_bytes(KEY_BYTES))
    document = {"format": FORMAT, "id": key.id,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "key": base64.b64encode(key.secret).decode("ascii")}
    write_private(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    return key


def load_key_file(path: Path) -> FileKey:
    raw = read_private(path, "key file")
    try:
        document = json.loads(raw)
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}, expected {FORMAT!r}")
        secret = base64.b64decode(document["key"], validate=True)
        key_id = document["id"]
        if len(secret) != KEY_BYTES or not isinstance(key_id, str) or not key_id:
            raise ValueError("the key must be 32 bytes and the id a non-empty string")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyFileError(f"key file {path} is not a Sortie key file ({exc}); make one with "
                           "`sortie keys create --out FILE`") from None
    return FileKey(key_id, secret)


class Keyring:
    """The configured KEKs, by configuration name and by id (objects name the id)."""

    def __init__(self, keys: Mapping[str, KeyEncryptionKey] | None = None) -> None:
        self._by_name = dict(keys or {})
        self._by_id = {key.id: key for key in self._by_name.values()}

    @classmethod
    def from_files(cls, files: Mapping[str, Path]) -> "Keyring":
        return cls({name: load_key_file(path) for name, path in files.items()})

    def named(self, name: str) -> KeyEncryptionKey:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyFileError(f"no key named {name!r} is configured (keys: "
                               f"{', '.join(sorted(self._by_name)) or 'none'})") from None

    def by_id(self, key_id: str) -> KeyEncryptionKey | None:
        return self._by_id.get(key_id)

    def ids(self) -> Iterable[str]:
        return self._by_id.keys()
