"""Real S3 clients through the S3 front of a real `sortie serve`, over every backend family on its
real server (local disk, SeaweedFS, Azurite, Swift): boto3 (transfer manager with concurrent
parts, low-level multipart calls), the AWS CLI (`s3 cp` multipart, `s3 sync`, `s3api`) and
rclone (`copy`, `sync`, `check` by MD5, `lsf`), with bytes checked by hash, nothing visible
before completion, and S3's errors for a wrong part list."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from .test_clients import Front

MiB = 1024 * 1024
BACKENDS = ["local", "seaweedfs", "azurite", "swift"]


def _backend(request: pytest.FixtureRequest, kind: str,
             workdir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    if kind == "local":
        return {"type": "local", "path": str(workdir / "main")}, {}
    if kind == "seaweedfs":
        server = request.getfixturevalue("server_seaweedfs")
        return ({"type": "s3", "preset": "seaweedfs", "endpoint": server.endpoint,
                 "region": server.region, "access_key": "${MP_S3_ACCESS}",
                 "secret_key": "${MP_S3_SECRET}"},
                {"MP_S3_ACCESS": server.access_key, "MP_S3_SECRET": server.secret_key})
    if kind == "azurite":
        server = request.getfixturevalue("server_azurite")
        return ({"type": "azure", "connection_string": "${MP_AZURE}"},
                {"MP_AZURE": server.connection_string()})
    server = request.getfixturevalue("server_swift")
    return ({"type": "swift", "auth_url": server.auth_url, "auth_version": "1",
             "username": server.user, "password": "${MP_SWIFT_KEY}"},
            {"MP_SWIFT_KEY": server.key})


@pytest.fixture(scope="module", params=BACKENDS)
def front(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    workdir = tmp_path_factory.mktemp(f"s3front-{request.param}")
    backend, env = _backend(request, request.param, workdir)
    started = Front(workdir, backend, env)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def keys(front: Front) -> tuple[str, str]:
    access, secret, _ = front.credentials("--scope", "admin")
    return access, secret


@pytest.fixture(scope="module")
def s3(front: Front, keys: tuple[str, str]) -> Any:
    client = front.client(*keys)
    client.create_bucket(Bucket="imaging")
    return client


#: Key names that trip clients and backends: spaces, unicode, +, %, quotes, deep folders.
AWKWARD = ["plain.txt", "with space.dcm", "accentué/été.txt", "plus+sign&amp.bin",
           "percent%20not-encoded.txt", "quote's \"double\".txt", "deep/a/b/c/d/e.bin",
           "brackets[1](2){3}.txt", "tilde~hash#.txt"]


def _tree(root: Path) -> dict[str, str]:
    """Write a small tree of awkward names; its files' SHA-256 by relative name."""
    made = {}
    for index, name in enumerate(AWKWARD):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(1000 + index * 4099)
        path.write_bytes(data)
        # Older than their upload by far: `aws s3 sync` sends a file again when it is newer
        # than the object (stores keep whole seconds).
        os.utime(path, (time.time() - 60, time.time() - 60))
        made[name] = _sha(data)
    return made


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _sha(p.read_bytes()) for p in root.rglob("*")
            if p.is_file()}


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_boto3_transfers_in_concurrent_parts(s3: Any, tmp_path: Path) -> None:
    data = os.urandom(21 * MiB + 123)
    source = tmp_path / "series.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB,
                            max_concurrency=4)
    s3.upload_file(str(source), "imaging", "study/series 1.bin", Config=config,
                   ExtraArgs={"ContentType": "application/dicom",
                              "Metadata": {"study": "CT-42"}})
    head = s3.head_object(Bucket="imaging", Key="study/series 1.bin")
    assert head["ContentLength"] == len(data) and head["ContentType"] == "application/dicom"
    assert head["Metadata"] == {"study": "CT-42"}
    listed = s3.list_objects_v2(Bucket="imaging", Prefix="study/")["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [
        ("study/series 1.bin", len(data), head["ETag"])]
    back = tmp_path / "back.bin"
    s3.download_file("imaging", "study/series 1.bin", str(back), Config=config)
    assert _sha(back.read_bytes()) == _sha(data)
    ranged = s3.get_object(Bucket="imaging", Key="study/series 1.bin",
                           Range=f"bytes={8 * MiB - 10}-{8 * MiB + 9}")
    assert ranged["Body"].read() == data[8 * MiB - 10:8 * MiB + 10]


