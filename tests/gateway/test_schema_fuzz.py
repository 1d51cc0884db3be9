"""Generated requests from the OpenAPI schema (schemathesis): bad input is a 4xx, never a 5xx,
and every error body is a problem document. A bounded number of examples per operation keeps
the run well under a minute."""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from .live import LiveGateway

#: Examples per operation and generation mode (valid, invalid); about 15 operations.
EXAMPLES = 20


@pytest.fixture(scope="module")
def fuzz_gateway(live_local: LiveGateway) -> LiveGateway:
    # One real bucket with an object, so generated requests also reach existing data.
    bucket = "fuzz-bucket"
    if live_local.client.get(f"/v1/buckets/{bucket}/objects").status_code == 404:
        assert live_local.client.put(f"/v1/buckets/{bucket}").status_code == 201
    live_local.client.put(f"/v1/buckets/{bucket}/objects/present", content=b"present")
    return live_local


def test_generated_requests_never_get_a_server_error(fuzz_gateway: LiveGateway) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9 yet: drive its hypothesis
    # strategies directly, one operation at a time.
    raw = fuzz_gateway.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=fuzz_gateway.url)
    auth = {"Authorization": f"Bearer {fuzz_gateway.admin_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    failures: list[str] = []
    calls: list[int] = []
    for operation, mode in itertools.product(operations, list(GenerationMode)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            # Keep generated requests from deleting the bucket that other examples use.
            if case.method == "DELETE" and case.path == "/v1/buckets/{bucket}":
                case.path_parameters = {"bucket": "fuzz-never-exists"}
            response = case.call(headers=auth, timeout=30)
            calls.append(response.status_code)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            # uvicorn itself answers requests that break HTTP framing (a negative Content-Length)
            # with a plain-text 400 before the app sees them: still a 4xx, but not ours to shape.
            from_server = response.content == b"Invalid HTTP request received."
            if response.status_code >= 400 and case.method != "HEAD" and not from_server:
                content_type = response.headers.get("content-type") or [""]
                assert content_type[0] == "application/problem+json", response.text
                assert {"type", "title", "status", "detail"} <= response.json().keys()

        try:
            check()
        except Unsatisfiable:
            pass  # nothing to make invalid (e.g. /healthz takes no input)
        except AssertionError as exc:
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n".join(failures)
    assert len(calls) >= 10 * len(operations), len(calls)
