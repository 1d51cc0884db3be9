"""The stack's own configuration (deploy/sortie.yaml) against real servers on this machine: an
Azurite started with the stack's AZURITE_ACCOUNTS (not the emulator's default account), the
session's SeaweedFS, and the scheduled drill `imaging-exit` run once. Only the host names of the
compose network are mapped to loopback ports; the file itself is used as shipped."""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values

from adapters import build_store
from exit_drills.schedule import run_scheduled
from service.config import parse

from ..drills.helpers import seed_dataset
from ..servers.azurite import start_azurite
from ..servers.dask import start_dask
from ..servers.seaweedfs import SeaweedServer

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "sortie.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "sortie.env.example"


def test_the_stack_configuration_runs_its_drill(server_seaweedfs: SeaweedServer,
                                                tmp_path: Path) -> None:
    env = {k: v or "" for k, v in dotenv_values(ENV_EXAMPLE).items()}
    (tmp_path / "azurite").mkdir()
    azurite = start_azurite(tmp_path / "azurite", env={"AZURITE_ACCOUNTS": env["AZURITE_ACCOUNTS"]})
    try:
        env["AZURE_CONNECTION_STRING"] = env["AZURE_CONNECTION_STRING"].replace(
            "http://azurite:10000", f"http://127.0.0.1:{azurite.port}")
        env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"] = (server_seaweedfs.access_key,
                                                      server_seaweedfs.secret_key)
        text = CONFIG.read_text().replace("http://seaweedfs:8333", server_seaweedfs.endpoint)
        text = text.replace("/home/sortie/data/state", str(tmp_path / "state"))
        # The stack's Dask cluster, for real: a scheduler and workers with the stack's secrets
        # in their environment (and none in the tasks).
        cluster = start_dask(tmp_path, {k: env[k] for k in ("AZURE_CONNECTION_STRING",
                                                            "S3_ACCESS_KEY", "S3_SECRET_KEY")})
        text = text.replace("tcp://dask-scheduler:8786", cluster.address)
        loaded = parse(text, source=str(CONFIG), base_dir=tmp_path, environ=env)
        backends = loaded.settings.backends
        azure = build_store("azure", backends["azure"], tmp_path)
        try:
            sizes = seed_dataset(azure, "imaging", big=False)
        finally:
            azure.close()
        (schedule,) = loaded.settings.drills
        try:
            report = run_scheduled(schedule, backends, base_dir=tmp_path,
                                   state_dir=loaded.state_dir, secret_refs=loaded.secret_refs)
        finally:
            cluster.stop()
        assert report is not None
        assert report.status == "passed", report.failures
        assert report.objects.verified == len(sizes)
        # The drill's copy is on the sovereign host, under the bucket the stack names.
        s3 = build_store("sovereign-s3", backends["sovereign-s3"], tmp_path)
        try:
            assert sorted(o.key for o in s3.iter_objects("imaging-exit")) == sorted(sizes)
            for o in list(s3.iter_objects("imaging-exit")):
                s3.delete("imaging-exit", o.key)
            s3.delete_bucket("imaging-exit")
        finally:
            s3.close()
    finally:
        azurite.process.stop()
