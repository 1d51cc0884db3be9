"""AWS Signature Version 4, checked on the server (the S3 front's only authentication).

Specification: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
and, for S3, https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html.
Two forms: the `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`
header, and presigned URLs (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
`X-Amz-SignedHeaders`, `X-Amz-Signature` in the query). The canonical request is rebuilt from the
request as received: S3 does not normalise the path (each segment's bytes, URI-encoded once),
the query is sorted by encoded name then value, and only the headers named as signed count.
Comparisons are constant-time. The payload's own proof (its SHA-256, or the chunk signatures of
a streaming upload) is checked by the caller against `Credentials.payload_hash`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping, Sequence
from urllib.parse import quote, unquote

from ..headers import as_sent

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
#: How far a request's time may be from ours (S3's own limit).
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGNED = 7 * 24 * 3600
_HEADER = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,"
                     r"\s*Signature=([0-9a-f]{64})\s*$")
_CREDENTIAL = re.compile(r"^([^/]+)/(\d{8})/([^/]+)/s3/aws4_request$")


class AuthFailure(Exception):
    """Why a request's signature does not hold; `code` is the S3 error code to answer."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """A request whose signature held: who signed it, and what its payload must match."""

    access_key: str
    #: The payload's declared SHA-256 (hex), or UNSIGNED / a STREAMING-* mode.
    payload_hash: str
    #: For streaming signed payloads: the key and scope that chain the chunk signatures.
    signing_key: bytes
    scope: str
    amz_date: str
    seed_signature: str


@dataclass(frozen=True)
class Request:
    method: str
    #: The path as received, percent-encoded (scope["raw_path"]).
    raw_path: str
    #: The query string as received (scope["query_string"]).
    query: str
    headers: Mapping[str, str]  # lower-case names


def signing_key(secret: str, date: str, region: str) -> bytes:
    key = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def verify(request: Request, secret_of: Callable[[str], str | None], region: str,
           now: datetime | None = None) -> Credentials:
    """Check the request's SigV4 signature; AuthFailure says which S3 error to answer."""
    now = now or datetime.now(timezone.utc)
    params = _query_pairs(request.query)
    names = {name for name, _ in params}
    if "X-Amz-Signature" in names:
        return _verify_presigned(request, params, secret_of, region, now)
    if "Signature" in names and "AWSAccessKeyId" in names:
        raise AuthFailure("InvalidRequest", "this URL is signed with AWS Signature Version 2, "
                                            "which is not accepted: presign with Version 4 "
                                            "(boto3: Config(signature_version='s3v4'))", 400)
    header = request.headers.get("authorization")
    if not header:
        raise AuthFailure("AccessDenied", "anonymous access is not allowed: sign the request "
                                          "(AWS Signature Version 4)")
    if not header.startswith(ALGORITHM):
        raise AuthFailure("InvalidRequest" if header.startswith("AWS ") else "AccessDenied",
                          "only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted", 400)
    match = _HEADER.match(header)
    if not match:
        raise AuthFailure("AuthorizationHeaderMalformed", "the Authorization header is not a "
                                                          "valid AWS4-HMAC-SHA256 header", 400)
    credential, signed, signature = match.groups()
    amz_date = request.headers.get("x-amz-date") or ""
    moment = _parse_date(amz_date)
    if abs(now - moment) > MAX_SKEW:
        raise AuthFailure("RequestTimeTooSkewed", f"the request's time {amz_date} is more than "
                                                  "15 minutes from the server's")
    payload = request.headers.get("x-amz-content-sha256")
    if not payload:
        raise AuthFailure("InvalidRequest", "x-amz-content-sha256 is required with SigV4", 400)
    return _check(request, params, credential, signed.split(";"), signature, amz_date, payload,
                  secret_of, region, presigned=False)


