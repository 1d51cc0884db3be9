"""The S3 front's multipart operations (CreateMultipartUpload, UploadPart, UploadPartCopy,
ListParts, CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads) over the
gateway's uploads (service/uploads.py); the documents and checks are multipart.py's."""

from __future__ import annotations

from functools import partial
from typing import Any, Iterator, Protocol

from starlette.requests import Request
from starlette.responses import Response

from adapters.contract import ByteRange
from adapters.errors import RangeNotSatisfiable

from .. import headers as h
from ..access import Access
from ..conditions import MatchedNothing, PreconditionFailed
from ..gateway import Gateway
from ..tokens import TokenInfo
from ..uploads import Uploads
from . import multipart, sigv4
from . import requests as rq
from .errors import S3Error, xml_response

class Front(Protocol):
    """What these operations use of the S3 front (app.S3Front)."""

    gateway: Gateway
    uploads: Uploads

    def allow(self, token: TokenInfo, scope: str, bucket: str | None,
              access: Access) -> None: ...
    async def run(self, function: Any, *args: Any) -> Any: ...
    async def with_body(self, request: Request, consume: Any) -> Any: ...


class MultipartFront:
    def __init__(self, front: Front) -> None:
        self.front = front

    async def handle(self, request: Request, method: str, bucket: str, key: str,
                         query: dict[str, str], credentials: sigv4.Credentials, token: TokenInfo,
                         access: Access) -> Response:
        run, uploads = self.front.run, self.front.uploads
        self.front.allow(token, "write", bucket, access)
        access.backend = (await run(self.front.gateway.resolve, bucket)).route.backend
        upload_id = query.get("uploadId", "")
        if method == "POST" and "uploads" in query:
            access.action = "create_multipart_upload"
            metadata = rq.user_metadata(request)
            content_type = h.check_content_type(request.headers.get("content-type"))
            started = await run(partial(uploads.start, bucket, key, content_type=content_type,
                                        metadata=metadata))
            return xml_response(multipart.initiated(bucket, key, started))
        if method == "PUT" and "x-amz-copy-source" in request.headers:
            access.action = "upload_part_copy"
            return await self._upload_part_copy(request, bucket, key, upload_id,
                                                multipart.part_number(query.get("partNumber")),
                                                token, access)
        if method == "PUT":
            access.action = "upload_part"
            number = multipart.part_number(query.get("partNumber"))
            declared = rq.signed_sha256(credentials)

            def consume(raw: Iterator[bytes]) -> str:
                md5 = rq.Md5()  # the part's ETag, and its Content-MD5 check if any
                data = multipart.read_part(rq.payload(raw, request, credentials, md5), declared)
                uploads.upload_part(bucket, key, upload_id, number, data)
                return md5.hexdigest()

            md5 = await self.front.with_body(request, consume)
            return Response(status_code=200, headers={"ETag": f'"{md5}"'})
        if method == "POST":
            access.action = "complete_multipart_upload"
            named = multipart.completion_document(await request.body())

            def complete() -> Any:
                done = uploads.completed(bucket, key, upload_id)
                if done is not None:  # completed again (its answer lost): the same answer
                    return done
                held = uploads.list_parts(bucket, key, upload_id)
                chosen = multipart.chosen_parts(named, held)
                return uploads.complete(bucket, key, upload_id, chosen, rq.conditions(request))

            try:
                info = await run(complete)
            except MatchedNothing:
                raise S3Error("NoSuchKey", "If-Match: the object does not exist", 404) from None
            except PreconditionFailed:
                raise S3Error("PreconditionFailed", "At least one of the pre-conditions you "
                                                    "specified did not hold", 412) from None
            return xml_response(multipart.completed(bucket, key, info))
        if method == "DELETE":
            access.action = "abort_multipart_upload"
            await run(uploads.list_parts, bucket, key, upload_id)  # NoSuchUpload if gone
            await run(uploads.abort, bucket, key, upload_id)
            return Response(status_code=204)
        if method == "GET":
            access.action = "list_parts"
            held = await run(uploads.list_parts, bucket, key, upload_id)
            marker = query.get("part-number-marker", "0")
            limit = query.get("max-parts", "1000")
            if not marker.isdigit() or not limit.isdigit():
                raise S3Error("InvalidArgument", "part-number-marker and max-parts are "
                                                 "integers", 400)
            return xml_response(multipart.parts_listing(bucket, key, upload_id, held, int(marker),
                                                min(int(limit), 1000), f"sortie-{token.id}"))
        raise S3Error("MethodNotAllowed", f"{method} on a multipart upload", 405)

    async def list_uploads(self, bucket: str, query: dict[str, str], token: TokenInfo,
                            access: Access) -> Response:
        access.action = "list_multipart_uploads"
        self.front.allow(token, "read", bucket, access)
        limit = query.get("max-uploads", "1000")
        if not limit.isdigit():
            raise S3Error("InvalidArgument", "max-uploads is a number", 400)
        wanted = min(int(limit), 1000)
        found = await self.front.run(self.front.uploads.open_uploads, bucket, query.get("prefix", ""),
                                query.get("key-marker", ""), query.get("upload-id-marker", ""),
                                wanted)
        return xml_response(multipart.uploads_listing(bucket, query, found, wanted,
                                              f"sortie-{token.id}"))

    async def _upload_part_copy(self, request: Request, bucket: str, key: str, upload_id: str,
                                number: int, token: TokenInfo, access: Access) -> Response:
        source_bucket, source_key = rq.copy_source(request)
        self.front.allow(token, "read", source_bucket, access)
        wanted = request.headers.get("x-amz-copy-source-range")
        bounds = rq.COPY_RANGE.fullmatch(wanted) if wanted is not None else None
        if wanted is not None and (bounds is None or int(bounds[1]) > int(bounds[2])):
            raise S3Error("InvalidArgument", f"x-amz-copy-source-range {wanted!r} is not "
                                             "bytes=FIRST-LAST", 400)
        byte_range = ByteRange(int(bounds[1]), int(bounds[2])) if bounds else None

        def copy_part() -> str:
            with self.front.gateway.get_object(source_bucket, source_key, byte_range) as reader:
                if bounds is not None and int(bounds[2]) >= reader.info.size:
                    raise S3Error("InvalidRange", f"the source has {reader.info.size} bytes: "
                                  f"{wanted} is beyond them", 416)
                rq.check_copy_source(request, reader.info)
                md5 = rq.Md5()
                data = multipart.read_part(md5.hashing(reader), None)
            self.front.uploads.upload_part(bucket, key, upload_id, number, data)
            return md5.hexdigest()

        try:
            md5 = await self.front.run(copy_part)
        except RangeNotSatisfiable as exc:
            raise S3Error("InvalidRange", exc.message, 416) from None
        return xml_response(multipart.copied_part(md5))

