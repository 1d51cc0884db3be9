"""The container path (testcontainers): one exit drill from an Azurite container to a MinIO
container. The conformance suite runs on the same containers through the rigs
`s3-minio-docker` and `azure-azurite-docker`. Everything here skips, saying why, where no Docker
engine runs."""

from __future__ import annotations

from pathlib import Path

from exit_drills.spec import Mode

from ..drills.helpers import run_engine, seed_dataset, spec
from ..rigs import Rig


def test_drill_from_azurite_container_to_minio_container(
        rig_azure_azurite_docker: Rig, rig_s3_minio_docker: Rig, tmp_path: Path) -> None:
    source, target = rig_azure_azurite_docker.store, rig_s3_minio_docker.store
    sizes = seed_dataset(source, "imaging", big=True)
    report = run_engine(spec("azure:imaging", "minio:imaging-exit"), source, target, tmp_path)
    assert report.status == "passed", report.failures
    assert report.objects.verified == len(sizes)
    check = run_engine(spec("azure:imaging", "minio:imaging-exit", Mode.verify_only),
                       source, target, tmp_path)
    assert check.status == "passed"
