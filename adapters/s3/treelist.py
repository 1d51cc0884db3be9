"""Listing in S3's byte order on servers that keep keys as a file tree (quirk `path_like_keys`).

Such servers (SeaweedFS) list a directory's entries by name and walk into a sub-directory where
its name sorts, so "a/b" comes before "a-b" although "-" < "/". Sortie promises S3's order, so on
these servers listings are rebuilt here from one-level (delimiter "/") listings:
- a delimited listing is one level, re-sorted with sub-directories keyed as "name/", leaving
  out directories that no longer hold any object (the server keeps them after deletes);
- a full listing walks the tree depth-first in that order.
The cursor is the last key (or common prefix) returned. Memory is bounded by the largest single
directory, never by the bucket; resuming re-reads the directories on the cursor's path, so very
large flat directories cost more on these servers than on real S3.
"""

from __future__ import annotations

from typing import Callable, Iterator

from ..contract import ListPage, ObjectInfo
from ..errors import InvalidRequest
from ..listing import decode_cursor, encode_cursor

#: fetch(prefix, continuation token) -> (objects, common prefixes, next token), keys unescaped.
Fetch = Callable[[str, str | None], tuple[list[ObjectInfo], list[str], str | None]]
Entry = tuple[str, ObjectInfo | None]  # (key or common prefix, info; None for a prefix)


class TreeLister:
    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch

    def level(self, prefix: str) -> list[Entry]:
        """Every object and sub-directory directly under `prefix`, in byte order."""
        entries: list[Entry] = []
        token: str | None = None
        while True:
            objects, prefixes, token = self.fetch(prefix, token)
            entries += [(o.key, o) for o in objects] + [(p, None) for p in prefixes]
            if not token:
                break
        # str order is code-point order, which is the byte order of UTF-8.
        entries.sort(key=lambda entry: entry[0])
        return entries

    def page(self, prefix: str, delimiter: str | None, cursor: str | None,
             limit: int) -> ListPage:
        after = decode_cursor(cursor)[0] if cursor else None
        if after is not None and not after.startswith(prefix):
            raise InvalidRequest("cursor does not belong to this listing")
        source: Iterator[Entry]
        if delimiter:
            # Such servers also keep directories whose objects were all deleted: a common
            # prefix is only reported if some object still lies under it.
            source = (e for e in self.level(prefix) if (after is None or e[0] > after)
                      and (e[1] is not None or self._has_objects(e[0])))
        else:
            source = ((info.key, info) for info in self._walk(prefix, after))
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: str | None = None
        for key, info in source:
            if len(objects) + len(prefixes) == limit:
                assert last is not None
                return ListPage(objects, prefixes, encode_cursor(last, False))
            if info is None:
                prefixes.append(key)
            else:
                objects.append(info)
            last = key
        return ListPage(objects, prefixes, None)

    def _has_objects(self, prefix: str) -> bool:
        return next(self._walk(prefix, None), None) is not None

    def _walk(self, prefix: str, after: str | None) -> Iterator[ObjectInfo]:
        for key, info in self.level(prefix):
            if info is not None:
                if after is None or key > after:
                    yield info
            # A sub-tree lies wholly at or before the cursor when the cursor is past its prefix
            # and not inside it.
            elif after is None or not (after > key and not after.startswith(key)):
                yield from self._walk(key, after)
