from __future__ import annotations

import pytest

from adapters.errors import InvalidName
from adapters.names import check_bucket, check_key, check_prefix


@pytest.mark.parametrize("name", ["abc", "a-b-c", "0day", "x" * 63, "health-data-2026"])
def test_valid_buckets(name: str) -> None:
    assert check_bucket(name) == name


@pytest.mark.parametrize("name", ["ab", "x" * 64, "Abc", "a_b", "a.b", "a--b", "-ab", "ab-", "a b", 3])
def test_invalid_buckets(name: object) -> None:
    with pytest.raises(InvalidName, match="bucket"):
        check_bucket(name)


def test_key_limit_is_counted_in_utf8_bytes() -> None:
    assert check_key("é" * 512)  # exactly 1,024 bytes
    with pytest.raises(InvalidName, match="1025 bytes"):
        check_key("é" * 512 + "x")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/.", "a/..", "dir/sub dir/", "é"])
def test_valid_prefixes(prefix: str) -> None:
    assert check_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/a", "../", "a/../", "x\x00", "\udc80"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidName):
        check_prefix(prefix)
