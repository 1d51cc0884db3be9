"""Real S3 clients against the S3 front of a real `sortie serve`: boto3 as shipped (SigV4,
aws-chunked bodies with CRC32 trailers, paginators, presigned URLs) and the MinIO client library,
with bytes checked by hash; the refusals (wrong secret, revoked key, expired URL, tampered
payload, scopes) as S3 XML errors, and every request in the audit log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.servers.process import free_port

SORTIE = [sys.executable, "-m", "service"]
#: Buckets are also addressed as BUCKET.s3.sortie.test (the test sends those requests to
#: 127.0.0.1 with that Host: no name resolution needed).
VIRTUAL_HOST_BASE = "s3.sortie.test"


class Front:
    def __init__(self, workdir: Path, backend: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None,
                 others: dict[str, dict[str, Any]] | None = None) -> None:
        self.workdir = workdir
        self.config = workdir / "sortie.yaml"
        self.env = {**os.environ, **(env or {})}
        self.config.write_text(yaml.safe_dump({
            "backends": {"main": backend or {"type": "local", "path": str(workdir / "main")},
                         **(others or {})},
            "state_dir": str(workdir / "state"), "default_backend": "main",
            "s3_api": {"virtual_host_base": VIRTUAL_HOST_BASE}}))
        self.port, self.s3_port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.log = open(workdir / "serve.log", "wb")
        self.process = subprocess.Popen([*SORTIE, "serve", "--config", str(self.config),
                                         "--port", str(self.port), "--s3-port",
                                         str(self.s3_port)], stdout=self.log,
                                        stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                httpx.get(self.endpoint, timeout=1)
                break
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / "serve.log").read_text()[-3000:])
                time.sleep(0.1)

    def credentials(self, *args: str) -> tuple[str, str, str]:
        made = subprocess.run([*SORTIE, "token", "create", "--config", str(self.config), "--s3",
                               *args], capture_output=True, text=True, timeout=60, env=self.env)
        assert made.returncode == 0, made.stderr
        lines = dict(line.split(": ", 1) for line in made.stdout.splitlines() if ": " in line)
        token_id = made.stderr.split("token ")[1].split()[0]
        return lines["access_key_id"], lines["secret_access_key"], token_id

    def client(self, access: str, secret: str, **config: Any) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=access,
                            aws_secret_access_key=secret, region_name="us-east-1",
                            config=Config(retries={"max_attempts": 1}, **config))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)
        self.log.close()


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    started = Front(tmp_path_factory.mktemp("s3front"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def admin(front: Front) -> tuple[str, str, str]:
    return front.credentials("--scope", "admin")


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_boto3_as_shipped(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="scans")
    s3.create_bucket(Bucket="scans")  # again: as S3 in us-east-1, nothing changes
    body = os.urandom(3 * 1024 * 1024 + 17)
    put = s3.put_object(Bucket="scans", Key="ct/0001 é.dcm", Body=body,
                        ContentType="application/dicom", Metadata={"study": "S-42"})
    # The ETag is the body's MD5 (what S3 clients compare), everywhere; Sortie's SHA-256 is
    # given beside it.
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket="scans", Key="ct/0001 é.dcm")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/dicom" and got["Metadata"]["study"] == "S-42"
    ranged = s3.get_object(Bucket="scans", Key="ct/0001 é.dcm", Range="bytes=100-199")
    assert ranged["Body"].read() == body[100:200] and ranged["ContentRange"].startswith("bytes 100-")
    head = s3.head_object(Bucket="scans", Key="ct/0001 é.dcm")
    assert head["ContentLength"] == len(body)
    assert got["ETag"] == head["ETag"] == put["ETag"]
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-sortie-sha256"] == \
        hashlib.sha256(body).hexdigest()
    assert head["Metadata"] == {"study": "S-42"}  # the recorded MD5 is not user metadata
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="scans", Key="absent")
    assert _code(missing.value) == "NoSuchKey"
    for index in range(25):
        s3.put_object(Bucket="scans", Key=f"list/{index:02d}", Body=b"x" * index)
    s3.put_object(Bucket="scans", Key="list/sub/deep", Body=b"d")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="scans", Prefix="list/",
                                                          PaginationConfig={"PageSize": 10})
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert keys == [f"list/{i:02d}" for i in range(25)] + ["list/sub/deep"]
    folders = s3.list_objects_v2(Bucket="scans", Prefix="list/", Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["list/sub/"]
    assert len(folders["Contents"]) == 25
    v1 = s3.list_objects(Bucket="scans", Prefix="list/", MaxKeys=5)
    assert v1["IsTruncated"] and [o["Key"] for o in v1["Contents"]][-1] == "list/04"
    assert s3.get_bucket_location(Bucket="scans").get("LocationConstraint") in (None, "")
    assert "scans" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    deleted = s3.delete_objects(Bucket="scans", Delete={"Objects": [
        {"Key": f"list/{i:02d}"} for i in range(25)] + [{"Key": "list/sub/deep"}]})
    assert len(deleted["Deleted"]) == 26
    s3.delete_object(Bucket="scans", Key="ct/0001 é.dcm")
    with pytest.raises(ClientError) as gone:
        s3.head_object(Bucket="scans", Key="ct/0001 é.dcm")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.delete_bucket(Bucket="scans")


def test_presigned_urls_and_what_is_not_built(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="shared")
    legacy = s3.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "x"})
    refused = httpx.get(legacy)  # boto3 presigns with Signature Version 2 unless told
    assert refused.status_code == 400 and b"Signature Version 2" in refused.content
    s3 = front.client(admin[0], admin[1], signature_version="s3v4")
    s3.put_object(Bucket="shared", Key="report.pdf", Body=b"%PDF-1.7 report")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "shared",
                                                          "Key": "report.pdf"}, ExpiresIn=60)
    assert httpx.get(url).content == b"%PDF-1.7 report"
    upload = s3.generate_presigned_url("put_object", Params={"Bucket": "shared",
                                                             "Key": "in.txt"}, ExpiresIn=60)
    assert httpx.put(upload, content=b"uploaded by URL").status_code == 200
    assert s3.get_object(Bucket="shared", Key="in.txt")["Body"].read() == b"uploaded by URL"
    short = s3.generate_presigned_url("get_object", Params={"Bucket": "shared",
                                                            "Key": "report.pdf"}, ExpiresIn=1)
    time.sleep(2)
    expired = httpx.get(short)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
    assert b"expired" in expired.content
    with pytest.raises(ClientError) as versioning:
        s3.get_bucket_versioning(Bucket="shared")
    assert _code(versioning.value) == "NotImplemented"


def test_refusals_are_s3_errors_and_audited(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="guarded")
    wrong = front.client(admin[0], admin[1][:-1] + ("A" if admin[1][-1] != "A" else "B"))
    with pytest.raises(ClientError) as signature:
        wrong.list_buckets()
    assert _code(signature.value) == "SignatureDoesNotMatch"
    reader = front.credentials("--scope", "read", "--bucket", "guarded")
    as_reader = front.client(reader[0], reader[1])
    with pytest.raises(ClientError) as denied:
        as_reader.put_object(Bucket="guarded", Key="k", Body=b"x")
    assert _code(denied.value) == "AccessDenied"
    revoked = subprocess.run([*SORTIE, "token", "revoke", reader[2], "--config",
                              str(front.config)], capture_output=True, text=True, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(ClientError) as unknown:
        as_reader.list_objects_v2(Bucket="guarded")
    assert _code(unknown.value) == "InvalidAccessKeyId"
    # A body that is not the one signed (x-amz-content-sha256): refused, nothing stored.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed_body = b"the body that was signed"
    request = AWSRequest("PUT", f"{front.endpoint}/guarded/tampered", data=signed_body,
                         headers={"x-amz-content-sha256": hashlib.sha256(signed_body).hexdigest()})
    SigV4Auth(Credentials(admin[0], admin[1]), "s3", "us-east-1").add_auth(request)
    tampered = httpx.put(request.url, content=b"another body of a size",
                         headers=dict(request.headers))
    assert tampered.status_code == 400 and b"XAmzContentSHA256Mismatch" in tampered.content
    with pytest.raises(ClientError):
        s3.head_object(Bucket="guarded", Key="tampered")
    # Skewed clock: refused.
    request = AWSRequest("GET", f"{front.endpoint}/", headers={
        "x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    SigV4Auth(Credentials(admin[0], admin[1]), "s3", "us-east-1").add_auth(request)
    headers = dict(request.headers)
    skewed = headers["X-Amz-Date"][:4] + "0101T000000Z"
    headers["X-Amz-Date"] = skewed
    assert b"RequestTimeTooSkewed" in httpx.get(request.url, headers=headers).content
    log = front.workdir / "state" / "audit.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    actions = {(line["action"], line["status"]) for line in lines}
    assert ("put_object", 403) in actions and ("create_bucket", 200) in actions
    assert all("secret" not in json.dumps(line).lower() for line in lines)


def test_the_minio_client_library(front: Front, admin: tuple[str, str, str]) -> None:
    from minio import Minio

    client = Minio(f"127.0.0.1:{front.s3_port}", access_key=admin[0], secret_key=admin[1],
                   secure=False, region="us-east-1")
    client.make_bucket("minio-made")
    import io

    data = os.urandom(200_000)
    client.put_object("minio-made", "blob.bin", io.BytesIO(data), len(data),
                      metadata={"x-amz-meta-origin": "minio"})
    assert client.get_object("minio-made", "blob.bin").read() == data
    stat = client.stat_object("minio-made", "blob.bin")
    assert stat.size == len(data)
    assert [o.object_name for o in client.list_objects("minio-made")] == ["blob.bin"]


def test_copy_and_the_private_acl(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="copy-src", ACL="private")
    s3.create_bucket(Bucket="copy-dst")
    body = os.urandom(2 * 1024 * 1024 + 5)
    s3.put_object(Bucket="copy-src", Key="a", Body=body, Metadata={"study": "1"},
                  ContentType="application/dicom")
    copied = s3.copy_object(Bucket="copy-dst", Key="b", CopySource={"Bucket": "copy-src",
                                                                    "Key": "a"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket="copy-dst", Key="b")
    assert got["Body"].read() == body and got["Metadata"] == {"study": "1"}
    assert got["ContentType"] == "application/dicom"
    s3.copy_object(Bucket="copy-src", Key="a", CopySource={"Bucket": "copy-src", "Key": "a"},
                   MetadataDirective="REPLACE", Metadata={"study": "2"}, ContentType="text/plain")
    head = s3.head_object(Bucket="copy-src", Key="a")
    assert head["Metadata"] == {"study": "2"} and head["ContentType"] == "text/plain"
    with pytest.raises(ClientError) as itself:
        s3.copy_object(Bucket="copy-src", Key="a", CopySource={"Bucket": "copy-src", "Key": "a"})
    assert _code(itself.value) == "InvalidRequest"
    acl = s3.get_bucket_acl(Bucket="copy-src")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert s3.get_object_acl(Bucket="copy-dst", Key="b")["Grants"][0]["Permission"] == \
        "FULL_CONTROL"
    s3.put_bucket_acl(Bucket="copy-src", ACL="private")
    with pytest.raises(ClientError) as public:
        s3.put_bucket_acl(Bucket="copy-src", ACL="public-read")
    assert _code(public.value) == "NotImplemented"


def test_conditional_requests_and_response_overrides(front: Front,
                                                      admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="conditions")
    tag = s3.put_object(Bucket="conditions", Key="k", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket="conditions", Key="k", IfMatch=tag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as failed:
        s3.get_object(Bucket="conditions", Key="k", IfMatch='"other"')
    assert _code(failed.value) == "PreconditionFailed"
    with pytest.raises(ClientError) as unchanged:
        s3.get_object(Bucket="conditions", Key="k", IfNoneMatch=tag)
    assert unchanged.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket="conditions", Key="k", Body=b"v2", IfNoneMatch="*")
    assert _code(exists.value) == "PreconditionFailed"
    assert s3.get_object(Bucket="conditions", Key="k")["Body"].read() == b"v1"
    got = s3.get_object(Bucket="conditions", Key="k", ResponseContentType="text/csv",
                        ResponseContentDisposition="attachment; filename=k.csv")
    assert got["ContentType"] == "text/csv"
    assert got["ContentDisposition"] == "attachment; filename=k.csv"


def test_any_delimiter(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="delimited")
    for key in ("asdf", "boo-bar", "boo-baz-xyzzy", "cquux-thud", "cquux-bla"):
        s3.put_object(Bucket="delimited", Key=key, Body=b"")
    listed = s3.list_objects_v2(Bucket="delimited", Delimiter="-")
    assert [o["Key"] for o in listed["Contents"]] == ["asdf"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["boo-", "cquux-"]
    pages = s3.get_paginator("list_objects").paginate(Bucket="delimited", Delimiter="-",
                                                      PaginationConfig={"PageSize": 1})
    seen = [(o.get("Key"), p.get("Prefix")) for page in pages
            for o, p in [(c, {}) for c in page.get("Contents", [])]
            + [({}, c) for c in page.get("CommonPrefixes", [])]]
    assert sorted(filter(None, (k or p for k, p in seen))) == ["asdf", "boo-", "cquux-"]


def test_virtual_hosted_style(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = boto3.client("s3", endpoint_url=f"http://{VIRTUAL_HOST_BASE}:{front.s3_port}",
                      aws_access_key_id=admin[0], aws_secret_access_key=admin[1],
                      region_name="us-east-1",
                      config=Config(s3={"addressing_style": "virtual"},
                                    retries={"max_attempts": 1}))
    hosts: list[str] = []

    def to_loopback(request: Any, **_: Any) -> None:
        # Signed for BUCKET.s3.sortie.test; sent to 127.0.0.1 with that Host header.
        netloc = request.url.split("/")[2]
        hosts.append(netloc)
        request.headers["Host"] = netloc
        request.url = request.url.replace(netloc, f"127.0.0.1:{front.s3_port}", 1)

    s3.meta.events.register("before-send.s3", to_loopback)
    path_style = front.client(admin[0], admin[1])
    path_style.create_bucket(Bucket="hosted")
    s3.put_object(Bucket="hosted", Key="dir/a b.txt", Body=b"by host name")
    assert hosts[-1] == f"hosted.{VIRTUAL_HOST_BASE}:{front.s3_port}"
    assert path_style.get_object(Bucket="hosted", Key="dir/a b.txt")["Body"].read() == \
        b"by host name"
    assert s3.get_object(Bucket="hosted", Key="dir/a b.txt")["Body"].read() == b"by host name"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="hosted")["Contents"]] == ["dir/a b.txt"]
    s3.delete_object(Bucket="hosted", Key="dir/a b.txt")
    s3.delete_bucket(Bucket="hosted")


def _signing_key(secret: str, date: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _streamed_put(front: Front, keys: tuple[str, str, str], key: str,
                  chunks: list[bytes], frames: list[int] | None = None) -> httpx.Response:
    """A PUT with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body, signed chunk by chunk as the SigV4
    specification says (written here independently of the server's code); `frames` sends the
    signed frames in another order or again (a replay)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    total = sum(len(c) for c in chunks)
    request = AWSRequest("PUT", f"{front.endpoint}/streamed/{key}", headers={
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": str(total), "content-encoding": "aws-chunked"})
    SigV4Auth(Credentials(keys[0], keys[1]), "s3", "us-east-1").add_auth(request)
    headers = dict(request.headers)
    amz_date = headers["X-Amz-Date"]
    seed = headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    signing_key = _signing_key(keys[1], amz_date[:8])
    signed, previous = [], seed
    for data in [*chunks, b""]:
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                             hashlib.sha256(b"").hexdigest(), hashlib.sha256(data).hexdigest()])
        previous = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        signed.append(f"{len(data):x};chunk-signature={previous}\r\n".encode() + data + b"\r\n")
    order = frames if frames is not None else list(range(len(signed)))
    body = b"".join(signed[i] for i in order)
    headers["Content-Length"] = str(len(body))
    return httpx.put(request.url, content=body, headers=headers)


def test_signed_chunks_and_a_replayed_chunk(front: Front, admin: tuple[str, str, str]) -> None:
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="streamed")
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), b"the end"]
    assert _streamed_put(front, admin, "good", chunks).status_code == 200
    assert s3.get_object(Bucket="streamed", Key="good")["Body"].read() == b"".join(chunks)
    # The first chunk sent twice (a replay), then two chunks swapped: each refused, nothing kept.
    for name, frames in (("replayed", [0, 0, 1, 2, 3]), ("swapped", [1, 0, 2, 3])):
        refused = _streamed_put(front, admin, name, chunks, frames)
        assert refused.status_code == 400, refused.text
        assert b"<Code>SignatureDoesNotMatch</Code>" in refused.content
        with pytest.raises(ClientError):
            s3.head_object(Bucket="streamed", Key=name)
    log = front.workdir / "state" / "audit.log"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(line["key"], line["status"]) for line in lines
            if line["action"] == "put_object" and line.get("bucket") == "streamed"} == {
        ("good", 200), ("replayed", 400), ("swapped", 400)}


