"""The docker-compose stack: the file validates, and everything the configuration refers to exists
in it. No Docker engine is needed for these checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from dotenv import dotenv_values

from adapters.config import AzureBackend, S3Backend
from service.config import parse

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CONFIG = ROOT / "deploy" / "sortie.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "sortie.env.example"
SECRET_WORDS = re.compile(r"(key|secret|password|token|connection)", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return {k: v or "" for k, v in dotenv_values(ENV_EXAMPLE).items()}


def test_compose_file_validates() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (make test installs it as root on Debian)")
    ok = subprocess.run([binary, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    # Without the variables it must refuse rather than start with empty secrets.
    missing = subprocess.run([binary, "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                             text=True, timeout=60, cwd=ROOT / "deploy")
    assert missing.returncode != 0
    assert "set it in .env" in missing.stderr


def test_configuration_loads_with_the_example_environment(example_env: dict[str, str]) -> None:
    loaded = parse(CONFIG.read_text(), source=str(CONFIG), base_dir=CONFIG.parent,
                   environ=example_env)
    assert {d.name for d in loaded.settings.drills} == {"imaging-exit"}
    assert loaded.settings.buckets["imaging"].backend == "azure"


def test_every_service_the_configuration_refers_to_exists(compose: dict,  # type: ignore[type-arg]
                                                          example_env: dict[str, str]) -> None:
    services = compose["services"]
    loaded = parse(CONFIG.read_text(), source=str(CONFIG), base_dir=CONFIG.parent,
                   environ=example_env)
    hosts: set[str] = set()
    for name, backend in loaded.settings.backends.items():
        if isinstance(backend, S3Backend):
            assert backend.endpoint, name
            hosts.add(urlparse(backend.endpoint).hostname or "")
        elif isinstance(backend, AzureBackend):
            assert backend.connection_string is not None, name
            fields = dict(part.split("=", 1) for part in
                          backend.connection_string.get_secret_value().strip(";").split(";"))
            hosts.add(urlparse(fields["BlobEndpoint"]).hostname or "")
            # The account Sortie uses is the one Azurite is told to create.
            account = example_env["AZURITE_ACCOUNTS"].split(":")[0]
            assert fields["AccountName"] == account
            assert fields["AccountKey"] == example_env["AZURITE_ACCOUNTS"].split(":", 1)[1]
    assert hosts == {"azurite", "seaweedfs"}
    assert hosts <= set(services)
    # The replicas' shared state is the stack's PostgreSQL, its schema migrated before they start.
    assert urlparse(loaded.settings.state.url or "").hostname == "postgres"
    assert "migrate" in services["state-migrate"]["command"]
    for runner, command in (("gateway", "serve"), ("gateway-2", "serve"),
                            ("scheduler", "scheduler"), ("state-migrate", "state")):
        service = services[runner]
        assert command in service["command"]
        assert "./deploy/sortie.yaml:/etc/sortie/sortie.yaml:ro" in service["volumes"]
        assert service["environment"]["SORTIE_CONFIG"] == "/etc/sortie/sortie.yaml"
        for dependency, condition in service["depends_on"].items():
            assert dependency in services
            if dependency == "state-migrate":
                assert condition == {"condition": "service_completed_successfully"}
                continue
            assert condition == {"condition": "service_healthy"}
            assert "healthcheck" in services[dependency]
    # Every variable the configuration references is passed to the containers that load it.
    referenced = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", CONFIG.read_text()))
    assert referenced <= set(services["gateway"]["environment"])
    assert referenced <= set(example_env)


def test_no_secret_is_written_in_the_compose_file(compose: dict) -> None:  # type: ignore[type-arg]
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_WORDS.search(key):
                assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:\?[^}]*)?\}", str(value)), (name, key)
    for name, service in compose["services"].items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), (name, mapping)
    assert set(compose["volumes"]) == {"sortie-state", "postgres-data", "azurite-data",
                                       "seaweedfs-data"}


def test_drill_workers_get_the_dask_settings_sortie_gives_its_own(compose: dict) -> None:  # type: ignore[type-arg]
    """The compose stack's Dask processes run with the settings a LocalCluster of Sortie gets
    (no profiler, short message logs, no 20 ms loop checks), so they cannot drift apart."""
    from exit_drills.distributed import WORKER_ENV

    worker = compose["services"]["drill-worker"]["environment"]
    assert {k: str(worker.get(k)) for k in WORKER_ENV} == WORKER_ENV
    scheduler = compose["services"]["dask-scheduler"]["environment"]
    wanted = {k: v for k, v in WORKER_ENV.items() if "__ADMIN__" in k}
    assert {k: str(scheduler.get(k)) for k in wanted} == wanted
