"""Sortie keys <-> Azure blob names (also through libcloud's AZURE_BLOBS driver).

Azure turns `\\` into `/` in blob names (Azurite does the same, on purpose), so a key such as
`back\\slash` would come back as `back/slash`. The adapter stores a backslash as U+FF3C FULLWIDTH
REVERSE SOLIDUS, like rclone's Azure encoding, and keeps the mapping reversible by quoting a
literal U+FF3C (and a U+201B quote placed before one) with U+201B. Every other name is stored and
read unchanged, so blobs written by other tools keep their names.

Known limits: a foreign blob name containing U+201B directly followed by U+FF3C or U+201B reads
back differently (such names are vanishingly rare); and keys that differ first at a backslash
list in the order of U+FF3C, not of `\\` (Azure sorts the stored names).
"""

from __future__ import annotations

from . import MappingCodec

BACKSLASH = "\\"
REPLACEMENT = "\uff3c"  # FULLWIDTH REVERSE SOLIDUS
QUOTE = "\u201b"  # SINGLE HIGH-REVERSED-9 QUOTATION MARK
_SPECIAL = (BACKSLASH, REPLACEMENT, QUOTE)


def to_blob_name(key: str) -> str:
    if not any(c in key for c in _SPECIAL):
        return key  # the common case: unchanged, no copy
    out: list[str] = []
    for i, char in enumerate(key):
        if char == BACKSLASH:
            out.append(REPLACEMENT)
        elif char == REPLACEMENT:
            out.append(QUOTE + REPLACEMENT)
        elif char == QUOTE and i + 1 < len(key) and key[i + 1] in _SPECIAL:
            out.append(QUOTE + QUOTE)
        else:
            out.append(char)
    return "".join(out)


def from_blob_name(name: str) -> str:
    if REPLACEMENT not in name and QUOTE not in name:
        return name
    out: list[str] = []
    i = 0
    while i < len(name):
        char = name[i]
        if char == QUOTE and i + 1 < len(name) and name[i + 1] in (REPLACEMENT, QUOTE):
            out.append(name[i + 1])
            i += 2
            continue
        out.append(BACKSLASH if char == REPLACEMENT else char)
        i += 1
    return "".join(out)


#: Azure's codec: a backslash stored as U+FF3C, reversibly.
BACKSLASH_CODEC = MappingCodec(to_blob_name, from_blob_name)
