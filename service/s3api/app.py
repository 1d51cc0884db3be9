"""The S3 front: existing S3 clients (boto3, the AWS CLI, SDKs) over the same service layer as the
REST API (service/gateway.py): the same logical buckets, routes and exit switch, tokens (as S3
credentials), scopes, audit, integrity checks and client-side encryption.

Path-style and virtual-hosted-style requests, SigV4 (sigv4.py: header, presigned, signed and
unsigned aws-chunked bodies with trailing checksums). Here: authentication, dispatch, and the
bucket and object operations (ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, the listings (listing.py), GetObject and HeadObject (one range, conditions,
`response-*` overrides, part 1), PutObject (conditional writes), CopyObject, DeleteObject,
DeleteObjects, the canned `private` ACL); multipart uploads are multipart_front.py's, reading a
request requests.py's, errors errors.py's. Everything else answers `NotImplemented` (501), saying
so.
"""

from __future__ import annotations

import base64
import logging
import uuid
from functools import partial
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from adapters.errors import (AlreadyExists, BucketNotFound, HashMismatch, RangeNotSatisfiable,
                             StorageError, TransientError)

from .. import headers as h
from ..access import Access
from ..bodies import body_response, read_small, run_with_body
from ..conditions import MatchedNothing, PreconditionFailed, check_read
from ..gateway import Gateway
from ..tokens import TokenInfo, TokenStore
from ..uploads import Uploads
from . import cors, keys, kept_headers, multipart, sigv4, xml
from . import requests as rq
from .chunked import ChunkError
from .errors import S3Error, error_response, storage_code, xml_response
from .listing import ListingError, list_v1, list_v2, list_versions
from .multipart_front import MultipartFront

log = logging.getLogger("sortie.s3")

#: Query parameters that name a subresource this front does not serve.
_NOT_BUILT = {"versioning", "lifecycle", "policy", "tagging", "website",
              "encryption", "object-lock", "replication", "logging", "notification",
              "select", "restore", "retention",
              "legal-hold", "accelerate", "requestPayment", "analytics", "inventory", "metrics",
              "ownershipControls", "publicAccessBlock", "intelligent-tiering", "attributes"}
