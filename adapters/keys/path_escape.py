"""Key escaping for S3 servers that store keys as file paths (quirk `path_like_keys`).

SeaweedFS, for one, keeps objects in a file tree: "a//b" and "a/b" are the same object, "a\\b"
and "a/b" too, and a key ending in "/" becomes a directory that loses its bytes and metadata.
Sortie's names rule allows all of these as distinct keys, so on such servers keys are escaped on
the way in and unescaped on the way out:

    "["                  -> "[0"   (the escape character itself)
    "\\"                 -> "[1"
    right after a "/":
      end of the key     -> " 0"   (so "a/" is stored as the file "a/ 0")
      " "                -> " 1"
      "."                -> ".0"
      "/"                -> ".1/"  (an empty path segment)

Why this shape: the mapping works character by character, the codes possible at one position
are prefix-free, and they are ordered like what they stand for (end of key < " " < "!"; "." <
"/" so ".0" < ".1/", both between "-" and "0"; "[0" < "[1", between "Z" and "]"). So:
- listing order is preserved (S3 lists in byte order of the escaped keys, which is the byte order
  of the original keys);
- a prefix escapes to a prefix of exactly the keys it covers, and "/" stays where it was, so
  prefix and delimiter listings work server-side unchanged.
Prefixes are escaped without the end-of-key code. Keys without "[", "\\", "//", "/.", "/ " or a
trailing "/" are stored as they are, readable by other tools under the same name.
"""

from __future__ import annotations

from . import MappingCodec


def escape(key: str, *, prefix: bool = False) -> str:
    out: list[str] = []
    after_slash = False
    for char in key:
        if char == "[":
            out.append("[0")
        elif char == "\\":
            out.append("[1")
        elif after_slash and char == "/":
            out.append(".1/")
        elif after_slash and char == ".":
            out.append(".0")
        elif after_slash and char == " ":
            out.append(" 1")
        else:
            out.append(char)
        after_slash = char == "/"
    if after_slash and not prefix:
        out.append(" 0")
    return "".join(out)


def unescape(stored: str) -> str:
    """The inverse of `escape`; a key written by another tool that is not a valid escape is
    returned as it is (it can still be read, though not always under its own name)."""
    out: list[str] = []
    i, after_slash, n = 0, False, len(stored)
    while i < n:
        char = stored[i]
        nxt = stored[i + 1] if i + 1 < n else ""
        if char == "[" and nxt in ("0", "1"):
            out.append("[" if nxt == "0" else "\\")
            i += 2
            after_slash = False
        elif after_slash and char == "." and nxt == "0":
            out.append(".")
            i += 2
            after_slash = False
        elif after_slash and char == "." and nxt == "1" and stored[i + 2:i + 3] == "/":
            out.append("/")
            i += 3
            after_slash = True
        elif after_slash and char == " " and nxt == "1":
            out.append(" ")
            i += 2
            after_slash = False
        elif after_slash and char == " " and nxt == "0" and i + 2 == n:
            i += 2  # end of a key that ends with "/"
        else:
            out.append(char)
            i += 1
            after_slash = char == "/"
    return "".join(out)


#: For S3 servers with the `path_like_keys` quirk.
PATH_ESCAPE = MappingCodec(escape, unescape, lambda prefix: escape(prefix, prefix=True))
