"""S3 presets as data: every file validates, facts keep their sources, settings resolve key by
key, and quirks reach the client; plus the key escaping used on file-tree servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.config import S3Backend
from adapters.contract import MiB
from adapters.errors import (AuthError, BackendError, BucketNotFound, InvalidRequest,
                             RangeNotSatisfiable, TransientError)
from adapters.presets import ComplianceFacts, Fact, PresetError, load_preset_file
from adapters.registry import build_store
from adapters.s3.errors import ClockSkewError, translate
from adapters.keys.path_escape import escape, unescape
from adapters.s3.presets import (PRESET_DIR, S3Preset, available_presets, load_preset,
                                 parse_size, resolve)
from adapters.s3.client import make_client

EXPECTED = {"aws", "ovhcloud", "scaleway", "outscale", "clever-cellar", "cloud-temple", "numspot",
            "ionos", "minio", "seaweedfs"}


def backend(**options: object) -> S3Backend:
    return S3Backend(type="s3", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))
def test_every_preset_file_validates(name: str) -> None:
    preset = load_preset_file(PRESET_DIR / f"{name}.yaml", S3Preset)
    assert preset.name == name
    quirks = preset.quirks
    assert quirks.min_part_size <= quirks.max_part_size <= quirks.max_object_size
    facts = preset.compliance
    for field in ComplianceFacts.model_fields:
        fact = getattr(facts, field)
        assert fact.value is None or fact.source, f"{name}.{field} is known but unsourced"


def test_the_required_providers_are_there() -> None:
    assert EXPECTED <= set(available_presets())


def test_unknown_stays_unknown_and_a_known_fact_needs_a_source() -> None:
    assert Fact[str]().known is False
    with pytest.raises(ValidationError, match="source"):
        Fact[str](value="FR")
    assert load_preset("ovhcloud").compliance.egress_price.value is None  # "not found" is not 0
    price = load_preset("scaleway").compliance.egress_price.value
    assert price is not None and price.currency == "EUR"
    assert price.cost(75) == 0 and price.cost(175) == pytest.approx(1.0)


def test_scaleway_resolves_with_its_1000_part_limit() -> None:
    resolved = resolve(backend(preset="scaleway"))
    assert resolved.endpoint == "https://s3.fr-par.scw.cloud"
    assert resolved.region == "fr-par" and resolved.addressing == "virtual"
    caps = resolved.quirks.capabilities()
    assert caps.max_parts == 1000
    # 1 TB in at most 1,000 parts, whole MiB, within the bounds.
    part = caps.part_size_for(10**12)
    assert part * 1000 >= 10**12 and part % MiB == 0 and part <= caps.max_part_size


def test_settings_override_the_preset_key_by_key() -> None:
    resolved = resolve(backend(preset="ovhcloud", region="sbg", addressing="path",
                               quirks={"max_parts": 500, "part_size": "16 MiB"}))
    assert resolved.endpoint == "https://s3.sbg.io.cloud.ovh.net"
    assert resolved.addressing == "path" and resolved.signature == "s3v4"
    assert resolved.quirks.max_parts == 500 and resolved.quirks.part_size == 16 * MiB
    assert resolved.quirks.max_single_put == load_preset("ovhcloud").quirks.max_single_put


def test_bad_settings_are_refused_clearly() -> None:
    with pytest.raises(PresetError, match="unknown S3 preset 'nope'"):
        resolve(backend(preset="nope"))
    with pytest.raises(PresetError, match="region 'mars-1'"):
        resolve(backend(preset="scaleway", region="mars-1"))
    with pytest.raises(PresetError, match="namespace"):
        resolve(backend(preset="cloud-temple"))
    with pytest.raises(PresetError, match="quirks"):
        resolve(backend(preset="aws", quirks={"max_partz": 3}))
    with pytest.raises(InvalidRequest, match="backend 'x'"):
        build_store("x", backend(preset="scaleway", region="mars-1"), Path.cwd())
    with pytest.raises(ValueError):
        parse_size("lots")
    assert parse_size("5 GB") == 5 * 10**9 and parse_size("1.5 MiB") == 3 * MiB // 2


def test_checksums_and_addressing_follow_the_preset() -> None:
    for name, expected in (("swift-s3api", "when_required"), ("ovhcloud", "when_required"),
                           ("seaweedfs", "when_supported"),
                           ("scaleway", "when_supported"), ("aws", "when_supported")):
        client = make_client(resolve(backend(preset=name, endpoint="http://127.0.0.1:9")))
        if name == "aws":
            client = make_client(resolve(backend(preset="aws")))
        assert client.meta.config.request_checksum_calculation == expected, name
        assert client.meta.config.response_checksum_validation == expected, name
    outscale = make_client(resolve(backend(preset="outscale")))
    assert outscale.meta.config.s3["addressing_style"] == "path"
    assert outscale.meta.endpoint_url == "https://oos.eu-west-2.outscale.com"


def test_show_masks_secrets() -> None:
    shown = resolve(backend(preset="scaleway", access_key="SCWABCDEFGHIJ",
                            secret_key="very-secret-value")).describe()
    assert "very-secret-value" not in str(shown)
    assert shown["access_key"] == "SCWA****" and shown["secret_key"] == "****"


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize("code,status,expected", [
    ("RequestTimeTooSkewed", 403, ClockSkewError),
    ("SignatureDoesNotMatch", 403, AuthError),
    ("AccessDenied", 403, AuthError),
    ("SlowDown", 503, TransientError),
    ("", 503, TransientError),
    ("NoSuchBucket", 404, BucketNotFound),
    ("InvalidRange", 416, RangeNotSatisfiable),
    ("404", 404, BackendError),  # ListBuckets answered 404: not an S3 endpoint
])
def test_error_codes_translate_to_the_contract(code: str, status: int, expected: type) -> None:
    where = {} if code == "404" else {"bucket": "x", "key": "k"}
    error = translate(_client_error(code, status), backend="b", **where)
    assert isinstance(error, expected)
    if expected is ClockSkewError:
        assert "clock" in str(error)


# ---- key escaping (quirk path_like_keys) -----------------------------------------------------

_KEY_CHARS = st.sampled_from(list("ab/./[\\ -0Z]é!"))
_KEYS = st.text(_KEY_CHARS, min_size=1, max_size=8).filter(lambda k: not k.startswith("/"))


@settings(max_examples=400, deadline=None)
@given(st.lists(_KEYS, min_size=2, max_size=12, unique=True))
def test_escaping_is_reversible_safe_and_keeps_order(keys: list[str]) -> None:
    for key in keys:
        stored = escape(key)
        assert unescape(stored) == key
        assert "//" not in stored and "\\" not in stored and not stored.endswith("/")
    assert sorted(keys) == sorted(keys, key=escape)  # str order == UTF-8 byte order


@settings(max_examples=400, deadline=None)
@given(_KEYS, _KEYS)
def test_escaped_prefixes_select_exactly_the_same_keys(key: str, other: str) -> None:
    for cut in range(len(key) + 1):
        prefix = key[:cut]
        assert other.startswith(prefix) == escape(other).startswith(escape(prefix, prefix=True))
