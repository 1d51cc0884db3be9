"""ListObjectsV2 and V1 over the gateway's listing: S3's parameters mapped onto Sortie's cursor
pages (a continuation token holds the last key given and the Sortie cursor of its page; V1's
marker skips keys up to the one named, page by page, so a deep V1 listing re-reads from the
start), keys URL-encoded when `encoding-type=url` is asked."""

from __future__ import annotations

import base64
import json
from typing import Mapping
from urllib.parse import quote

from adapters.contract import MAX_LIST_LIMIT, ListPage, ObjectInfo
from adapters.errors import InvalidName
from adapters.names import check_prefix

from ..gateway import Gateway
from . import xml


class ListingError(Exception):
    pass


def _max_keys(query: Mapping[str, str]) -> int:
    try:
        wanted = int(query.get("max-keys", str(MAX_LIST_LIMIT)))
    except ValueError:
        raise ListingError("max-keys must be a number") from None
    return max(0, min(wanted, MAX_LIST_LIMIT))


def _collect(gateway: Gateway, bucket: str, prefix: str, delimiter: str | None,
             cursor: str | None, after: str,
             wanted: int) -> tuple[list[ObjectInfo], list[str], tuple[str, str | None] | None]:
    """Up to `wanted` entries (objects and common prefixes) after key `after`, and where to go
    on: (the last key given, the Sortie cursor of the page holding it), None when complete."""
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    while True:
        page_cursor = cursor
        page = _page(gateway, bucket, prefix, delimiter, cursor)
        objects += [info for info in page.objects if info.key > after]
        prefixes += [common for common in page.common_prefixes
                     if common > after and common not in prefixes]
        cursor = page.next_cursor
        if len(objects) + len(prefixes) >= wanted or not cursor:
            break
    if len(objects) + len(prefixes) > wanted:
        # The page held more than asked: keep the first `wanted` in key order, and go on from
        # the same page, after the last key kept.
        merged = sorted([(o.key, o) for o in objects] + [(p, p) for p in prefixes],
                        key=lambda pair: pair[0])[:wanted]
        objects = [v for _, v in merged if isinstance(v, ObjectInfo)]
        prefixes = [v for _, v in merged if isinstance(v, str)]
        return objects, prefixes, (merged[-1][0], page_cursor)
    if cursor is None:
        return objects, prefixes, None
    last = max([o.key for o in objects] + prefixes, default=after)
    return objects, prefixes, (last, cursor)


def _page(gateway: Gateway, bucket: str, prefix: str, delimiter: str | None,
          cursor: str | None) -> ListPage:
    """One page of the gateway's listing. The contract groups on `/` only: another delimiter
    is grouped here, over a page listed without one (a group can span pages; `_collect` keeps
    each once). A prefix no Sortie key can start with (a control character, a leading `/`)
    lists nothing, as S3 lists nothing for a prefix no key has."""
    try:
        check_prefix(prefix, bucket=bucket)
    except InvalidName:
        return ListPage(objects=[], common_prefixes=[], next_cursor=None)
    if delimiter is None or delimiter == "/":
        return gateway.list_objects(bucket, prefix, delimiter, cursor, MAX_LIST_LIMIT)
    page = gateway.list_objects(bucket, prefix, None, cursor, MAX_LIST_LIMIT)
    objects, groups = [], []
    for info in page.objects:
        cut = info.key.find(delimiter, len(prefix))
        if cut < 0:
            objects.append(info)
            continue
        group = info.key[:cut + len(delimiter)]
        if not groups or groups[-1] != group:
            groups.append(group)
    return ListPage(objects=objects, common_prefixes=groups, next_cursor=page.next_cursor)


