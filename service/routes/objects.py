"""Object routes: PUT, GET, HEAD, DELETE one object, and list a bucket's objects.

Keys are the rest of the path, percent-decoded: `/v1/buckets/b/objects/a%20b/c%23d` is key
`a b/c#d`. Encode `%`, `#`, `?` and non-ASCII in keys; `+` is a literal plus in a path.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from adapters.contract import MAX_LIST_LIMIT, ByteRange, ObjectInfo
from adapters.errors import RangeNotSatisfiable
from adapters.streams import ObjectReader

from .. import headers as h
from ..access import access_of
from ..auth import require
from ..bodies import body_response, read_small, run_with_body
from ..conditions import Conditions, PreconditionFailed, check_read
from ..gateway import Gateway
from ..integrity import reported
from ..models import ObjectList, ObjectOut
from ..problems import storage_problem
from . import PROBLEM_RESPONSES, gateway_of, resolve, run

router = APIRouter(prefix="/v1/buckets/{bucket}/objects", tags=["objects"],
                   responses=PROBLEM_RESPONSES)
OBJECT = "/{key:path}"

_PUT_BODY = {"requestBody": {"required": False, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def _out(info: ObjectInfo) -> ObjectOut:
    return ObjectOut(key=info.key, size=info.size, last_modified=info.last_modified,
                     etag=h.etag(info), content_type=info.content_type, sha256=info.sha256)


def _read_conditions(
    if_match: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_modified_since: Annotated[str | None, Header()] = None,
    if_unmodified_since: Annotated[str | None, Header()] = None,
) -> Conditions:
    return Conditions(if_match, if_none_match, if_modified_since, if_unmodified_since)


#: The conditional headers of a GET or HEAD (RFC 9110 section 13), see service/conditions.py.
ReadConditions = Annotated[Conditions, Depends(_read_conditions)]


@router.put(OBJECT, response_model=ObjectOut, openapi_extra=_PUT_BODY,
            dependencies=[require("write", "put_object")],
            summary="Store an object (streamed; any size)",
            description="User metadata: `X-Sortie-Meta-<key>: <value>` headers; keys arrive "
                        "lowercased unless spelled in `X-Sortie-Meta-Keys`; non-ASCII values as "
                        "`=?UTF-8?B?<base64>?=`. See the README's Gateway API section.")
async def put_object(
    request: Request, bucket: str, key: str,
    content_type: Annotated[str | None, Header()] = None,
    content_length: Annotated[int | None, Header(ge=0)] = None,
    x_sortie_sha256: Annotated[str | None, Header(
        description="SHA-256 (hex) of the body; on mismatch nothing is stored (400)")] = None,
    if_match: Annotated[str | None, Header(description="Store only over an object with one of "
                                                       "these ETags (else 412)")] = None,
    if_none_match: Annotated[str | None, Header(description="`*`: store only if the key does "
                                                            "not exist yet (else 412)")] = None,
) -> Response:
    metadata = h.metadata_from_headers(request.headers.items())
    content_type = h.check_content_type(content_type)
    resolve(request, bucket)
    gateway = gateway_of(request)
    info = await run_with_body(request.stream(), partial(
        gateway.put_object, bucket, key, size=content_length, content_type=content_type,
        metadata=metadata, expected_sha256=x_sortie_sha256,
        conditions=Conditions(if_match=if_match, if_none_match=if_none_match)),
        idle_timeout=gateway.config.settings.limits.body_idle_timeout_s)
    out = _out(info)
    headers = {"etag": out.etag} if out.etag else None
    return Response(out.model_dump_json(), media_type="application/json", headers=headers)


@router.head(OBJECT, dependencies=[require("read", "head_object")],
             summary="An object's headers (size, type, SHA-256, metadata)")
async def head_object(request: Request, bucket: str, key: str,
                      conditions: ReadConditions) -> Response:
    resolve(request, bucket)
    info = await run(gateway_of(request).head_object, bucket, key)
    headers = h.object_headers(info)
    if check_read(conditions, info):
        return _not_modified(headers)
    headers["content-length"] = str(info.size)
    headers["content-type"] = info.content_type or "application/octet-stream"
    return Response(status_code=200, headers=headers)


@router.get(OBJECT, dependencies=[require("read", "get_object")],
            responses={200: {"content": {"application/octet-stream": {}}},
                       206: {"description": "One byte range (Content-Range)"},
                       304: {"description": "If-None-Match matched"},
                       416: PROBLEM_RESPONSES[400] | {"description": "Range not satisfiable"}},
            summary="Read an object (streamed; one byte range)")
async def get_object(
    request: Request, bucket: str, key: str, conditions: ReadConditions,
    range: Annotated[str | None, Header(description="One `bytes=` range; several ranges or a "
                                                    "malformed value get the whole object")] = None,
) -> Response:
    resolve(request, bucket)
    gateway = gateway_of(request)
    byte_range = h.parse_range(range)
    try:
        reader, small = await run(_open, gateway, bucket, key, byte_range)
    except RangeNotSatisfiable as exc:
        size = (await run(gateway.head_object, bucket, key)).size
        response = storage_problem(exc)
        response.headers["content-range"] = f"bytes */{size}"
        return response
    info = reader.info
    headers = h.object_headers(info)
    try:
        not_modified = check_read(conditions, info)
    except PreconditionFailed:
        if small is None:
            await run(reader.close)
        raise
    if not_modified:
        if small is None:
            await run(reader.close)
        return _not_modified(headers)
    headers["content-type"] = info.content_type or "application/octet-stream"
    # A damaged object raises before its last chunk: the response is cut short (the client sees
    # fewer bytes than Content-Length), never completed with wrong bytes.
    return body_response(reader, small, byte_range is not None, headers,
                         wrap=lambda chunks: reported(request, chunks))


def _not_modified(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers={k: v for k, v in headers.items()
                                              if k in ("etag", "last-modified")})


def _open(gateway: Gateway, bucket: str, key: str,
          byte_range: ByteRange | None) -> tuple[ObjectReader, bytes | None]:
    """Open an object; a small body is read in the same worker-thread call (no reading thread,
    no per-chunk hops: this is most of a small GET's latency)."""
    reader = gateway.get_object(bucket, key, byte_range)
    return reader, read_small(reader)


@router.delete(OBJECT, status_code=204, dependencies=[require("write", "delete_object")],
               summary="Delete an object (deleting a missing key succeeds)")
async def delete_object(request: Request, bucket: str, key: str) -> Response:
    resolve(request, bucket)
    await run(gateway_of(request).delete_object, bucket, key)
    return Response(status_code=204)


@router.get("", response_model=ObjectList, dependencies=[require("read", "list_objects")],
            summary="List objects in key order, page by page")
async def list_objects(
    request: Request, bucket: str,
    prefix: Annotated[str, Query(max_length=1024)] = "",
    delimiter: Annotated[str | None, Query(description="Only '/' is supported")] = None,
    cursor: Annotated[str | None, Query(max_length=8192, description="next_cursor of the "
                                                                     "previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = MAX_LIST_LIMIT,
) -> ObjectList:
    resolve(request, bucket)
    access_of(request).key = prefix or None
    page = await run(gateway_of(request).list_objects, bucket, prefix, delimiter or None,
                     cursor or None, limit)
    return ObjectList(objects=[_out(o) for o in page.objects],
                      common_prefixes=page.common_prefixes, next_cursor=page.next_cursor)
