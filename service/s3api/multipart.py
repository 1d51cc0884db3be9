"""S3 multipart uploads on the gateway's upload sessions (service/uploads.py): CreateMultipartUpload,
UploadPart, UploadPartCopy, ListParts, CompleteMultipartUpload, AbortMultipartUpload,
ListMultipartUploads (from the gateway's record of uploads, service/upload_records.py).

Each part is read whole before it goes to the backend (the contract takes a part as bytes), so a
part is refused above MAX_PART_SIZE: clients split far below it (boto3, the AWS CLI and rclone use
5-16 MiB parts). A part's ETag is the MD5 of its bytes (measured as they arrive, requests.Md5), as
S3 clients expect; it is checked against the client's Content-MD5 and signed SHA-256 on arrival
and, by the backend, on the way in.
Completing checks the list the client sends (order, ETags, S3's 5 MiB minimum for every part but
the last) before the backend joins the parts; the object's ETag is then the one every later GET,
HEAD and listing gives (`xml.etag`).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping

from adapters.contract import ObjectInfo
from adapters.uploads import UploadedPart

from ..upload_records import OpenUpload
from . import xml

MiB = 1024 * 1024
#: S3's smallest part but the last one.
MIN_PART_SIZE = 5 * MiB
#: The largest part this front takes (held in memory while it is sent on).
MAX_PART_SIZE = 256 * MiB
MAX_PARTS = 10_000


class MultipartError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class ClientPart:
    number: int
    etag: str  # hex MD5, as this front answered UploadPart


def part_number(value: str | None) -> int:
    if value is None or not value.isdigit() or not 1 <= int(value) <= MAX_PARTS:
        raise MultipartError("InvalidArgument", f"Part number must be an integer between 1 and "
                                                f"{MAX_PARTS}, inclusive")
    return int(value)


def read_part(chunks: Iterable[bytes], declared_sha256: str | None) -> bytes:
    """A part's bytes (at most MAX_PART_SIZE); the signed SHA-256, if any, must be theirs."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > MAX_PART_SIZE:
            raise MultipartError("EntityTooLarge", f"a part may hold at most {MAX_PART_SIZE} "
                                                   "bytes through Sortie's S3 front")
    data = bytes(buffer)
    if declared_sha256 is not None and hashlib.sha256(data).hexdigest() != declared_sha256:
        raise MultipartError("XAmzContentSHA256Mismatch", "the part's SHA-256 is not the "
                             "x-amz-content-sha256 signed with the request")
    return data