def encode_token(position: tuple[str, str | None]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode()


def decode_token(token: str) -> tuple[str, str | None]:
    try:
        after, cursor = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(after), cursor
    except (ValueError, TypeError):
        raise ListingError("the continuation token is not one this listing gave") from None


def _contents(objects: list[ObjectInfo], encode: bool, owner: str | None) -> str:
    out = []
    shown = f"<Owner>{xml.person(owner)}</Owner>" if owner else ""
    for info in objects:
        out.append("<Contents>" + xml.element("Key", _key(info.key, encode))
                   + xml.element("LastModified", xml.timestamp(info.last_modified))
                   + xml.element("ETag", xml.etag(info)) + xml.element("Size", info.size)
                   + xml.element("StorageClass", "STANDARD") + shown + "</Contents>")
    return "".join(out)


def _key(key: str, encode: bool) -> str:
    return quote(key, safe="/") if encode else key


def _prefixes(prefixes: list[str], encode: bool) -> str:
    return "".join(f"<CommonPrefixes>{xml.element('Prefix', _key(p, encode))}</CommonPrefixes>"
                   for p in prefixes)


def list_v2(gateway: Gateway, bucket: str, query: Mapping[str, str], owner: str) -> bytes:
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter") or None
    encode = query.get("encoding-type") == "url"
    wanted = _max_keys(query)
    after, cursor = query.get("start-after", ""), None
    if query.get("continuation-token"):
        after, cursor = decode_token(query["continuation-token"])
    objects, prefixes, position = _collect(gateway, bucket, prefix, delimiter, cursor,
                                           after, wanted) if wanted else ([], [], None)
    truncated = position is not None
    body = (xml.element("Name", bucket) + xml.element("Prefix", _key(prefix, encode))
            + xml.element("KeyCount", len(objects) + len(prefixes))
            + xml.element("MaxKeys", wanted)
            + (xml.element("Delimiter", delimiter) if delimiter else "")
            + (xml.element("EncodingType", "url") if encode else "")
            + xml.element("IsTruncated", "true" if truncated else "false")
            + (xml.element("ContinuationToken", query["continuation-token"])
               if "continuation-token" in query else "")
            + (xml.element("StartAfter", query["start-after"]) if "start-after" in query else ""))
    if position is not None:
        body += xml.element("NextContinuationToken", encode_token(position))
    fetch_owner = query.get("fetch-owner", "").lower() == "true"
    return xml.document("ListBucketResult",
                        body + _contents(objects, encode, owner if fetch_owner else None)
                        + _prefixes(prefixes, encode))


def list_v1(gateway: Gateway, bucket: str, query: Mapping[str, str], owner: str) -> bytes:
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter") or None
    encode = query.get("encoding-type") == "url"
    wanted = _max_keys(query)
    marker = query.get("marker", "")
    objects, prefixes, position = _collect(gateway, bucket, prefix, delimiter, None, marker,
                                           wanted) if wanted else ([], [], None)
    truncated = position is not None
    # V1 gives the prefix as asked, even with encoding-type=url (clients decode V2's only).
    body = (xml.element("Name", bucket) + xml.element("Prefix", prefix)
            + xml.element("Marker", marker) + xml.element("MaxKeys", wanted)
            + (xml.element("Delimiter", delimiter) if delimiter else "")
            + (xml.element("EncodingType", "url") if encode else "")
            + xml.element("IsTruncated", "true" if truncated else "false"))
    if position is not None and delimiter:
        body += xml.element("NextMarker", position[0])
    return xml.document("ListBucketResult",
                        body + _contents(objects, encode, owner) + _prefixes(prefixes, encode))



def list_versions(gateway: Gateway, bucket: str, query: Mapping[str, str],
                  owner: str) -> bytes:
    """ListObjectVersions of a bucket without versioning (Sortie keeps one version of each
    key): every object once, as version `null`, the latest."""
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter") or None
    wanted = _max_keys(query)
    marker = query.get("key-marker", "")
    objects, prefixes, position = _collect(gateway, bucket, prefix, delimiter, None, marker,
                                           wanted) if wanted else ([], [], None)
    body = (xml.element("Name", bucket) + xml.element("Prefix", prefix)
            + xml.element("KeyMarker", marker) + xml.element("VersionIdMarker", "")
            + xml.element("MaxKeys", wanted)
            + (xml.element("Delimiter", delimiter) if delimiter else "")
            + xml.element("IsTruncated", "true" if position is not None else "false"))
    if position is not None:
        body += xml.element("NextKeyMarker", position[0]) + xml.element("NextVersionIdMarker",
                                                                        "null")
    for info in objects:
        body += ("<Version>" + xml.element("Key", info.key) + xml.element("VersionId", "null")
                 + xml.element("IsLatest", "true")
                 + xml.element("LastModified", xml.timestamp(info.last_modified))
                 + xml.element("ETag", xml.etag(info)) + xml.element("Size", info.size)
                 + xml.element("StorageClass", "STANDARD")
                 + f"<Owner>{xml.person(owner)}</Owner></Version>")
    return xml.document("ListVersionsResult", body + _prefixes(prefixes, False))