def _verify_presigned(request: Request, params: Sequence[tuple[str, str]],
                      secret_of: Callable[[str], str | None], region: str,
                      now: datetime) -> Credentials:
    values = dict(params)
    if values.get("X-Amz-Algorithm") != ALGORITHM:
        raise AuthFailure("AuthorizationQueryParametersError",
                          "X-Amz-Algorithm must be AWS4-HMAC-SHA256", 400)
    amz_date = values.get("X-Amz-Date", "")
    moment = _parse_date(amz_date)
    try:
        expires = int(values.get("X-Amz-Expires", ""))
    except ValueError:
        raise AuthFailure("AuthorizationQueryParametersError",
                          "X-Amz-Expires must be a number of seconds", 400) from None
    if expires > MAX_PRESIGNED:
        raise AuthFailure("AuthorizationQueryParametersError",
                          "X-Amz-Expires must be between 1 and 604800 seconds", 400)
    if expires <= 0 or now > moment + timedelta(seconds=expires):
        raise AuthFailure("AccessDenied", "Request has expired")
    if moment - now > MAX_SKEW:
        raise AuthFailure("RequestTimeTooSkewed", "the presigned URL's time is in the future")
    unsigned = [(n, v) for n, v in params if n != "X-Amz-Signature"]
    return _check(request, unsigned, values.get("X-Amz-Credential", ""),
                  values.get("X-Amz-SignedHeaders", "").split(";"),
                  values.get("X-Amz-Signature", ""), amz_date, UNSIGNED, secret_of, region,
                  presigned=True)


def _check(request: Request, params: Sequence[tuple[str, str]], credential: str,
           signed: list[str], signature: str, amz_date: str, payload: str,
           secret_of: Callable[[str], str | None], region: str,
           presigned: bool) -> Credentials:
    match = _CREDENTIAL.match(credential)
    if not match:
        raise AuthFailure("AuthorizationHeaderMalformed",
                          f"the credential scope {credential!r} is not KEY/DATE/REGION/s3/"
                          "aws4_request", 400)
    access_key, date, asked_region = match.groups()
    if asked_region != region:
        raise AuthFailure("AuthorizationHeaderMalformed",
                          f"the region {asked_region!r} is wrong; expecting {region!r}", 400)
    if not amz_date.startswith(date):
        raise AuthFailure("AuthorizationHeaderMalformed",
                          "the credential's date is not the request's date", 400)
    if "host" not in signed:
        raise AuthFailure("AccessDenied", "the host header must be signed")
    secret = secret_of(access_key)
    if secret is None:
        raise AuthFailure("InvalidAccessKeyId",
                          "the access key id does not exist in our records (or was revoked)")
    canonical = "\n".join([
        request.method,
        _canonical_path(request.raw_path),
        _canonical_query(params),
        "".join(f"{name}:{_header_value(request.headers.get(name, ''))}\n" for name in signed),
        ";".join(signed),
        payload])
    scope = f"{date}/{region}/s3/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, date, region)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise AuthFailure("SignatureDoesNotMatch", "the request signature we calculated does "
                                                   "not match the signature you provided: "
                                                   "check your secret access key")
    return Credentials(access_key, payload, key, scope, amz_date, signature)


def chunk_signature(credentials: Credentials, previous: str, chunk_hash: str) -> str:
    """The signature of one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body."""
    to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", credentials.amz_date, credentials.scope,
                         previous, hashlib.sha256(b"").hexdigest(), chunk_hash])
    return hmac.new(credentials.signing_key, to_sign.encode(), hashlib.sha256).hexdigest()


def _parse_date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise AuthFailure("AccessDenied", "X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ") \
            from None


def _uri_encode(text: str, keep_slash: bool) -> str:
    return quote(text, safe="-_.~" + ("/" if keep_slash else ""))


def _canonical_path(raw_path: str) -> str:
    # S3 signs the path without normalising it: decode what the client encoded, encode once.
    return _uri_encode(unquote(raw_path), keep_slash=True) or "/"


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        pairs.append((unquote(name.replace("+", "%20")), unquote(value.replace("+", "%20"))))
    return pairs


def _canonical_query(params: Sequence[tuple[str, str]]) -> str:
    encoded = sorted((_uri_encode(n, False), _uri_encode(v, False)) for n, v in params)
    return "&".join(f"{n}={v}" for n, v in encoded)


def _header_value(value: str) -> str:
    """A header's value as signed: as the client wrote it (botocore hashes non-ASCII values'
    UTF-8), spaces folded."""
    return " ".join(as_sent(value).split())
