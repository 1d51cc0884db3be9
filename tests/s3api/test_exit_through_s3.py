"""The exit, as an S3 application sees it: a hospital's objects written through the S3 front to
Azure (Azurite), an exit drill to an S3 host (SeaweedFS), the bucket's route switched, and the
same boto3 client, unchanged, reads every object (bytes, ETag, metadata) and writes new ones,
which land on the new host. (A multipart object's ETag is the backend's own and changes with the
exit; single-part objects keep theirs, the MD5 of their bytes.) Multipart uploads started before the switch are refused as gone
rather than completed where the bucket no longer lives."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from .test_clients import SORTIE, Front

MiB = 1024 * 1024


def _bearer(front: Front) -> str:
    made = subprocess.run([*SORTIE, "token", "create", "--config", str(front.config), "--scope",
                           "admin"], capture_output=True, text=True, timeout=60, env=front.env)
    assert made.returncode == 0, made.stderr
    return next(line for line in made.stdout.split() if line.startswith("sortie_"))


def test_an_s3_application_through_the_exit(request: pytest.FixtureRequest,
                                            tmp_path: Path) -> None:
    azurite = request.getfixturevalue("server_azurite")
    seaweed = request.getfixturevalue("server_seaweedfs")
    front = Front(tmp_path, {"type": "azure", "connection_string": "${EXIT_AZURE}"},
                  {"EXIT_AZURE": azurite.connection_string(), "EXIT_S3_ACCESS": seaweed.access_key,
                   "EXIT_S3_SECRET": seaweed.secret_key},
                  others={"french-host": {"type": "s3", "preset": "seaweedfs",
                                          "endpoint": seaweed.endpoint, "region": seaweed.region,
                                          "access_key": "${EXIT_S3_ACCESS}",
                                          "secret_key": "${EXIT_S3_SECRET}"}})
    try:
        _through_the_exit(front, seaweed)
    finally:
        front.stop()


def _through_the_exit(front: Front, seaweed: Any) -> None:
    access, secret, _ = front.credentials("--scope", "admin")
    s3 = front.client(access, secret)  # the application's client: never changed below
    s3.create_bucket(Bucket="imaging-exit")
    written: dict[str, tuple[bytes, str]] = {}
    for index in range(6):
        body = os.urandom(1000 * (index + 1))
        key = f"series/{index}/slice é.dcm"
        put = s3.put_object(Bucket="imaging-exit", Key=key, Body=body,
                            Metadata={"study": f"CT-{index}"})
        written[key] = (body, put["ETag"])
    big = os.urandom(12 * MiB)
    s3.upload_fileobj(__import__("io").BytesIO(big), "imaging-exit", "series/volume.nii")
    written["series/volume.nii"] = (big, s3.head_object(Bucket="imaging-exit",
                                                        Key="series/volume.nii")["ETag"])
    pending = s3.create_multipart_upload(Bucket="imaging-exit", Key="late.bin")["UploadId"]
    time.sleep(1.1)  # the switch compares whole seconds with the drill's start

    rest = httpx.Client(base_url=f"http://127.0.0.1:{front.port}",
                        headers={"Authorization": f"Bearer {_bearer(front)}"}, timeout=120)
    route = rest.get("/v1/buckets/imaging-exit/route").json()
    assert route["backend"] == "main"
    started = rest.post("/v1/drills", json={"from": f"main:{route['physical_bucket']}",
                                            "to": "french-host:imaging-exit"})
    assert started.status_code == 202, started.text
    drill = started.json()["id"]
    deadline = time.monotonic() + 120
    while (status := rest.get(f"/v1/drills/{drill}").json())["status"] not in ("passed",
                                                                                "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert status["status"] == "passed", [f for f in rest.get(f"/v1/drills/{drill}/report").json()["failures"]][:5]
    switched = rest.put("/v1/buckets/imaging-exit/route", json={"backend": "french-host"})
    assert switched.status_code == 200, switched.text

    for key, (body, etag) in written.items():
        got = s3.get_object(Bucket="imaging-exit", Key=key)
        assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(body).digest()
        if not key.endswith(".nii"):  # single-part objects: their MD5, on every backend
            assert got["ETag"] == etag, key  # the ETag an application kept still matches
        if key.endswith(".dcm"):
            assert got["Metadata"]["study"].startswith("CT-")
    listed = s3.list_objects_v2(Bucket="imaging-exit", Prefix="series/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(written)
    s3.put_object(Bucket="imaging-exit", Key="after/exit.txt", Body=b"written after the exit")
    direct = boto3.client("s3", endpoint_url=seaweed.endpoint, region_name=seaweed.region,
                          aws_access_key_id=seaweed.access_key,
                          aws_secret_access_key=seaweed.secret_key)
    assert direct.get_object(Bucket="imaging-exit", Key="after/exit.txt")["Body"].read() == \
        b"written after the exit"
    with pytest.raises(ClientError) as gone:
        s3.upload_part(Bucket="imaging-exit", Key="late.bin", UploadId=pending, PartNumber=1,
                       Body=b"part sent after the switch")
    assert gone.value.response["Error"]["Code"] == "NoSuchUpload"
    rest.close()
