"""User metadata: one canonical form, and its lossless encoding onto each backend's rules.

Canonical form (what callers give and get back, identical on every backend):
- at most 32 entries;
- keys: 1-64 characters, an ASCII letter then letters, digits, `-` or `_`; case is kept, but two
  keys may not differ only by case; keys starting with `sortie` (any case) are reserved;
- values: strings of at most 160 UTF-8 bytes without control characters; any unicode is fine;
- keys and values together: at most 1,024 UTF-8 bytes.

Why these numbers: after encoding they fit every backend we support. S3 caps user metadata at
2 KB, Swift caps one value at 256 bytes, Azure at 8 KB in total.

Backends mangle metadata differently (S3 lowercases names, Azure forbids dashes in names, Swift
title-cases names and turns `_` into `-`, and HTTP headers carry ASCII only). So each adapter declares
its `MetadataRules` as data, and this module encodes only what would not survive:
- a key that the backend would keep as is is stored as is; any other is stored as
  `sortiek` + base32 of its UTF-8 (letters and digits survive everywhere);
- a non-empty ASCII value is stored as is; any other (empty, non-ASCII, edge spaces, or starting
  with `=?`) as an RFC 2047 encoded word `=?UTF-8?B?...?=` (Swift deletes an empty header, HTTP
  trims edge spaces, and S3 consoles can read encoded words).
Metadata written by other tools is returned as the backend gives it, decoded where it is encoded.

Layers keep their own entries on an object beside the user's, named `sortie:NAME` (NAME: lowercase
letters and digits), e.g. the encryption layer's key id and wrapped data key. A colon is never in a
user key, so the two never meet; clients cannot send them (`validate_user`), each backend stores
them as Sortie's internal entries (`sortie-NAME`), and they travel with the object's metadata
through every copy, so a drill carries an encrypted object's wrapped key with its ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Mapping

from .errors import InvalidMetadata

MAX_ENTRIES = 32
MAX_KEY_CHARS = 64
MAX_VALUE_BYTES = 160
MAX_TOTAL_BYTES = 1024
RESERVED_PREFIX = "sortie"

_CANONICAL_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PLAIN_VALUE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
_ENCODED_KEY_PREFIX = "sortiek"
#: Layers' entries: `sortie:` + a name every backend keeps as is, values of printable ASCII.
LAYER_PREFIX = RESERVED_PREFIX + ":"
_LAYER_KEY = re.compile(r"^sortie:[a-z][a-z0-9]{0,15}$")
_LAYER_VALUE = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_LAYER_ENTRIES = 8
MAX_LAYER_BYTES = 512
#: Entries the contract itself keeps (not layers): the SHA-256, and the content type where a
#: provider rewrites the one given (adapters/s3: `guesses_content_type`).
_CONTRACT_ENTRIES = frozenset({"sha256", "ctype"})
_ENCODED_WORD = re.compile(r"^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$", re.IGNORECASE)


@dataclass(frozen=True)
class MetadataRules:
    """How one backend treats metadata names and values; declared by each adapter as data."""

    #: Names the backend stores and returns unchanged (after `fold_case` is applied on read).
    native_key: re.Pattern[str]
    #: The backend does not keep the case of names (S3 lowercases, Swift title-cases).
    fold_case: bool
    #: Separator for Sortie's own keys (`sortie-sha256` or `sortie_sha256`).
    internal_separator: str = "-"
    #: False where metadata is kept as data (local JSON): nothing needs encoding.
    encode: bool = True


#: Local disk keeps metadata in JSON: nothing is lost, nothing is encoded.
JSON_RULES = MetadataRules(native_key=re.compile(r".*"), fold_case=False, encode=False)
#: S3 (AWS and compatible): names are lowercased by the server; dashes and underscores survive.
S3_RULES = MetadataRules(native_key=re.compile(r"^[a-z][a-z0-9-]*$"), fold_case=True)
#: Azure Blob: names are C# identifiers (no dash), case preserved but compared case-insensitively.
AZURE_RULES = MetadataRules(native_key=re.compile(r"^[A-Za-z][A-Za-z0-9_]*$"), fold_case=False,
                            internal_separator="_")
#: OpenStack Swift: names come back title-cased, with `_` turned into `-`.
SWIFT_RULES = MetadataRules(native_key=re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"), fold_case=True)


def is_layer_key(key: str) -> bool:
    return key.startswith(LAYER_PREFIX)


def user_entries(metadata: Mapping[str, str]) -> dict[str, str]:
    """The user's entries alone (what clients see), without the layers' `sortie:` entries."""
    return {key: value for key, value in metadata.items() if not is_layer_key(key)}


def validate_user(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata from a client: the canonical rule, and no layer entries."""
    checked = validate(metadata)
    for key in checked:
        if is_layer_key(key):
            raise InvalidMetadata(f"metadata key {key!r}: keys starting with 'sortie' are reserved")
    return checked


