"""Ed25519 signing keys for drill attestations (`sortie evidence keygen`).

The private key is a PKCS#8 PEM file readable by its owner only (0600); the public key is a PEM
SubjectPublicKeyInfo file to publish. A key is named by its fingerprint: the SHA-256 of its 32 raw
public bytes (the DSSE `keyid`), shown short as `ed25519:` and its first 16 hex digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.encryption.keys import KeyFileError, read_private, write_private

PRIVATE_NAME = "sortie-signing.key"
PUBLIC_NAME = "sortie-signing.pub"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def short_fingerprint(keyid: str) -> str:
    return f"ed25519:{keyid[:16]}"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def keyid(self) -> str:
        return key_id(self.private.public_key())

    @property
    def fingerprint(self) -> str:
        return short_fingerprint(self.keyid)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def generate(folder: Path) -> tuple[Path, Path, str]:
    """A new key pair in `folder`: (private key file, public key file, short fingerprint).
    Refuses to overwrite an existing key (a lost signing key cannot be recovered)."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / PRIVATE_NAME, folder / PUBLIC_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists: move it away or choose another folder")
    key = Ed25519PrivateKey.generate()
    write_private(private_path, key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path, SigningKey(key).fingerprint


def load_signing_key(path: Path) -> SigningKey:
    data = read_private(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"signing key {path} is not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"signing key {path} is not an Ed25519 key")
    return SigningKey(key)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise KeyFileError(f"public key {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"public key {path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"public key {path} is not an Ed25519 key")
    return key


def signature_holds(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
