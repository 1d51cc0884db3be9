"""How a drill regroups a source's chunks into the parts of an upload session."""

from __future__ import annotations

import os

import pytest

from exit_drills.parts import _cut

DATA = os.urandom(5_000_003)


@pytest.mark.parametrize("part_size", [7, 4096, 777_777, 1 << 20, 5_000_003, 6_000_000])
@pytest.mark.parametrize("chunk_size", [1, 999, 777_777, 1 << 20])
def test_parts_hold_every_byte_in_order_at_the_part_size(part_size: int, chunk_size: int) -> None:
    if chunk_size == 1 and part_size < 4096:
        pytest.skip("5 M one-byte chunks into tiny parts: slow and says nothing more")
    chunks = (DATA[i:i + chunk_size] for i in range(0, len(DATA), chunk_size))
    parts = list(_cut(chunks, part_size))
    assert all(type(part) is bytes for part in parts)
    assert b"".join(parts) == DATA
    assert all(len(part) == part_size for part in parts[:-1])
    assert 0 < len(parts[-1]) <= part_size


def test_an_empty_object_is_one_empty_part_and_empty_chunks_add_nothing() -> None:
    assert list(_cut(iter([]), 8)) == [b""]
    assert list(_cut(iter([b"", b"abc", b"", b"de"]), 3)) == [b"abc", b"de"]