def test_a_single_put_has_its_md5_as_etag_everywhere(s3: Any) -> None:
    """S3 clients (rclone, SDKs checking uploads) compare a single-part object's ETag with the
    MD5 of its bytes: the same ETag from PUT, GET, HEAD, listings, and copies."""
    body = os.urandom(3 * MiB + 5)
    md5 = f'"{hashlib.md5(body).hexdigest()}"'
    assert s3.put_object(Bucket="imaging", Key="etag/one", Body=body)["ETag"] == md5
    assert s3.head_object(Bucket="imaging", Key="etag/one")["ETag"] == md5
    assert s3.get_object(Bucket="imaging", Key="etag/one")["ETag"] == md5
    listed = s3.list_objects_v2(Bucket="imaging", Prefix="etag/")["Contents"]
    assert [o["ETag"] for o in listed] == [md5]
    copied = s3.copy_object(Bucket="imaging", Key="etag/two",
                            CopySource={"Bucket": "imaging", "Key": "etag/one"})
    assert copied["CopyObjectResult"]["ETag"] == md5
    assert s3.head_object(Bucket="imaging", Key="etag/two", IfMatch=md5)["ETag"] == md5


def test_parts_in_any_order_nothing_visible_until_complete(s3: Any) -> None:
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"the last part is small"]
    started = s3.create_multipart_upload(Bucket="imaging", Key="report.bin",
                                         Metadata={"origin": "pacs"})
    upload = started["UploadId"]
    etags = {}
    for number in (3, 1, 2):
        sent = s3.upload_part(Bucket="imaging", Key="report.bin", UploadId=upload,
                              PartNumber=number, Body=parts[number - 1])
        etags[number] = sent["ETag"]
        assert sent["ETag"] == f'"{hashlib.md5(parts[number - 1]).hexdigest()}"'
    with pytest.raises(ClientError) as hidden:
        s3.head_object(Bucket="imaging", Key="report.bin")
    assert hidden.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    listed = s3.list_parts(Bucket="imaging", Key="report.bin", UploadId=upload)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [
        (1, 5 * MiB), (2, 5 * MiB), (3, len(parts[2]))]
    other = s3.create_multipart_upload(Bucket="imaging", Key="other/report.bin")["UploadId"]
    listed = s3.list_multipart_uploads(Bucket="imaging")
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [
        ("other/report.bin", other), ("report.bin", upload)]
    first = s3.list_multipart_uploads(Bucket="imaging", MaxUploads=1)
    assert first["IsTruncated"] and len(first["Uploads"]) == 1
    rest = s3.list_multipart_uploads(Bucket="imaging", KeyMarker=first["NextKeyMarker"],
                                     UploadIdMarker=first["NextUploadIdMarker"])
    assert [u["UploadId"] for u in rest["Uploads"]] == [upload]
    grouped = s3.list_multipart_uploads(Bucket="imaging", Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["other/"]
    s3.abort_multipart_upload(Bucket="imaging", Key="other/report.bin", UploadId=other)
    named = [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]
    done = s3.complete_multipart_upload(Bucket="imaging", Key="report.bin", UploadId=upload,
                                        MultipartUpload={"Parts": named})
    # A client completing again (its answer lost) gets the same answer.
    again = s3.complete_multipart_upload(Bucket="imaging", Key="report.bin", UploadId=upload,
                                         MultipartUpload={"Parts": named})
    assert again["ETag"] == done["ETag"]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="imaging")
    got = s3.get_object(Bucket="imaging", Key="report.bin")
    assert _sha(got["Body"].read()) == _sha(b"".join(parts))
    assert got["ETag"] == done["ETag"] and got["Metadata"] == {"origin": "pacs"}


