"""What the OpenAPI document promises, and OPTIONS / `Allow` as the gateway answers them."""

from __future__ import annotations

from typing import Any

import pytest

from .live import LiveGateway


@pytest.fixture(scope="module")
def schema(live_local: LiveGateway) -> dict[str, Any]:
    return live_local.client.get("/openapi.json").json()  # type: ignore[no-any-return]


def test_every_422_is_documented_as_a_problem(schema: dict[str, Any]) -> None:
    answers = [op["responses"]["422"] for item in schema["paths"].values()
               for op in item.values() if "422" in op.get("responses", {})]
    assert answers
    for answer in answers:
        assert list(answer["content"]) == ["application/problem+json"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_bucket_and_key_names_carry_their_rules(schema: dict[str, Any]) -> None:
    put = schema["paths"]["/v1/buckets/{bucket}/objects/{key}"]["put"]
    params = {p["name"]: p for p in put["parameters"] if p["in"] == "path"}
    assert params["bucket"]["schema"]["maxLength"] == 63
    assert "lowercase" in params["bucket"]["description"]
    assert "1024 bytes of UTF-8" in params["key"]["description"]


def test_conflicts_and_report_media_types_are_documented(schema: dict[str, Any]) -> None:
    bucket = schema["paths"]["/v1/buckets/{bucket}"]
    assert "409" in bucket["put"]["responses"] and "409" in bucket["delete"]["responses"]
    report = schema["paths"]["/v1/drills/{drill_id}/report"]["get"]["responses"]["200"]
    assert {"application/json", "text/html"} <= set(report["content"])


def test_options_is_documented_with_its_allow_header(schema: dict[str, Any]) -> None:
    for item in schema["paths"].values():
        assert "Allow" in item["options"]["responses"]["204"]["headers"]


@pytest.mark.parametrize("path, methods", [
    ("/v1/buckets/some-bucket", "PUT, DELETE, OPTIONS"),
    ("/v1/buckets/some-bucket/objects/a/b.dcm", "GET, HEAD, PUT, DELETE, OPTIONS"),
    ("/v1/drills", "GET, POST, OPTIONS"),
    ("/healthz", "GET, OPTIONS"),
])
def test_options_and_405_name_every_method_of_the_path(live_local: LiveGateway, path: str,
                                                       methods: str) -> None:
    answer = live_local.client.options(path)
    assert answer.status_code == 204 and answer.headers["allow"] == methods
    refused = live_local.client.request("PATCH", path)
    assert refused.status_code == 405 and refused.headers["allow"] == methods
    assert refused.headers["content-type"] == "application/problem+json"


def test_options_on_an_unknown_path_is_a_404_problem(live_local: LiveGateway) -> None:
    answer = live_local.client.options("/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
