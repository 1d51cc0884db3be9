"""Walk a bucket page by page, retrying a page on transient errors.

Pages are fetched one at a time and handed on object by object, so the engine's bounded queue
holds back the listing when the workers are busy: memory stays flat for any bucket size.
"""

from __future__ import annotations

from typing import Iterator

from adapters.contract import ObjectInfo, ObjectStore

from .retry import Retrier


def walk(store: ObjectStore, bucket: str, prefix: str, retrier: Retrier,
         backend: str) -> Iterator[ObjectInfo]:
    cursor: str | None = None
    while True:
        page = retrier.call(lambda: store.list(bucket, prefix, cursor=cursor), backend)
        yield from page.objects
        if not page.next_cursor:
            return
        cursor = page.next_cursor
