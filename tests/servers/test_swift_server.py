"""The Swift fixture itself: tempauth and s3api answer, and the proxy can be stopped and restarted."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from .swift import SwiftServer, server_swift  # noqa: F401 - the fixture


def _token(server: SwiftServer, key: str) -> tuple[str, str]:
    req = urllib.request.Request(server.auth_url, headers={"X-Auth-User": server.user,
                                                           "X-Auth-Key": key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers["X-Auth-Token"], resp.headers["X-Storage-Url"]


def _put_get(server: SwiftServer, token: str) -> bytes:
    base = f"{server.storage_url}/fixture-check"
    for url, data in ((base, b""), (f"{base}/hello", b"hi swift")):
        req = urllib.request.Request(url, data=data, method="PUT", headers={"X-Auth-Token": token})
        urllib.request.urlopen(req, timeout=10).close()
    req = urllib.request.Request(f"{base}/hello", headers={"X-Auth-Token": token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def test_tempauth_put_get_and_proxy_restart(server_swift: SwiftServer) -> None:
    token, storage_url = _token(server_swift, server_swift.key)
    assert storage_url == server_swift.storage_url
    assert _put_get(server_swift, token) == b"hi swift"
    with pytest.raises(urllib.error.HTTPError) as err:
        _token(server_swift, "wrong")
    assert err.value.code == 401

    server_swift.stop()
    with pytest.raises(urllib.error.URLError):
        _token(server_swift, server_swift.key)
    server_swift.start()
    token, _ = _token(server_swift, server_swift.key)
    assert _put_get(server_swift, token) == b"hi swift"
    server_swift.restart()
    token, _ = _token(server_swift, server_swift.key)
    assert _put_get(server_swift, token) == b"hi swift"


def test_s3api_answers(server_swift: SwiftServer) -> None:
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=server_swift.s3_endpoint,
                      aws_access_key_id=server_swift.s3_access_key,
                      aws_secret_access_key=server_swift.s3_secret_key,
                      region_name=server_swift.s3_region,
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="fixture-s3")
    s3.put_object(Bucket="fixture-s3", Key="k", Body=b"via s3api")
    assert s3.get_object(Bucket="fixture-s3", Key="k")["Body"].read() == b"via s3api"
