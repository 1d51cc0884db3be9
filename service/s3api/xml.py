"""The S3 front's XML: responses and errors as S3 clients parse them (namespace, element names,
timestamps in ISO 8601 with milliseconds, ETags quoted)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable
from xml.sax.saxutils import escape

from .. import headers

if TYPE_CHECKING:
    from adapters.contract import ObjectInfo

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def document(root: str, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NAMESPACE}">{body}'
            f"</{root}>").encode("utf-8")


def element(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def timestamp(moment: datetime | None) -> str:
    moment = (moment or _EPOCH).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def etag(info: "ObjectInfo") -> str:
    """The ETag the S3 front gives an object everywhere (GET, HEAD, listings, PUT, copies,
    completions): the MD5 recorded at ingest, else the REST API's (service/headers.py)."""
    return headers.s3_etag(info) or '""'


def error(code: str, message: str, resource: str, request_id: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            + element("Code", code) + element("Message", message)
            + element("Resource", resource) + element("RequestId", request_id)
            + "</Error>").encode("utf-8")


def person(owner: str) -> str:
    """An owner's ID and DisplayName: Sortie's objects have no owner, the requester's token
    stands for it (`sortie-TOKENID`)."""
    return element("ID", owner) + element("DisplayName", owner)


def buckets(names: Iterable[tuple[str, datetime | None]], owner: str,
            continuation: str | None = None) -> bytes:
    items = "".join(f"<Bucket>{element('Name', name)}"
                    f"{element('CreationDate', timestamp(created))}</Bucket>"
                    for name, created in names)
    more = element("ContinuationToken", continuation) if continuation else ""
    return document("ListAllMyBucketsResult",
                    f"<Owner>{person(owner)}</Owner><Buckets>{items}</Buckets>{more}")


def location(region: str) -> bytes:
    return document("LocationConstraint", escape(region))