def test_checksum_headers_are_checked(front: Front, admin: tuple[str, str, str]) -> None:
    """x-amz-checksum-* sent as headers (not trailers) hold the body to them: a body that does
    not match is BadDigest and nothing is stored."""
    import zlib

    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="checksums")
    body = b"a scan report" * 1000
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    s3.put_object(Bucket="checksums", Key="sha", Body=body, ChecksumSHA256=sha)
    s3.put_object(Bucket="checksums", Key="crc", Body=body, ChecksumCRC32=crc)
    for key, wrong in (("bad-sha", {"ChecksumSHA256": base64.b64encode(b"x" * 32).decode()}),
                       ("bad-crc", {"ChecksumCRC32": "AAAAAA=="})):
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="checksums", Key=key, Body=body, **wrong)
        assert _code(refused.value) == "BadDigest"
        with pytest.raises(ClientError):
            s3.head_object(Bucket="checksums", Key=key)
    assert s3.get_object(Bucket="checksums", Key="sha")["Body"].read() == body
    # Asked for (ChecksumMode), the recorded SHA-256 comes as S3's checksum of the whole object.
    for key in ("sha", "crc"):
        got = s3.get_object(Bucket="checksums", Key=key, ChecksumMode="ENABLED")
        assert got["ChecksumSHA256"] == sha and got["Body"].read() == body
    ranged = s3.get_object(Bucket="checksums", Key="sha", ChecksumMode="ENABLED",
                           Range="bytes=0-9")
    assert "ChecksumSHA256" not in ranged and ranged["Body"].read() == body[:10]