def validate(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Check metadata against the canonical rule (user entries) and the layers' rule (`sortie:`
    entries); return a plain dict copy."""
    if not metadata:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidMetadata("metadata must be a mapping of strings to strings")
    layer = {key: value for key, value in metadata.items()
             if isinstance(key, str) and is_layer_key(key)}
    if layer:
        _validate_layer(layer)
        metadata = {key: value for key, value in metadata.items() if key not in layer}
    checked = _validate_canonical(metadata)
    checked.update(layer)
    return checked


def _validate_layer(entries: Mapping[str, str]) -> None:
    if len(entries) > MAX_LAYER_ENTRIES:
        raise InvalidMetadata(f"{len(entries)} layer entries, the limit is {MAX_LAYER_ENTRIES}")
    total = 0
    for key, value in entries.items():
        if not _LAYER_KEY.fullmatch(key) or key[len(LAYER_PREFIX):] in _CONTRACT_ENTRIES:
            raise InvalidMetadata(f"layer entry {key!r}: use 'sortie:' and 1-16 lowercase "
                                  "letters or digits")
        if not isinstance(value, str) or not _LAYER_VALUE.fullmatch(value):
            raise InvalidMetadata(f"layer entry {key!r}: the value must be 1-200 characters of "
                                  "printable ASCII")
        total += len(key) + len(value)
    if total > MAX_LAYER_BYTES:
        raise InvalidMetadata(f"layer entries total {total} bytes, the limit is {MAX_LAYER_BYTES}")


def _validate_canonical(metadata: Mapping[str, str]) -> dict[str, str]:
    if len(metadata) > MAX_ENTRIES:
        raise InvalidMetadata(f"{len(metadata)} metadata entries, the limit is {MAX_ENTRIES}")
    seen: dict[str, str] = {}
    total = 0
    for key, value in metadata.items():
        if not isinstance(key, str) or not _CANONICAL_KEY.fullmatch(key):
            raise InvalidMetadata(
                f"metadata key {key!r}: use 1-{MAX_KEY_CHARS} characters, an ASCII letter then "
                "letters, digits, '-' or '_'")
        if key.lower().startswith(RESERVED_PREFIX):
            raise InvalidMetadata(f"metadata key {key!r}: keys starting with 'sortie' are reserved")
        if key.lower() in seen:
            raise InvalidMetadata(
                f"metadata keys {seen[key.lower()]!r} and {key!r} differ only by case; "
                "several backends cannot keep both")
        seen[key.lower()] = key
        if not isinstance(value, str):
            raise InvalidMetadata(f"metadata value of {key!r} must be a string")
        if _CONTROL.search(value):
            raise InvalidMetadata(f"metadata value of {key!r} contains control characters")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidMetadata(f"metadata value of {key!r} is not valid unicode") from None
        if size > MAX_VALUE_BYTES:
            raise InvalidMetadata(
                f"metadata value of {key!r} is {size} bytes of UTF-8, the limit is {MAX_VALUE_BYTES}")
        total += len(key) + size
    if total > MAX_TOTAL_BYTES:
        raise InvalidMetadata(
            f"metadata totals {total} bytes (keys and values), the limit is {MAX_TOTAL_BYTES}")
    return dict(metadata)


def internal_key(name: str, rules: MetadataRules) -> str:
    """The native name of one of Sortie's own entries, e.g. `sortie-sha256`."""
    return f"{RESERVED_PREFIX}{rules.internal_separator}{name}"


