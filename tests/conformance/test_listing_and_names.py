"""Listing order, prefixes, delimiters, pagination, and the one naming rule, on every rig."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.contract import ObjectStore
from adapters.errors import InvalidName, InvalidRequest

#: Key shapes the names rule allows; every backend must store, list and return them exactly.
AWKWARD_KEYS = [
    "plain.txt",
    "with space.txt",
    "hash#sign",
    "percent%20not-decoded",
    "plus+sign",
    "question?mark",
    "ampersand&equals=",
    "semi;colon,comma",
    "quote'double\"",
    "brackets[1]{2}(3)<4>",
    "back\\slash",
    "tilde~caret^pipe|",
    "dir/sub dir/file",
    "trailing-slash/",
    "a//double-slash",
    ".hidden",
    "dots.../x..y",
    "unicode/éàçü/ñ",
    "日本語/ファイル.dcm",
    "emoji 🩻🧬.bin",
    "mixed/CASE/Key",
    "x" * 200 + "/" + "y" * 200,
    "é" * 511,  # 1,022 bytes of UTF-8
]

HOSTILE_KEYS = [
    "",
    "/leading-slash",
    "../escape",
    "a/../../etc/passwd",
    "a/./b",
    "..",
    ".",
    "nul\x00byte",
    "new\nline",
    "tab\tchar",
    "del\x7f",
    "x" * 1025,
    "é" * 513,  # 1,026 bytes
    "\udc80unpaired-surrogate",
]


def test_awkward_keys_round_trip_and_list_exactly(store: ObjectStore, bucket: str) -> None:
    for i, key in enumerate(AWKWARD_KEYS):
        store.put(bucket, key, key.encode("utf-8"), metadata={"index": str(i)})
    listed = [o.key for o in store.iter_objects(bucket)]
    assert listed == sorted(AWKWARD_KEYS, key=lambda k: k.encode("utf-8"))
    for i, key in enumerate(AWKWARD_KEYS):
        head = store.head(bucket, key)
        assert head.key == key
        assert head.metadata == {"index": str(i)}
        assert store.get(bucket, key).read() == key.encode("utf-8")
    for key in AWKWARD_KEYS:
        store.delete(bucket, key)
    assert list(store.iter_objects(bucket)) == []


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_hostile_keys_are_refused_before_any_io(store: ObjectStore, bucket: str, key: str) -> None:
    with pytest.raises(InvalidName):
        store.put(bucket, key, b"x")
    with pytest.raises(InvalidName):
        store.get(bucket, key)
    with pytest.raises(InvalidName):
        store.head(bucket, key)
    with pytest.raises(InvalidName):
        store.delete(bucket, key)
    assert list(store.iter_objects(bucket)) == []


LAYOUT = ["a.txt", "a/b.txt", "a/c/d.txt", "a/c/e.txt", "a-b", "ab/x", "b", "b/", "b/c", "c/d/e"]


@pytest.fixture
def layout(store: ObjectStore, bucket: str) -> str:
    for key in LAYOUT:
        store.put(bucket, key, b"")
    return bucket


def test_list_everything_in_byte_order(store: ObjectStore, layout: str) -> None:
    page = store.list(layout)
    assert [o.key for o in page.objects] == sorted(LAYOUT)
    assert page.common_prefixes == []
    assert page.next_cursor is None
    assert all(o.size == 0 for o in page.objects)


def test_list_with_prefix(store: ObjectStore, layout: str) -> None:
    assert [o.key for o in store.list(layout, "a/").objects] == ["a/b.txt", "a/c/d.txt", "a/c/e.txt"]
    assert [o.key for o in store.list(layout, "a").objects] == [
        "a-b", "a.txt", "a/b.txt", "a/c/d.txt", "a/c/e.txt", "ab/x"]
    assert store.list(layout, "zzz").objects == []


def test_list_with_delimiter(store: ObjectStore, layout: str) -> None:
    top = store.list(layout, delimiter="/")
    assert [o.key for o in top.objects] == ["a-b", "a.txt", "b"]
    assert top.common_prefixes == ["a/", "ab/", "b/", "c/"]
    inner = store.list(layout, "a/", delimiter="/")
    assert [o.key for o in inner.objects] == ["a/b.txt"]
    assert inner.common_prefixes == ["a/c/"]
    b = store.list(layout, "b/", delimiter="/")
    assert [o.key for o in b.objects] == ["b/", "b/c"]


def test_paginated_delimiter_listing(store: ObjectStore, layout: str) -> None:
    seen_objects: list[str] = []
    seen_prefixes: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = store.list(layout, delimiter="/", cursor=cursor, limit=2)
        assert len(page.objects) + len(page.common_prefixes) <= 2
        seen_objects += [o.key for o in page.objects]
        seen_prefixes += page.common_prefixes
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen_objects == ["a-b", "a.txt", "b"]
    assert seen_prefixes == ["a/", "ab/", "b/", "c/"]
    assert pages >= 4


def test_pagination_over_1050_keys(store: ObjectStore, bucket: str) -> None:
    keys = [f"many/{i:05d}" for i in range(1050)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: store.put(bucket, k, b""), keys))
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list(bucket, "many/", cursor=cursor, limit=400)
        assert len(page.objects) <= 400
        seen += [o.key for o in page.objects]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == keys  # no duplicate, none missing, in order
    assert [o.key for o in store.iter_objects(bucket, "many/")] == keys


def test_bad_listing_arguments(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(InvalidRequest):
        store.list(bucket, limit=0)
    with pytest.raises(InvalidRequest):
        store.list(bucket, limit=1001)
    with pytest.raises(InvalidRequest):
        store.list(bucket, delimiter="|")
    with pytest.raises(InvalidName):
        store.list(bucket, "../up")