def test_web_headers_are_kept_with_the_object(front: Front, admin: tuple[str, str, str]) -> None:
    """Cache-Control, Content-Disposition, Content-Encoding, Content-Language and Expires set on
    a PUT come back on GET and HEAD, through copies; too long to keep is refused, not cut."""
    from datetime import datetime, timezone

    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="served")
    expires = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    s3.put_object(Bucket="served", Key="report.pdf.gz", Body=b"%PDF compressed",
                  CacheControl="public, max-age=14400", ContentEncoding="gzip",
                  ContentDisposition='attachment; filename="report.pdf"',
                  ContentLanguage="fr-FR", Expires=expires)
    for answer in (s3.head_object(Bucket="served", Key="report.pdf.gz"),
                   s3.get_object(Bucket="served", Key="report.pdf.gz")):
        assert answer["CacheControl"] == "public, max-age=14400"
        assert answer["ContentEncoding"] == "gzip" and answer["ContentLanguage"] == "fr-FR"
        assert answer["ContentDisposition"] == 'attachment; filename="report.pdf"'
        assert answer["ResponseMetadata"]["HTTPHeaders"]["expires"] == \
            "Thu, 02 Jan 2031 03:04:05 GMT"
        assert answer["Metadata"] == {}
    s3.copy_object(Bucket="served", Key="copy.gz", CopySource="served/report.pdf.gz")
    assert s3.head_object(Bucket="served", Key="copy.gz")["CacheControl"] == \
        "public, max-age=14400"
    s3.copy_object(Bucket="served", Key="copy.gz", CopySource="served/report.pdf.gz",
                   MetadataDirective="REPLACE", CacheControl="no-store")
    replaced = s3.head_object(Bucket="served", Key="copy.gz")
    assert replaced["CacheControl"] == "no-store" and "ContentEncoding" not in replaced
    s3.put_object(Bucket="served", Key="chunked", Body=b"x", ContentEncoding="aws-chunked")
    assert "ContentEncoding" not in s3.head_object(Bucket="served", Key="chunked")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket="served", Key="long", Body=b"x",
                      ContentDisposition=f'attachment; filename="{"a" * 300}.pdf"')
    assert _code(refused.value) == "InvalidArgument"