class S3Front:
    def __init__(self, gateway: Gateway, tokens: TokenStore, region: str,
                 secrets_key: Any, virtual_host_base: str | None = None) -> None:
        self.gateway = gateway
        self.tokens = tokens
        self.region = region
        #: ".s3.example.org": a Host ending so names its bucket (virtual-hosted style).
        self.host_suffix = f".{virtual_host_base.lower().strip('.')}" if virtual_host_base \
            else None
        self.secrets_key = secrets_key
        self.uploads = Uploads(gateway)
        self.multipart = MultipartFront(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        request_id = uuid.uuid4().hex[:16].upper()
        try:
            if request.method == "OPTIONS":
                response = await self._preflight(request)
            else:
                response = await self._handle(request)
        except S3Error as exc:
            response = error_response(exc.code, exc.message, exc.status, scope["path"], request_id)
        except sigv4.AuthFailure as exc:
            response = error_response(exc.code, exc.message, exc.status, scope["path"], request_id)
        except ChunkError as exc:
            response = error_response(exc.code, exc.message, 400, scope["path"], request_id)
        except multipart.MultipartError as exc:
            response = error_response(exc.code, exc.message, exc.status, scope["path"], request_id)
        except StorageError as exc:
            code, status = storage_code(exc)
            response = error_response(code, exc.message, status, scope["path"], request_id)
            if isinstance(exc, TransientError):
                response.headers["Retry-After"] = "5"
        except Exception:  # noqa: BLE001 - a bug answers as S3 does, and is logged whole
            log.exception("S3 request %s failed", request_id)
            response = error_response("InternalError", "internal error; see the gateway log", 500,
                              scope["path"], request_id)
        response.headers["x-amz-request-id"] = request_id
        if "origin" in request.headers and request.method != "OPTIONS":
            response.headers.update(await self._cors_headers(request))
        if response.status_code >= 400 and scope["method"] in ("PUT", "POST"):
            # Refused before its body was read: the rest of the body would be taken for the
            # next request on this connection.
            response.headers["Connection"] = "close"
        await response(scope, receive, send)

    # ---- CORS (cors.py): browsers' preflights are not signed -----------------------------------
    def _rules(self, request: Request) -> list[cors.CorsRule]:
        bucket, _ = self._address(request)
        document = self.gateway.cors.get(bucket) if bucket else None
        return cors.parse(document.encode()) if document else []

    async def _preflight(self, request: Request) -> Response:
        access: Access = request.scope.setdefault("state", {}).setdefault("access", Access())
        access.action = "cors_preflight"
        rules = await self.run(self._rules, request)
        return Response(status_code=200, headers=cors.preflight(rules, request.headers))

    async def _cors_headers(self, request: Request) -> dict[str, str]:
        try:
            rules = await self.run(self._rules, request)
        except (StorageError, S3Error):  # no bucket, state unreachable: no CORS headers
            return {}
        return cors.response_headers(rules, request.headers, request.method)

    async def _cors(self, request: Request, method: str, bucket: str, token: TokenInfo,
                    access: Access) -> Response:
        """GetBucketCors, PutBucketCors, DeleteBucketCors."""
        access.action = {"GET": "get_bucket_cors", "PUT": "put_bucket_cors",
                         "DELETE": "delete_bucket_cors"}.get(method, "cors")
        self.allow(token, "read" if method == "GET" else "write", bucket, access)
        await self.run(self._exists, bucket, access)
        if method == "GET":
            document = await self.run(self.gateway.cors.get, bucket)
            if document is None:
                raise S3Error("NoSuchCORSConfiguration", "The CORS configuration does not "
                                                         "exist", 404)
            return xml_response(cors.document(cors.parse(document.encode())))
        if method == "PUT":
            body = await request.body()
            cors.parse(body)  # refused whole if any rule is wrong
            await self.run(self.gateway.cors.put, bucket, body.decode("utf-8"))
            return Response(status_code=200)
        if method == "DELETE":
            await self.run(self.gateway.cors.delete, bucket)
            return Response(status_code=204)
        raise S3Error("MethodNotAllowed", f"{method} on ?cors", 405)

    # ---- authentication and authorisation ----------------------------------------------------
    def _authenticate(self, request: Request) -> tuple[sigv4.Credentials, TokenInfo]:
        """The request's signature checked with its token's secret (one read of the token)."""
        found: list[TokenInfo] = []

        def secret_of(access_key: str) -> str | None:
            token_id = keys.token_id_of(access_key)
            identity = self.tokens.s3_identity(token_id) if token_id else None
            if identity is None:
                return None
            found.append(identity[0])
            return keys.unseal(self.secrets_key, identity[0].id, identity[1])

        signed = sigv4.Request(request.method, request.scope.get("raw_path", b"").decode("latin-1")
                               or request.url.path,
                               request.scope.get("query_string", b"").decode("latin-1"),
                               {k.lower(): v for k, v in request.headers.items()})
        credentials = sigv4.verify(signed, secret_of, self.region)
        return credentials, found[0]

    def _address(self, request: Request) -> tuple[str, str]:
        """(bucket, key) of a request: from the Host when it is BUCKET + virtual_host_base,
        else from the path (path style)."""
        path = unquote(request.scope.get("raw_path", b"").decode("latin-1") or request.url.path)
        host = request.headers.get("host", "").rsplit(":", 1)[0].lower()
        if self.host_suffix and host.endswith(self.host_suffix):
            return host[:-len(self.host_suffix)], path.lstrip("/")
        bucket, _, key = path.lstrip("/").partition("/")
        return bucket, key

    @staticmethod
    def allow(token: TokenInfo, scope: str, bucket: str | None, access: Access) -> None:
        access.token_id = token.id
        if not token.allows(scope, bucket):  # type: ignore[arg-type]
            raise S3Error("AccessDenied", f"token {token.id} has no {scope!r} scope"
                          + (f" on bucket {bucket!r}" if bucket else ""), 403)

    # ---- dispatch ----------------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        access: Access = request.scope.setdefault("state", {}).setdefault("access", Access())
        credentials, token = await anyio.to_thread.run_sync(self._authenticate, request)
        bucket, key = self._address(request)
        query = dict(parse_qsl(request.scope.get("query_string", b"").decode("latin-1"),
                               keep_blank_values=True))
        access.bucket, access.key = bucket or None, key or None
        built = _NOT_BUILT.intersection(query)
        if built:
            raise S3Error("NotImplemented", f"{sorted(built)[0]!r} is not served by Sortie's "
                                            "S3 front", 501)
        method = request.method
        rq.canned_private_only(request)
        if "acl" in query and bucket:
            return await self._acl(request, method, bucket, key, token, access)
        if not bucket:
            if method != "GET":
                raise S3Error("MethodNotAllowed", "only GET (ListBuckets) on /", 405)
            access.action = "list_buckets"
            return await self._list_buckets(token, query)
        if not key:
            if "cors" in query:
                return await self._cors(request, method, bucket, token, access)
            if "uploads" in query and method == "GET":
                return await self.multipart.list_uploads(bucket, query, token, access)
            return await self._bucket(request, method, bucket, query, token, access)
        if "uploads" in query or "uploadId" in query:
            return await self.multipart.handle(request, method, bucket, key, query,
                                               credentials, token, access)
        if "partNumber" in query and method in ("GET", "HEAD"):
            # Objects keep no part boundaries here: each is one part, the whole object (and no
            # x-amz-mp-parts-count, so a client reading by parts reads it whole).
            if multipart.part_number(query["partNumber"]) != 1:
                raise S3Error("InvalidPart", "the object has one part here (no part "
                                             "boundaries are kept)", 400)
        return await self._object(request, method, bucket, key, credentials, token, access)

    async def _bucket(self, request: Request, method: str, bucket: str, query: dict[str, str],
                      token: TokenInfo, access: Access) -> Response:
        run = self.run
        if method == "PUT":
            access.action = "create_bucket"
            self.allow(token, "write", bucket, access)
            try:
                route = await run(self.gateway.create_bucket, bucket)
            except AlreadyExists:
                if self.region != "us-east-1":
                    raise S3Error("BucketAlreadyOwnedByYou", "the bucket exists and is yours",
                                  409) from None
                # As S3 in us-east-1: creating a bucket that exists again changes nothing
                # (a name held on the backend by something else than a bucket served here is
                # taken, as another account's).
                try:
                    route = (await run(self.gateway.resolve, bucket)).route
                except BucketNotFound:
                    raise S3Error("BucketAlreadyExists", "the name is taken on the backend",
                                  409) from None
            access.backend = route.backend
            return Response(status_code=200, headers={"Location": f"/{bucket}"})
        if method == "DELETE":
            access.action = "delete_bucket"
            self.allow(token, "write", bucket, access)
            await run(self.gateway.delete_bucket, bucket)
            return Response(status_code=204)
        if method == "HEAD":
            access.action = "head_bucket"
            self.allow(token, "read", bucket, access)
            await run(self._exists, bucket, access)
            return Response(status_code=200, headers={"x-amz-bucket-region": self.region})
        if method == "POST" and "delete" in query:
            access.action = "delete_objects"
            self.allow(token, "write", bucket, access)
            return await self._delete_objects(request, bucket, access)
        if method != "GET":
            raise S3Error("MethodNotAllowed", f"{method} on a bucket", 405)
        self.allow(token, "read", bucket, access)
        if "location" in query:
            access.action = "get_bucket_location"
            await run(self._exists, bucket, access)
            location = "" if self.region == "us-east-1" else self.region
            return xml_response(xml.location(location))
        access.action = "list_objects"
        await run(self._exists, bucket, access)
        lister = list_versions if "versions" in query else \
            list_v2 if query.get("list-type") == "2" else list_v1
        try:
            return xml_response(await run(lister, self.gateway, bucket, query, f"sortie-{token.id}"))
        except ListingError as exc:
            raise S3Error("InvalidArgument", str(exc), 400) from None

    async def _acl(self, request: Request, method: str, bucket: str, key: str,
                   token: TokenInfo, access: Access) -> Response:
        """Sortie has one access model (tokens and their scopes): the only ACL is the canned
        `private` one, the owner's FULL_CONTROL; it can be read, and set again."""
        access.action = "get_acl" if method == "GET" else "put_acl"
        self.allow(token, "read" if method == "GET" else "write", bucket, access)
        if method == "PUT":
            body = await request.body()
            if body and b"FULL_CONTROL" not in body or body.count(b"<Grant>") > 1:
                raise S3Error("NotImplemented", "only the canned private ACL (the owner's "
                                                "FULL_CONTROL) is served", 501)
        elif method != "GET":
            raise S3Error("MethodNotAllowed", f"{method} on ?acl", 405)
        await self.run(self._exists, bucket, access)
        if key:
            await self.run(self.gateway.head_object, bucket, key)
        if method == "PUT":
            return Response(status_code=200)
        person = xml.person(f"sortie-{token.id}")
        return xml_response(xml.document("AccessControlPolicy", (
            f"<Owner>{person}</Owner><AccessControlList><Grant>"
            '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:type="CanonicalUser">{person}</Grantee>'
            "<Permission>FULL_CONTROL</Permission></Grant></AccessControlList>")))

    def _exists(self, bucket: str, access: Access) -> None:
        target = self.gateway.resolve(bucket)
        access.backend = target.route.backend
        if not target.store.bucket_exists(target.route.physical):
            raise BucketNotFound("no such bucket", bucket=bucket)

    async def _list_buckets(self, token: TokenInfo, query: dict[str, str]) -> Response:
        """The buckets the token sees, by name; `max-buckets` pages them (the continuation
        token is the last name given, base64), `prefix` filters them."""
        routes = await self.run(self.gateway.list_buckets)
        try:
            after = base64.urlsafe_b64decode(query.get("continuation-token", "")).decode()
            limit = int(query.get("max-buckets", "10000"))
        except ValueError:
            raise S3Error("InvalidArgument", "max-buckets is a number, continuation-token one "
                                             "this listing gave", 400) from None
        names = [name for name in sorted(routes) if token.sees(name) and name > after
                 and name.startswith(query.get("prefix", ""))]
        page = names[:max(limit, 1)]
        more = base64.urlsafe_b64encode(page[-1].encode()).decode() \
            if len(names) > len(page) else None
        return xml_response(xml.buckets([(name, None) for name in page], f"sortie-{token.id}", more))

    async def _delete_objects(self, request: Request, bucket: str, access: Access) -> Response:
        body = await request.body()
        if len(body) > 2 * 1024 * 1024:
            raise S3Error("MalformedXML", "the Delete document is over 2 MiB", 400)
        keys_wanted, quiet = rq.delete_document(body)

        def delete_all() -> tuple[list[str], list[tuple[str, str, str]]]:
            done, failed = [], []
            for key in keys_wanted:
                try:
                    self.gateway.delete_object(bucket, key)
                    done.append(key)
                except StorageError as exc:
                    failed.append((key, storage_code(exc)[0], exc.message))
            return done, failed

        done, failed = await self.run(delete_all)
        access.detail["deleted_keys"] = done  # the audit line names every key deleted
        parts = "" if quiet else "".join(f"<Deleted>{xml.element('Key', k)}</Deleted>"
                                         for k in done)
        parts += "".join(f"<Error>{xml.element('Key', k)}{xml.element('Code', c)}"
                         f"{xml.element('Message', m)}</Error>" for k, c, m in failed)
        return xml_response(xml.document("DeleteResult", parts))

    async def _object(self, request: Request, method: str, bucket: str, key: str,
                      credentials: sigv4.Credentials, token: TokenInfo,
                      access: Access) -> Response:
        if method == "PUT":
            access.action = "put_object"
            self.allow(token, "write", bucket, access)
            if "x-amz-copy-source" in request.headers:
                access.action = "copy_object"
                return await self._copy(request, bucket, key, token, access)
            return await self._put(request, bucket, key, credentials, access)
        if method in ("GET", "HEAD"):
            access.action = "get_object" if method == "GET" else "head_object"
            self.allow(token, "read", bucket, access)
            return await self._get(request, bucket, key, head=method == "HEAD", access=access)
        if method == "DELETE":
            access.action = "delete_object"
            self.allow(token, "write", bucket, access)
            await self.run(self._delete, bucket, key, access)
            return Response(status_code=204)
        raise S3Error("NotImplemented", f"{method} on an object is not served", 501)

    def _delete(self, bucket: str, key: str, access: Access) -> None:
        access.backend = self.gateway.resolve(bucket).route.backend
        self.gateway.delete_object(bucket, key)

    async def _put(self, request: Request, bucket: str, key: str,
                   credentials: sigv4.Credentials, access: Access) -> Response:
        headers = request.headers
        mode = credentials.payload_hash
        size_header = headers.get("x-amz-decoded-content-length") if mode in rq.CHUNKED else \
            headers.get("content-length")
        size = int(size_header) if size_header and size_header.isdigit() else None
        expected = rq.signed_sha256(credentials)
        metadata = rq.user_metadata(request)
        content_type = h.check_content_type(headers.get("content-type"))
        kept = rq.kept(request.headers)

        def consume(raw: Iterator[bytes]) -> Any:
            md5 = rq.Md5()
            body = rq.payload(raw, request, credentials, md5)
            target = self.gateway.resolve(bucket)
            access.backend = target.route.backend
            try:
                return self.gateway.put_object(bucket, key, body, size=size,
                                               content_type=content_type, metadata=metadata,
                                               expected_sha256=expected,
                                               conditions=rq.conditions(request),
                                               late_metadata=lambda: {**md5.entries(), **kept})
            except MatchedNothing:
                raise S3Error("NoSuchKey", "If-Match: the object does not exist", 404) from None
            except PreconditionFailed:
                raise S3Error("PreconditionFailed", "At least one of the pre-conditions you "
                                                    "specified did not hold", 412) from None
            except HashMismatch:
                raise S3Error("XAmzContentSHA256Mismatch", "the body's SHA-256 is not the "
                              "x-amz-content-sha256 signed with the request", 400) from None

        info = await self.with_body(request, consume)
        return Response(status_code=200, headers={"ETag": xml.etag(info)})

    async def _copy(self, request: Request, bucket: str, key: str, token: TokenInfo,
                    access: Access) -> Response:
        """CopyObject through the service layer: the source streamed from its route to the
        target's (any two logical buckets, any two backends), its recorded SHA-256 announced so
        that a byte changed on the way stores nothing."""
        source_bucket, source_key = rq.copy_source(request)
        self.allow(token, "read", source_bucket, access)
        directive = request.headers.get("x-amz-metadata-directive", "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise S3Error("InvalidArgument", "x-amz-metadata-directive is COPY or REPLACE", 400)
        if (source_bucket, source_key) == (bucket, key) and directive == "COPY":
            raise S3Error("InvalidRequest", "This copy request is illegal because it is trying "
                          "to copy an object to itself without changing the object's metadata",
                          400)
        replaced = rq.user_metadata(request) if directive == "REPLACE" else None
        content_type = h.check_content_type(request.headers.get("content-type"))
        kept_now = rq.kept(request.headers) if directive == "REPLACE" else None

        def copy() -> Any:
            access.backend = self.gateway.resolve(bucket).route.backend
            with self.gateway.get_object(source_bucket, source_key, None) as reader:
                info = reader.info
                rq.check_copy_source(request, info)
                md5 = rq.Md5()
                kept = kept_now if kept_now is not None else \
                    {k: v for k, v in info.metadata.items() if k == kept_headers.ENTRY}
                return self.gateway.put_object(
                    bucket, key, md5.hashing(reader), size=info.size,
                    late_metadata=lambda: {**md5.entries(), **kept},
                    content_type=content_type if replaced is not None else info.content_type,
                    metadata=replaced if replaced is not None else
                    {k: v for k, v in info.metadata.items() if not k.startswith("sortie:")},
                    expected_sha256=info.sha256)

        stored = await self.run(copy)
        return xml_response(xml.document("CopyObjectResult",
                                 xml.element("LastModified", xml.timestamp(stored.last_modified))
                                 + xml.element("ETag", xml.etag(stored))))

    async def _get(self, request: Request, bucket: str, key: str, *, head: bool,
                   access: Access) -> Response:
        byte_range = h.parse_range(request.headers.get("range")) if not head else None

        def open_reader() -> Any:
            access.backend = self.gateway.resolve(bucket).route.backend
            if head:
                return self.gateway.head_object(bucket, key), None
            reader = self.gateway.get_object(bucket, key, byte_range)
            return reader, read_small(reader)

        try:
            opened, small = await self.run(open_reader)
        except RangeNotSatisfiable as exc:
            raise S3Error("InvalidRange", exc.message, 416) from None
        info = opened if head else opened.info
        try:
            not_modified = check_read(rq.conditions(request), info)
        except PreconditionFailed:
            if not head:
                await self.run(opened.close)
            raise S3Error("PreconditionFailed", "At least one of the pre-conditions you "
                                                "specified did not hold", 412) from None
        if not_modified:
            if not head:
                await self.run(opened.close)
            return Response(status_code=304, headers={"ETag": xml.etag(info)})
        out = {"ETag": xml.etag(info),
               "Last-Modified": h.object_headers(info).get("last-modified", ""),
               "Content-Type": info.content_type or "application/octet-stream",
               "Accept-Ranges": "bytes"}
        if info.sha256:  # not as x-amz-meta-*: a client copying user metadata would send it back
            out["x-sortie-sha256"] = info.sha256
            if byte_range is None and \
                    request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
                # The whole object's SHA-256 as S3 gives a checksum: the client checks the bytes
                # it receives against what Sortie recorded at ingest.
                out["x-amz-checksum-sha256"] = base64.b64encode(
                    bytes.fromhex(info.sha256)).decode("ascii")
                out["x-amz-checksum-type"] = "FULL_OBJECT"
        for name, value in info.metadata.items():
            if not name.startswith("sortie:"):
                out[f"x-amz-meta-{name.lower()}"] = h.encode_word(value) if value else ""
        out.update(kept_headers.for_response(info.metadata))
        query = dict(parse_qsl(request.scope.get("query_string", b"").decode("latin-1")))
        for name, header in rq.OVERRIDES.items():
            if name in query:
                out[header] = query[name]
        if head:
            out["Content-Length"] = str(info.size)
            return Response(status_code=200, headers=out)
        return body_response(opened, small, byte_range is not None, out)

    async def with_body(self, request: Request, consume: Any) -> Any:
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if "content-length" not in request.headers and not chunked:  # as S3
            raise S3Error("MissingContentLength", "You must provide the Content-Length HTTP "
                                                  "header.", 411)
        return await run_with_body(request.stream(), consume,
                                   idle_timeout=self.gateway.config.settings.limits
                                   .body_idle_timeout_s)

    @staticmethod
    async def run(function: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(partial(function, *args))


def create_s3_app(config: Any, rest: Any) -> Any:
    """The S3 front over the REST app's gateway, tokens, audit and metrics (one process, one
    state: the REST app's lifespan opens and closes them)."""
    from ..access import AccessMiddleware

    secrets_key = keys.sealing_key(config.s3_secrets_key, create=True)
    s3_api = config.settings.s3_api
    front = S3Front(rest.state.gateway, rest.state.tokens, s3_api.region, secrets_key,
                    s3_api.virtual_host_base)
    return AccessMiddleware(front, metrics=rest.state.metrics, audit=rest.state.audit,
                            audited_prefix="/")
