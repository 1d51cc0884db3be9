"""The canonical metadata form and its encoding onto each backend's rules.

The backends are simulated here only in what they do to names (lowercase, title-case, `_` to
`-`); the conformance suite proves the same round trip against the real servers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import metadata as md
from adapters.errors import InvalidMetadata


def s3_server(native: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in native.items()}


def swift_server(native: dict[str, str]) -> dict[str, str]:
    return {k.replace("_", "-").title(): v for k, v in native.items()}


def azure_server(native: dict[str, str]) -> dict[str, str]:
    for key in native:
        assert md.AZURE_RULES.native_key.fullmatch(key), f"Azure would refuse {key!r}"
    return dict(native)


SERVERS = [(md.S3_RULES, s3_server), (md.SWIFT_RULES, swift_server), (md.AZURE_RULES, azure_server),
           (md.JSON_RULES, dict)]

keys = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_-]{0,20}\Z").filter(
    lambda k: not k.lower().startswith("sortie"))
values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40).filter(
    lambda v: len(v.encode()) <= md.MAX_VALUE_BYTES)
metadata = st.dictionaries(keys, values, max_size=8).filter(
    lambda d: len({k.lower() for k in d}) == len(d))


@pytest.mark.parametrize("rules,server", SERVERS, ids=["s3", "swift", "azure", "json"])
@settings(max_examples=300, deadline=None)
@given(meta=metadata, digest=st.text("0123456789abcdef", min_size=64, max_size=64))
def test_round_trip_through_each_backend(rules: md.MetadataRules, server: object,
                                         meta: dict[str, str], digest: str) -> None:
    native = md.encode(md.validate(meta), rules, internal={"sha256": digest})
    assert all(v.isascii() for v in native.values()) or not rules.encode
    user, internal = md.decode(server(native), rules)  # type: ignore[operator]
    assert user == meta
    assert internal == {"sha256": digest}


def test_plain_names_stay_readable_on_the_backend() -> None:
    native = md.encode({"study": "CT", "patient-id": "42"}, md.S3_RULES, internal={"sha256": "ab"})
    assert native == {"study": "CT", "patient-id": "42", "sortie-sha256": "ab"}
    azure = md.encode({"study_id": "x"}, md.AZURE_RULES, internal={"sha256": "ab"})
    assert azure == {"study_id": "x", "sortie_sha256": "ab"}


def test_foreign_metadata_is_returned_as_the_backend_gives_it() -> None:
    user, internal = md.decode({"Content-Origin": "scanner", "x.y": "=?UTF-8?B?w6k=?="}, md.SWIFT_RULES)
    assert user == {"content-origin": "scanner", "x.y": "é"}
    assert internal == {}


@pytest.mark.parametrize("bad,reason", [
    ({"1abc": "x"}, "letter"),
    ({"has space": "x"}, "letter"),
    ({"dot.key": "x"}, "letter"),
    ({"a" * 65: "x"}, "letter"),
    ({"SortieX": "x"}, "reserved"),
    ({"Key": "a", "KEY": "b"}, "only by case"),
    ({"k": "x" * 161}, "limit is 160"),
    ({"k": "é" * 81}, "limit is 160"),
    ({"k": "line\nbreak"}, "control"),
    ({f"k{i}": "v" for i in range(33)}, "limit is 32"),
    ({f"k{i:02d}": "v" * 100 for i in range(11)}, "limit is 1024"),
    ({"k": 5}, "string"),
])
def test_invalid_metadata_is_refused_with_a_reason(bad: dict, reason: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidMetadata, match=reason):
        md.validate(bad)


@pytest.mark.parametrize("rules, server", SERVERS)
def test_layer_entries_travel_as_sortie_entries_beside_the_users(rules, server) -> None:  # type: ignore[no-untyped-def]
    given_meta = {"Study": "ünï", "sortie:kid": "kek-0123456789abcdef", "sortie:dek": "A-b_c="}
    native = md.encode(md.validate(given_meta), rules, internal={"sha256": "ab" * 32})
    user, internal = md.decode(server(native), rules)
    assert internal == {"sha256": "ab" * 32}
    assert user == given_meta


@pytest.mark.parametrize("metadata, problem", [
    ({"sortie:Kid": "x"}, "lowercase"),
    ({"sortie:sha256": "x"}, "lowercase"),  # the contract's own entry is no layer's
    ({"sortie:kid": "two words"}, "printable ASCII"),
    ({"sortie:kid": "ü"}, "printable ASCII"),
    ({f"sortie:k{i}": "v" for i in range(9)}, "layer entries"),
])
def test_layer_entries_are_checked(metadata: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidMetadata, match=problem):
        md.validate(metadata)


def test_clients_cannot_send_layer_entries() -> None:
    assert md.validate({"sortie:kid": "k"}) == {"sortie:kid": "k"}
    with pytest.raises(InvalidMetadata, match="reserved"):
        md.validate_user({"sortie:kid": "k"})
    assert md.user_entries({"a": "1", "sortie:kid": "k"}) == {"a": "1"}