def test_a_wrong_part_list_stores_nothing(s3: Any) -> None:
    s3.put_object(Bucket="imaging", Key="kept.bin", Body=b"the earlier object")
    upload = s3.create_multipart_upload(Bucket="imaging", Key="kept.bin")["UploadId"]
    small = s3.upload_part(Bucket="imaging", Key="kept.bin", UploadId=upload, PartNumber=1,
                           Body=b"too small to be followed")
    big = s3.upload_part(Bucket="imaging", Key="kept.bin", UploadId=upload, PartNumber=2,
                         Body=os.urandom(5 * MiB))
    cases = {
        "EntityTooSmall": [{"PartNumber": 1, "ETag": small["ETag"]},
                           {"PartNumber": 2, "ETag": big["ETag"]}],
        "InvalidPartOrder": [{"PartNumber": 2, "ETag": big["ETag"]},
                             {"PartNumber": 1, "ETag": small["ETag"]}],
        "InvalidPart": [{"PartNumber": 2, "ETag": small["ETag"]}],
    }
    for code, named in cases.items():
        with pytest.raises(ClientError) as refused:
            s3.complete_multipart_upload(Bucket="imaging", Key="kept.bin", UploadId=upload,
                                         MultipartUpload={"Parts": named})
        assert _code(refused.value) == code
    with pytest.raises(ClientError) as bad_md5:
        s3.upload_part(Bucket="imaging", Key="kept.bin", UploadId=upload, PartNumber=3,
                       Body=b"altered on the way",
                       ContentMD5=base64.b64encode(hashlib.md5(b"sent").digest()).decode())
    assert _code(bad_md5.value) == "BadDigest"
    assert s3.get_object(Bucket="imaging", Key="kept.bin")["Body"].read() == b"the earlier object"
    s3.abort_multipart_upload(Bucket="imaging", Key="kept.bin", UploadId=upload)
    for call in (lambda: s3.list_parts(Bucket="imaging", Key="kept.bin", UploadId=upload),
                 lambda: s3.abort_multipart_upload(Bucket="imaging", Key="kept.bin",
                                                   UploadId=upload),
                 lambda: s3.upload_part(Bucket="imaging", Key="kept.bin", UploadId="garbage",
                                        PartNumber=1, Body=b"x")):
        with pytest.raises(ClientError) as gone:
            call()
        assert _code(gone.value) == "NoSuchUpload"
    assert s3.get_object(Bucket="imaging", Key="kept.bin")["Body"].read() == b"the earlier object"


def test_upload_part_copy_by_ranges(s3: Any) -> None:
    source = os.urandom(11 * MiB + 7)
    s3.put_object(Bucket="imaging", Key="original.bin", Body=source)
    upload = s3.create_multipart_upload(Bucket="imaging", Key="assembled.bin")["UploadId"]
    named = []
    for number, start in enumerate(range(0, len(source), 5 * MiB), 1):
        end = min(start + 5 * MiB, len(source)) - 1
        copied = s3.upload_part_copy(Bucket="imaging", Key="assembled.bin", UploadId=upload,
                                     PartNumber=number, CopySource="imaging/original.bin",
                                     CopySourceRange=f"bytes={start}-{end}")
        named.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
    s3.complete_multipart_upload(Bucket="imaging", Key="assembled.bin", UploadId=upload,
                                 MultipartUpload={"Parts": named})
    got = s3.get_object(Bucket="imaging", Key="assembled.bin")["Body"].read()
    assert _sha(got) == _sha(source)


