"""What only the local-disk adapter must prove: it never writes outside its root, and what a
crash leaves behind is never visible."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from adapters.errors import InvalidName, StorageError
from adapters.local.store import LocalStore

HOSTILE = ["../outside", "a/../../outside", "..", "/etc/passwd", "a/./b", "./a", "a/..",
           "..\x00", "x/../../../../tmp/pwned"]
ALLOWED_BUT_TRICKY = ["..%2f..%2foutside", "...", "....//", "a/.../b", "%2e%2e/x", "\\..\\..\\x",
                      "C:\\Windows\\x", "~/x", "$HOME/x", "a" * 300 + "/" + "b" * 300]


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*")}


def test_hostile_keys_never_touch_the_filesystem(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = LocalStore("local", root)
    store.create_bucket("bk1")
    before_outside = files_under(tmp_path) - files_under(root)
    for key in HOSTILE:
        with pytest.raises(InvalidName):
            store.put("bk1", key, b"x")
    for key in ALLOWED_BUT_TRICKY:
        store.put("bk1", key, key.encode())
        assert store.get("bk1", key).read() == key.encode()
    # Nothing appeared outside the root, and inside it only the bucket's own layout.
    assert files_under(tmp_path) - files_under(root) == before_outside
    top = {p.relative_to(root).parts[0] for p in files_under(root)}
    assert top == {"bk1"}
    for path in files_under(root / "bk1"):
        assert path.resolve().is_relative_to(root.resolve())
        rel = path.relative_to(root / "bk1").parts
        assert rel[0] in {"blobs", "tmp"} or rel[0].startswith("index.sqlite3"), rel


def test_interrupted_put_leaves_only_unreachable_files(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    store.create_bucket("bk1")
    store.put("bk1", "k", b"committed")

    def dies() -> object:
        yield b"half of the "
        raise KeyboardInterrupt  # the process being stopped mid-upload

    with pytest.raises(KeyboardInterrupt):
        store.put("bk1", "k", dies())
    assert store.get("bk1", "k").read() == b"committed"
    assert list(os.listdir(tmp_path / "bk1" / "tmp")) == []


def test_object_is_visible_only_once_its_index_row_commits(tmp_path: Path) -> None:
    """A blob that reached blobs/ without its index row (crash between rename and commit) is not
    an object: it is neither listed nor readable."""
    store = LocalStore("local", tmp_path)
    store.create_bucket("bk1")
    orphan = tmp_path / "bk1" / "blobs" / "ff"
    orphan.mkdir(parents=True)
    (orphan / "ff00").write_bytes(b"orphan bytes")
    assert list(store.iter_objects("bk1")) == []
    with sqlite3.connect(tmp_path / "bk1" / "index.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM objects").fetchone()[0] == 0


def test_truncated_blob_is_reported_not_served_short(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    store.create_bucket("bk1")
    store.put("bk1", "k", b"0123456789")
    blob = next(p for p in (tmp_path / "bk1" / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(b"01234")
    with pytest.raises(StorageError, match="shorter"):
        store.get("bk1", "k").read()


def test_listing_is_in_utf8_byte_order(tmp_path: Path) -> None:
    store = LocalStore("local", tmp_path)
    store.create_bucket("bk1")
    keys = ["z", "é", "Z", "a/b", "a-b", "a", "\U0001F9EC", "\uffff", "ä"]
    for key in keys:
        store.put("bk1", key, b"")
    assert [o.key for o in store.iter_objects("bk1")] == sorted(keys, key=lambda k: k.encode())