def test_raw_utf8_metadata_is_signed_and_kept(front: Front, admin: tuple[str, str, str]) -> None:
    """A client sending a non-ASCII metadata value as raw UTF-8 (as botocore signs it): the
    signature holds and the value is kept as sent; it comes back RFC 2047-encoded, as S3 does."""
    from email.header import decode_header

    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="unicode")

    def raw_value(**kwargs: Any) -> None:
        kwargs["params"]["headers"]["x-amz-meta-patient"] = "Hélène Ø"

    s3.meta.events.register("before-call.s3.PutObject", raw_value)
    s3.put_object(Bucket="unicode", Key="k", Body=b"x")
    encoded = s3.head_object(Bucket="unicode", Key="k")["Metadata"]["patient"]
    text, charset = decode_header(encoded)[0]
    assert (text.decode(charset) if isinstance(text, bytes) else text) == "Hélène Ø"


def test_reading_by_part_number(front: Front, admin: tuple[str, str, str]) -> None:
    """Part 1 is the whole object, with no parts count (a client reading by parts reads it
    whole); any other part is InvalidPart."""
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="parts")
    s3.put_object(Bucket="parts", Key="k", Body=b"the whole object")
    got = s3.get_object(Bucket="parts", Key="k", PartNumber=1)
    assert got["Body"].read() == b"the whole object" and "PartsCount" not in got
    assert s3.head_object(Bucket="parts", Key="k", PartNumber=1)["ContentLength"] == 16
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket="parts", Key="k", PartNumber=2)
    assert _code(refused.value) == "InvalidPart"