def encode(metadata: Mapping[str, str], rules: MetadataRules,
           internal: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Canonical (already validated) metadata plus Sortie's internal entries (those that are
    not None) -> native names/values."""
    native: dict[str, str] = {}
    for key, value in metadata.items():
        if is_layer_key(key):  # stored as Sortie's own entry, under a name every backend keeps
            native[internal_key(key[len(LAYER_PREFIX):], rules)] = value
            continue
        native[_encode_key(key, rules)] = _encode_value(value, rules)
    for name, value in (internal or {}).items():
        if value is not None:
            native[internal_key(name, rules)] = value
    return native


def decode(native: Mapping[str, str], rules: MetadataRules) -> tuple[dict[str, str], dict[str, str]]:
    """Native metadata as the backend returns it -> (metadata, the contract's internal entries):
    layers' entries come back in the metadata as `sortie:NAME`."""
    user: dict[str, str] = {}
    internal: dict[str, str] = {}
    for raw_key, raw_value in native.items():
        key = raw_key.lower() if rules.fold_case else raw_key
        lowered = key.lower().replace("_", "-")
        if lowered.startswith(_ENCODED_KEY_PREFIX) and rules.encode:
            decoded = _decode_key(key[len(_ENCODED_KEY_PREFIX):])
            if decoded is not None:
                user[decoded] = _decode_value(raw_value, rules)
                continue
        if lowered.startswith(RESERVED_PREFIX + "-"):
            name = lowered[len(RESERVED_PREFIX) + 1:]
            if name in _CONTRACT_ENTRIES:
                internal[name] = raw_value
            else:
                user[LAYER_PREFIX + name] = raw_value
            continue
        user[key] = _decode_value(raw_value, rules)
    return user, internal


def _encode_key(key: str, rules: MetadataRules) -> str:
    if not rules.encode:
        return key
    if rules.native_key.fullmatch(key):
        return key
    return _ENCODED_KEY_PREFIX + base64.b32encode(key.encode("utf-8")).decode("ascii").rstrip("=").lower()


def _decode_key(encoded: str) -> str | None:
    text = encoded.upper()
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None  # not ours after all: a foreign key that happens to start with "sortiek"


def _encode_value(value: str, rules: MetadataRules) -> str:
    return encode_word(value) if rules.encode else value


def _decode_value(value: str, rules: MetadataRules) -> str:
    if not rules.encode:
        return value
    try:
        decoded = decode_word(value)
    except ValueError:
        return value  # not ours after all: a foreign value that looks like an encoded word
    return value if decoded is None else decoded


def encode_word(value: str) -> str:
    """A value as it may travel in an HTTP header: unchanged when it is plain printable ASCII,
    else one RFC 2047 encoded word (=?UTF-8?B?...?=). Used for backends' metadata and for the
    gateway's x-sortie-meta-* headers alike."""
    if _PLAIN_VALUE.fullmatch(value) and not value.startswith("=?"):
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def decode_word(value: str) -> str | None:
    """The text of an RFC 2047 encoded word; None when `value` is not one (a plain value);
    ValueError when it looks like one but is not valid base64 of UTF-8."""
    match = _ENCODED_WORD.fullmatch(value)
    if not match:
        return None
    try:
        return base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a valid UTF-8 encoded word: {exc}") from None
