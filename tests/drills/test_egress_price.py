"""The egress price in a drill's projection comes from the source backend's provider facts, as
the registry gives them: a drill from Azurite (preset `azure`, named or the default) prices at the
Azure preset's figure, from S3 and Swift at their preset's (or says unknown, naming the preset),
from a local disk at 0 with its note. Drills run through `run_drill`, as the CLI runs them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.config import AzureBackend, LocalBackend, S3Backend, SwiftBackend
from adapters.registry import build_store
from exit_drills.runner import run_drill
from tests.conftest import empty_and_delete

from .helpers import report_of, seed_dataset, spec


def _drill_from(settings: Any, tmp_path: Path) -> dict[str, Any]:
    """Seed a few objects on `settings`' backend, drill them to a local disk, return report.json."""
    backends = {"src": settings, "dst": LocalBackend(type="local", path=tmp_path / "dst")}
    store = build_store("src", settings, tmp_path)
    bucket = f"price-{uuid.uuid4().hex[:12]}"
    try:
        seed_dataset(store, bucket, big=False, extra=2)
        folder = tmp_path / "report"
        report = run_drill(spec(f"src:{bucket}", f"dst:{bucket}"), backends, base_dir=tmp_path,
                           state_dir=tmp_path / "state", report_dir=folder)
        assert report.status == "passed", report.failures
        return report_of(folder)["projection"]  # type: ignore[no-any-return]
    finally:
        empty_and_delete(store, bucket)
        store.close()


@pytest.mark.parametrize("preset", [None, "azure"], ids=["default-preset", "named-preset"])
def test_a_drill_from_azure_prices_egress_at_the_azure_preset(
        preset: str | None, server_azurite: Any, tmp_path: Path) -> None:
    settings = AzureBackend(type="azure", connection_string=server_azurite.connection_string(),
                            preset=preset)  # type: ignore[arg-type]
    projection = _drill_from(settings, tmp_path)
    assert projection["egress_price_per_gb"] == 0.087
    assert projection["egress_currency"] == "USD"
    assert isinstance(projection["egress_cost"], float)
    assert "azure.microsoft.com/en-us/pricing/details/bandwidth" in projection["price_source"]
    if preset is None:
        assert "default preset 'azure'" in projection["price_source"]


def test_a_drill_from_s3_prices_egress_at_its_preset(server_seaweedfs: Any,
                                                     tmp_path: Path) -> None:
    # SeaweedFS answers for a provider whose preset publishes a price (Scaleway's).
    settings = S3Backend(type="s3", preset="scaleway", endpoint=server_seaweedfs.endpoint,
                         region=server_seaweedfs.region, addressing="path",
                         access_key=server_seaweedfs.access_key,  # type: ignore[arg-type]
                         secret_key=server_seaweedfs.secret_key)  # type: ignore[arg-type]
    projection = _drill_from(settings, tmp_path)
    assert projection["egress_price_per_gb"] == 0.01
    assert projection["egress_currency"] == "EUR"
    assert "75 GB a month are free" in projection["price_source"]


def test_a_drill_from_an_s3_preset_without_a_price_says_unknown(server_seaweedfs: Any,
                                                                tmp_path: Path) -> None:
    settings = S3Backend(type="s3", preset="seaweedfs", endpoint=server_seaweedfs.endpoint,
                         region=server_seaweedfs.region,
                         access_key=server_seaweedfs.access_key,  # type: ignore[arg-type]
                         secret_key=server_seaweedfs.secret_key)  # type: ignore[arg-type]
    projection = _drill_from(settings, tmp_path)
    assert projection["egress_price_per_gb"] == "unknown"
    assert projection["egress_cost"] == "unknown"
    assert "'seaweedfs' preset publishes no egress price" in projection["price_source"]


def test_a_drill_from_swift_takes_its_preset_facts(server_swift: Any, tmp_path: Path) -> None:
    settings = SwiftBackend(type="swift", preset="ovhcloud", auth_url=server_swift.auth_url,
                            auth_version="1", username=server_swift.user,
                            password=server_swift.key)  # type: ignore[arg-type]
    projection = _drill_from(settings, tmp_path)
    # OVHcloud's Swift preset records its egress price as not found: unknown, never 0.
    assert projection["egress_price_per_gb"] == "unknown"
    assert "'ovhcloud' preset publishes no egress price" in projection["price_source"]


def test_a_drill_from_a_local_disk_costs_no_egress(tmp_path: Path) -> None:
    projection = _drill_from(LocalBackend(type="local", path=tmp_path / "src"), tmp_path)
    assert projection["egress_price_per_gb"] == 0.0
    assert projection["egress_cost"] == 0.0
    assert "local disk: no provider, so no egress charge" in projection["price_source"]