def test_canned_acls(front: Front, admin: tuple[str, str, str]) -> None:
    """One owner for every object here: the bucket owner's canned ACLs are the private one
    (tools send bucket-owner-full-control); those opening access to others are NotImplemented;
    a name that is not a canned ACL is InvalidArgument."""
    s3 = front.client(admin[0], admin[1])
    s3.create_bucket(Bucket="acls")
    s3.put_object(Bucket="acls", Key="k", Body=b"x", ACL="bucket-owner-full-control")
    codes = {}
    for acl in ("public-read", "not-an-acl"):
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket="acls", Key="k2", Body=b"x", ACL=acl)
        codes[acl] = _code(refused.value)
    assert codes == {"public-read": "NotImplemented", "not-an-acl": "InvalidArgument"}


def test_cors_for_web_applications(front: Front, admin: tuple[str, str, str]) -> None:
    """A bucket's CORS rules (Put/Get/DeleteBucketCors) answer browsers' unsigned preflights and
    mark the answers of their requests; no rule, no CORS headers."""
    s3 = front.client(admin[0], admin[1], signature_version="s3v4")
    s3.create_bucket(Bucket="webapp")
    with pytest.raises(ClientError) as none:
        s3.get_bucket_cors(Bucket="webapp")
    assert _code(none.value) == "NoSuchCORSConfiguration"
    rules = {"CORSRules": [{"AllowedMethods": ["GET", "PUT"],
                            "AllowedOrigins": ["https://viewer.*.example.org"],
                            "AllowedHeaders": ["content-type", "x-amz-*"],
                            "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]}
    s3.put_bucket_cors(Bucket="webapp", CORSConfiguration=rules)
    assert s3.get_bucket_cors(Bucket="webapp")["CORSRules"][0]["AllowedOrigins"] == \
        ["https://viewer.*.example.org"]
    with pytest.raises(ClientError) as wrong:
        s3.put_bucket_cors(Bucket="webapp", CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]})
    assert _code(wrong.value) == "InvalidRequest"
    origin = "https://viewer.hospital.example.org"
    url = f"{front.endpoint}/webapp/scan.dcm"
    allowed = httpx.options(url, headers={"Origin": origin,
                                          "Access-Control-Request-Method": "PUT",
                                          "Access-Control-Request-Headers": "Content-Type"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "PUT" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["access-control-max-age"] == "600"
    for headers in ({"Origin": "https://elsewhere.example.com",
                     "Access-Control-Request-Method": "GET"},
                    {"Origin": origin, "Access-Control-Request-Method": "DELETE"},
                    {"Origin": origin, "Access-Control-Request-Method": "PUT",
                     "Access-Control-Request-Headers": "authorization"}):
        refused = httpx.options(url, headers=headers)
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert httpx.options(url, headers={"Origin": origin}).status_code == 400
    upload = s3.generate_presigned_url("put_object", Params={"Bucket": "webapp",
                                                             "Key": "scan.dcm"}, ExpiresIn=60)
    put = httpx.put(upload, content=b"DICM from a browser", headers={"Origin": origin})
    assert put.status_code == 200 and put.headers["access-control-allow-origin"] == origin
    assert put.headers["access-control-expose-headers"] == "ETag"
    stranger = httpx.put(upload, content=b"x", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in stranger.headers
    s3.delete_bucket_cors(Bucket="webapp")
    assert httpx.options(url, headers={"Origin": origin,
                                       "Access-Control-Request-Method": "GET"}).status_code == 403
