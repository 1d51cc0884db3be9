"""S3 credentials of a token: an access key id that names the token (`SRT` + its id) and a secret
access key. SigV4 needs the secret itself on the server, so it is kept sealed (AES-GCM, the
token's id as associated data) under a key file readable by its owner only (`s3_api.secrets_key`,
made on first use; every replica needs the same file). The secret is printed once, never logged,
never audited; revoking the token revokes its S3 credentials."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.encryption.keys import FileKey, KeyFileError, create_key_file, load_key_file

PREFIX = "SRT"


def access_key_of(token_id: str) -> str:
    return PREFIX + token_id.upper()


def token_id_of(access_key: str) -> str | None:
    if not access_key.startswith(PREFIX) or len(access_key) != len(PREFIX) + 12:
        return None
    return access_key[len(PREFIX):].lower()


def sealing_key(path: Path, create: bool = False) -> FileKey:
    if create and not path.exists():
        try:
            return create_key_file(path)
        except KeyFileError:
            pass  # made meanwhile by another process: read it
    return load_key_file(path)


def new_secret() -> str:
    return secrets.token_urlsafe(30)


def seal(key: FileKey, token_id: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key.secret).encrypt(nonce, secret.encode("utf-8"), token_id.encode())
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(key: FileKey, token_id: str, sealed: str) -> str | None:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(key.secret).decrypt(raw[:12], raw[12:], token_id.encode()).decode("utf-8")
    except (InvalidTag, ValueError):
        return None