def _aws(front: Front, keys: tuple[str, str], tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1],
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials")}
    done = subprocess.run([str(Path(sys.executable).parent / "aws"), "--endpoint-url",
                           front.endpoint, *args], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_aws_cli(front: Front, keys: tuple[str, str], s3: Any, tmp_path: Path) -> None:
    big = tmp_path / "scan.bin"
    data = os.urandom(100 * MiB)
    big.write_bytes(data)
    _aws(front, keys, tmp_path, "s3", "cp", str(big), "s3://imaging/cli/scan.bin")  # multipart
    head = json.loads(_aws(front, keys, tmp_path, "s3api", "head-object", "--bucket", "imaging",
                           "--key", "cli/scan.bin"))
    assert head["ContentLength"] == len(data)
    back = tmp_path / "back.bin"
    _aws(front, keys, tmp_path, "s3", "cp", "s3://imaging/cli/scan.bin", str(back))
    assert _sha(back.read_bytes()) == _sha(data)
    tree = tmp_path / "tree"
    made = _tree(tree)
    _aws(front, keys, tmp_path, "s3", "sync", str(tree), "s3://imaging/cli/tree")
    listed = json.loads(_aws(front, keys, tmp_path, "s3api", "list-objects-v2", "--bucket",
                             "imaging", "--prefix", "cli/tree/"))
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(f"cli/tree/{n}" for n in made)
    again = _aws(front, keys, tmp_path, "s3", "sync", str(tree), "s3://imaging/cli/tree")
    assert again.strip() == ""  # nothing changed: nothing sent again
    copy = tmp_path / "copy"
    _aws(front, keys, tmp_path, "s3", "sync", "s3://imaging/cli/tree", str(copy))
    assert _hashes(copy) == made
    _aws(front, keys, tmp_path, "s3", "rm", "--recursive", "s3://imaging/cli/")
    assert "Contents" not in s3.list_objects_v2(Bucket="imaging", Prefix="cli/")


@pytest.mark.skipif(shutil.which("rclone") is None, reason="rclone not installed")
def test_rclone(front: Front, keys: tuple[str, str], s3: Any, tmp_path: Path) -> None:
    # AWS_CA_BUNDLE (set on some machines for https) makes rclone's SDK fail on plain http.
    env = {**{k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"},
           "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
           "RCLONE_CONFIG_SORTIE_TYPE": "s3", "RCLONE_CONFIG_SORTIE_PROVIDER": "Other",
           "RCLONE_CONFIG_SORTIE_ENDPOINT": front.endpoint,
           "RCLONE_CONFIG_SORTIE_ACCESS_KEY_ID": keys[0],
           "RCLONE_CONFIG_SORTIE_SECRET_ACCESS_KEY": keys[1],
           "RCLONE_CONFIG_SORTIE_REGION": "us-east-1"}

    (tmp_path / "rclone.conf").write_text("")

    def rclone(*args: str) -> str:
        done = subprocess.run(["rclone", *args], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def rclone_log(*args: str) -> str:
        done = subprocess.run(["rclone", *args], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr

    tree = tmp_path / "tree"
    made = _tree(tree)
    (tree / "big.bin").write_bytes(big := os.urandom(12 * MiB))
    made["big.bin"] = _sha(big)
    rclone("copy", str(tree), "sortie:imaging/rclone")
    listed = rclone("lsf", "-R", "--files-only", "sortie:imaging/rclone").split("\n")
    assert sorted(line for line in listed if line) == sorted(made)
    checked = rclone_log("check", str(tree), "sortie:imaging/rclone")  # by size and MD5
    assert "0 differences found" in checked and "hashes could not be checked" not in checked
    (tree / "plain.txt").unlink()
    (tree / "new.txt").write_bytes(b"added later")
    rclone("sync", str(tree), "sortie:imaging/rclone")
    back = tmp_path / "back"
    rclone("copy", "sortie:imaging/rclone", str(back))
    assert _hashes(back) == _hashes(tree)
    rclone("purge", "sortie:imaging/rclone")