def completion_document(body: bytes) -> list[ClientPart]:
    """The parts a CompleteMultipartUpload names, in the order given."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise MultipartError("MalformedXML", "the CompleteMultipartUpload document is not "
                                             "XML") from None
    parts = []
    for item in root.iterfind("{*}Part"):
        number = (item.findtext("{*}PartNumber") or "").strip()
        etag = (item.findtext("{*}ETag") or "").strip().strip('"').lower()
        if not number.isdigit():
            raise MultipartError("MalformedXML", "a Part without a PartNumber")
        parts.append(ClientPart(int(number), etag))
    if not parts:
        raise MultipartError("MalformedXML", "CompleteMultipartUpload names no part")
    return parts


def chosen_parts(named: list[ClientPart], held: list[UploadedPart]) -> list[UploadedPart]:
    """The backend's parts for the list a client sent: ascending, each held with that ETag,
    each but the last at least MIN_PART_SIZE."""
    by_number = {p.number: p for p in held}
    chosen = []
    for before, after in zip(named, named[1:]):
        if after.number <= before.number:
            raise MultipartError("InvalidPartOrder", "The list of parts was not in ascending "
                                                     "order. Parts must be ordered by part number.")
    for part in named:
        found = by_number.get(part.number)
        # Where the backend cannot tell which bytes a part holds (md5 None), the client's ETag
        # cannot be checked here; the backend joins the part it holds.
        if found is None or (found.md5 is not None and not part.etag.startswith(found.md5)):
            raise MultipartError("InvalidPart", f"part {part.number} was not uploaded, or its "
                                 "ETag is not the one given when it was")
        chosen.append(found)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise MultipartError("EntityTooSmall", f"part {part.number} has {part.size} bytes: "
                                 "every part but the last needs at least 5 MiB")
    return chosen


def initiated(bucket: str, key: str, upload_id: str) -> bytes:
    return xml.document("InitiateMultipartUploadResult", xml.element("Bucket", bucket)
                        + xml.element("Key", key) + xml.element("UploadId", upload_id))


def completed(bucket: str, key: str, info: ObjectInfo) -> bytes:
    return xml.document("CompleteMultipartUploadResult",
                        xml.element("Location", f"/{bucket}/{key}")
                        + xml.element("Bucket", bucket) + xml.element("Key", key)
                        + xml.element("ETag", xml.etag(info)))


def copied_part(md5: str) -> bytes:
    now = datetime.now(timezone.utc)
    return xml.document("CopyPartResult", xml.element("LastModified", xml.timestamp(now))
                        + xml.element("ETag", f'"{md5}"'))


def parts_listing(bucket: str, key: str, upload_id: str, held: list[UploadedPart],
                  marker: int, limit: int, owner: str) -> bytes:
    after = [p for p in held if p.number > marker]
    page, more = after[:limit], len(after) > limit
    person = xml.person(owner)
    items = "".join("<Part>" + xml.element("PartNumber", p.number)
                    + xml.element("ETag", f'"{p.md5 or p.token}"')
                    + xml.element("Size", p.size) + "</Part>" for p in page)
    return xml.document("ListPartsResult", (
        xml.element("Bucket", bucket) + xml.element("Key", key)
        + xml.element("UploadId", upload_id)
        + f"<Initiator>{person}</Initiator><Owner>{person}</Owner>"
        + xml.element("StorageClass", "STANDARD")
        + xml.element("PartNumberMarker", marker)
        + xml.element("NextPartNumberMarker", page[-1].number if page else marker)
        + xml.element("MaxParts", limit) + xml.element("IsTruncated", str(more).lower())
        + items))


def uploads_listing(bucket: str, query: Mapping[str, str], found: list[OpenUpload],
                    wanted: int, owner: str) -> bytes:
    """ListMultipartUploadsResult: `found` holds up to `wanted` + 1 uploads after the markers
    (one more says the listing goes on); a delimiter groups keys as listings do."""
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter") or None
    page, truncated = found[:wanted], len(found) > wanted
    person = f"<Initiator>{xml.person(owner)}</Initiator><Owner>{xml.person(owner)}</Owner>"
    items, groups = [], []
    for upload in page:
        cut = upload.key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            group = upload.key[:cut + len(delimiter or "")]
            if group not in groups:
                groups.append(group)
            continue
        items.append("<Upload>" + xml.element("Key", upload.key)
                     + xml.element("UploadId", upload.upload_id) + person
                     + xml.element("StorageClass", "STANDARD")
                     + xml.element("Initiated", xml.timestamp(upload.started)) + "</Upload>")
    body = (xml.element("Bucket", bucket) + xml.element("KeyMarker", query.get("key-marker", ""))
            + xml.element("UploadIdMarker", query.get("upload-id-marker", ""))
            + xml.element("Prefix", prefix) + xml.element("MaxUploads", wanted)
            + xml.element("IsTruncated", str(truncated).lower())
            + (xml.element("Delimiter", delimiter) if delimiter else ""))
    if truncated and page:
        body += (xml.element("NextKeyMarker", page[-1].key)
                 + xml.element("NextUploadIdMarker", page[-1].upload_id))
    body += "".join(items) + "".join(f"<CommonPrefixes>{xml.element('Prefix', g)}"
                                     "</CommonPrefixes>" for g in groups)
    return xml.document("ListMultipartUploadsResult", body)
