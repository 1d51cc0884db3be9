"""The standard headers an S3 object keeps from its PUT and gives back on GET and HEAD
(Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires): what a web
application sets so browsers cache, name and decode what it serves.

They are kept with the object as one layer entry (`sortie:http`: the values in KEPT's order,
percent-encoded, joined by `|`), so they travel with it through drills to any backend like the
rest of its metadata. A layer entry
holds at most 200 characters: longer headers are refused (400) rather than cut. The
`aws-chunked` content coding is the transfer's, not the object's: it is dropped.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import quote, unquote

ENTRY = "sortie:http"
KEPT = ("cache-control", "content-disposition", "content-encoding", "content-language",
        "expires")
#: A layer entry's longest value (adapters/metadata.py).
MAX_ENTRY = 200
#: Printable ASCII kept as is in the entry (not space, `%`, `|` or `"`).
_SAFE = "!#$&'()*+,-./:;<=>?@[]^_`{}~"


class HeadersTooLong(ValueError):
    pass


def from_request(headers: Mapping[str, str]) -> dict[str, str]:
    """The layer entry for the kept headers a request sends ({} when it sends none)."""
    kept = {name: headers[name] for name in KEPT if headers.get(name)}
    coding = [c.strip() for c in kept.get("content-encoding", "").split(",")
              if c.strip() and c.strip().lower() != "aws-chunked"]
    if coding:
        kept["content-encoding"] = ", ".join(coding)
    else:
        kept.pop("content-encoding", None)
    if not kept:
        return {}
    value = "|".join(quote(kept.get(name, ""), safe=_SAFE) for name in KEPT)
    if len(value) > MAX_ENTRY:
        raise HeadersTooLong(f"{', '.join(sorted(kept))}: too long to keep with the object "
                             f"({len(value)} characters encoded, at most {MAX_ENTRY})")
    return {ENTRY: value}


def for_response(metadata: Mapping[str, str]) -> dict[str, str]:
    """The kept headers of an object, from its metadata."""
    values = (metadata.get(ENTRY) or "").split("|")
    if len(values) != len(KEPT):
        return {}  # none, or not ours to read: give none rather than guess
    return {name: unquote(value) for name, value in zip(KEPT, values) if value}
