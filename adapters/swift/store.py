"""SwiftStore: the storage contract on OpenStack Swift containers (buckets) and objects.

Where things live:
    <bucket>            the objects: small ones whole, large ones as SLO manifests
    <bucket>+segments   the segments of this bucket's SLOs, named <upload-id>/<00000001>...;
                        an upload session's record, <upload-id>/session.json, until it completes
`+` cannot appear in a bucket name (adapters/names.py), so a segments container never clashes with
a bucket, and `list_buckets` hides it.

Put: up to `capabilities.max_single_put` bytes are read into memory and sent as one PUT with their
MD5 as ETag (Swift refuses the bytes if they differ), after `IngestStream.finish()` has checked
size and SHA-256. A longer stream becomes segments of `capabilities.part_size_for(size)` bytes;
the manifest, carrying the metadata, the SHA-256 and the content type, is PUT last and only after
`finish()` passed, so the object appears whole or not at all. On any failure the segments already
sent are deleted. Overwriting or deleting an SLO deletes the segments it owned, after the change.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterator, Mapping

from swiftclient.exceptions import ClientException

from .. import metadata as md
from ..contract import (BaseStore, ByteRange, Capabilities, Feature, GiB, ListPage, MiB, ObjectInfo)
from ..errors import (AlreadyExists, BackendError, BucketNotFound, Conflict, IntegrityError,
                      InvalidRequest, ObjectNotFound, StorageError, TooLarge, TransientError,
                      UploadNotFound, translating)
from ..listing import decode_cursor, encode_cursor
from ..names import is_bucket_name
from ..streams import CHUNK_SIZE, IngestStream, ObjectReader, window
from .auth import ConnectionPool, Limits, SwiftAuth
from .errors import is_backend_error, translate
from ..uploads import UploadedPart
from .segments import (PushbackSource, Segment, SegmentBody, manifest_body, parse_manifest)

log = logging.getLogger(__name__)

SEGMENTS_SUFFIX = "+segments"
_SESSION = re.compile(r"^[0-9a-f]{32}$")
_SEGMENT = re.compile(r"^[0-9a-f]{32}/(\d{8})$")
SESSION_RECORD = "session.json"
META_PREFIX = "x-object-meta-"

#: Swift's defaults: max_file_size 5 GiB per PUT (so per segment), max_manifest_segments 1000.
#: Objects up to 16 MiB go in one PUT (buffered to send their MD5 first), larger ones as SLOs.
SWIFT_CAPABILITIES = Capabilities(
    max_parts=1000, min_part_size=16 * MiB, smallest_part=1, max_part_size=5 * GiB,
    max_object_size=1000 * 5 * GiB, max_single_put=16 * MiB, server_side_copy=True,
    native_hashes=("md5",), metadata=md.SWIFT_RULES,
    lacks={Feature.metadata_update: "Swift's POST of an object's metadata takes no condition: "
           "an object written between the check and the POST would get the old one's metadata"},
)


def segments_container(bucket: str) -> str:
    return bucket + SEGMENTS_SUFFIX


class SwiftStore(BaseStore):
    def __init__(self, name: str, auth: SwiftAuth, *, limits: Limits | None = None,
                 capabilities: Capabilities = SWIFT_CAPABILITIES) -> None:
        super().__init__(name, capabilities)
        self._pool = ConnectionPool(auth, limits or Limits())

    # ---- plumbing ----------------------------------------------------------------------------
    @contextmanager
    def _translated(self, bucket: str | None = None, key: str | None = None) -> Iterator[Any]:
        """Run Swift calls on this thread's connection; translate their failures once, here."""
        try:
            conn = self._pool.get()
            yield conn
        except StorageError:
            raise
        except BaseException as exc:
            if not (isinstance(exc, ClientException) and exc.http_status):
                # A network error or the caller's stream failing mid-request: the connection
                # may hold half a request, so the next call gets a fresh one.
                self._pool.discard()
            if not is_backend_error(exc):
                raise
            error = translate(exc, backend=self.name, bucket=bucket, key=key)
            if isinstance(error, ObjectNotFound) and bucket and not self._bucket_exists(bucket):
                error = BucketNotFound("no such bucket (Swift container)", backend=self.name,
                                       bucket=bucket)
            raise error from exc

    def close(self) -> None:
        self._pool.close()

    # ---- buckets -----------------------------------------------------------------------------
    def _create_bucket(self, bucket: str) -> None:
        if self._bucket_exists(bucket):
            raise AlreadyExists("bucket already exists", backend=self.name, bucket=bucket)
        with self._translated(bucket) as conn:
            conn.put_container(bucket)

    def _delete_bucket(self, bucket: str) -> None:
        try:
            with self._translated(bucket) as conn:
                conn.delete_container(bucket)
        except Conflict:
            raise Conflict("bucket is not empty", backend=self.name, bucket=bucket) from None
        # The bucket is gone; its segments container holds only orphans now (or nothing).
        self._drop_container(segments_container(bucket))

    def _drop_container(self, container: str) -> None:
        with self._translated(container) as conn:
            try:
                _, items = conn.get_container(container, full_listing=True)
            except ClientException as exc:
                if exc.http_status == 404:
                    return
                raise
            for item in items:
                self._delete_quietly(conn, container, item["name"])
            try:
                conn.delete_container(container)
            except ClientException as exc:
                if exc.http_status != 404:
                    raise

    def _bucket_exists(self, bucket: str) -> bool:
        with self._translated() as conn:
            try:
                conn.head_container(bucket)
                return True
            except ClientException as exc:
                if exc.http_status == 404:
                    return False
                raise

    def _list_buckets(self) -> list[str]:
        with self._translated() as conn:
            _, items = conn.get_account(full_listing=True)
        # Containers that are not valid bucket names (segments, other tools' `x_segments`...) cannot
        # be addressed through the contract, so they are not offered.
        return [item["name"] for item in items if is_bucket_name(item["name"])]

    # ---- put ---------------------------------------------------------------------------------
    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        threshold = self.capabilities.max_single_put
        head = b""
        if stream.size_hint is None or stream.size_hint <= threshold:
            head = stream.read(threshold + 1)
            if len(head) <= threshold:
                return self._put_single(bucket, key, head, stream, content_type, metadata)
        return self._put_slo(bucket, key, PushbackSource(stream, head), stream, content_type,
                             metadata)

    def _put_single(self, bucket: str, key: str, data: bytes, stream: IngestStream,
                    content_type: str, metadata: dict[str, str]) -> ObjectInfo:
        sha256 = stream.finish()
        old = self._owned_segments(bucket, key)
        headers = self._meta_headers(metadata, sha256)
        with self._translated(bucket) as conn:  # a 404 here can only mean the container is missing
            etag = conn.put_object(bucket, key, io.BytesIO(data), content_length=len(data),
                                   etag=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                                   content_type=content_type, headers=headers)
        self._delete_segments(old)
        return self._put_info(key, len(data), etag, content_type, metadata, sha256)

    def _put_slo(self, bucket: str, key: str, source: PushbackSource, stream: IngestStream,
                 content_type: str, metadata: dict[str, str]) -> ObjectInfo:
        segment_size = self.capabilities.part_size_for(stream.size_hint)
        container = segments_container(bucket)
        with self._translated(bucket) as conn:
            conn.head_container(bucket)  # no orphan segments for a bucket that does not exist
            conn.put_container(container)
        sent: list[Segment] = []
        tried: list[Segment] = []
        try:
            upload = uuid.uuid4().hex
            while True:
                first = source.read(min(CHUNK_SIZE, segment_size))
                if not first:
                    break
                if len(sent) == self.capabilities.max_parts:
                    raise TooLarge(f"the stream needs more than {self.capabilities.max_parts} "
                                   f"segments of {segment_size} bytes", backend=self.name,
                                   bucket=bucket, key=key)
                source.unread(first)
                name = f"{upload}/{len(sent) + 1:08d}"
                # Remember it before sending: a PUT whose answer is lost may still have landed.
                tried.append(Segment(container, name, "", 0))
                sent.append(self._put_segment(container, name, SegmentBody(source, segment_size),
                                              bucket, key))
            sha256 = stream.finish()
            if not sent:  # announced as large, turned out empty: finish() passed, so store it
                return self._put_single(bucket, key, b"", stream, content_type, metadata)
            old = self._owned_segments(bucket, key)
            with self._translated(bucket, key) as conn:
                etag = conn.put_object(bucket, key, manifest_body(sent),
                                       query_string="multipart-manifest=put",
                                       content_type=content_type,
                                       headers=self._meta_headers(metadata, sha256))
        except BaseException:
            self._delete_segments(tried)
            raise
        self._delete_segments(old)
        size = sum(s.size for s in sent)
        return self._put_info(key, size, etag, content_type, metadata, sha256)

    def _put_segment(self, container: str, name: str, body: SegmentBody, bucket: str,
                     key: str) -> Segment:
        with self._translated(bucket, key) as conn:
            etag = conn.put_object(container, name, iter(body),
                                   content_type="application/octet-stream")
        if etag.strip('"') != body.md5:
            raise IntegrityError(f"Swift stored segment {name} with MD5 {etag}, {body.md5} was "
                                 "sent", backend=self.name, bucket=bucket, key=key)
        return Segment(container, name, body.md5, body.length)

    def _meta_headers(self, metadata: Mapping[str, str], sha256: str | None) -> dict[str, str]:
        native = md.encode(metadata, self.capabilities.metadata, internal={"sha256": sha256})
        return {f"X-Object-Meta-{name}": value for name, value in native.items()}

    def _put_info(self, key: str, size: int, etag: str | None, content_type: str,
                  metadata: dict[str, str], sha256: str | None) -> ObjectInfo:
        return ObjectInfo(key=key, size=size, last_modified=datetime.now(timezone.utc),
                          etag=etag.strip('"') if etag else None, content_type=content_type,
                          metadata=metadata, sha256=sha256)

    # ---- upload sessions: segments sent one by one, the manifest at completion --------------
    def _start_upload(self, bucket: str, key: str, sha256: str | None, content_type: str,
                      metadata: dict[str, str]) -> str:
        native = uuid.uuid4().hex
        record = json.dumps({"key": key, "type": content_type, "meta": metadata},
                            ensure_ascii=False).encode("utf-8")
        with self._translated(bucket) as conn:
            conn.head_container(bucket)
            conn.put_container(segments_container(bucket))
            conn.put_object(segments_container(bucket), f"{native}/{SESSION_RECORD}", record,
                            content_type="application/json")
        return native

    def _session(self, bucket: str, key: str, native: str) -> dict[str, Any]:
        """The session's record; UploadNotFound if it does not exist for this key."""
        missing = UploadNotFound("no such upload", backend=self.name, bucket=bucket, key=key)
        if not _SESSION.match(native):
            raise missing
        with self._translated(bucket, key) as conn:
            try:
                _, raw = conn.get_object(segments_container(bucket), f"{native}/{SESSION_RECORD}")
            except ClientException as exc:
                if exc.http_status == 404:
                    raise missing from None
                raise
        record = json.loads(raw)
        if record.get("key") != key:
            raise missing
        return dict(record)

    def _upload_part(self, bucket: str, key: str, native: str, number: int,
                     data: bytes) -> UploadedPart:
        self._session(bucket, key, native)
        name = f"{native}/{number:08d}"
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._translated(bucket, key) as conn:
            conn.put_object(segments_container(bucket), name, io.BytesIO(data),
                            content_length=len(data), etag=md5,
                            content_type="application/octet-stream")
        return UploadedPart(number, len(data), md5, name)

    def _list_parts(self, bucket: str, key: str, native: str) -> list[UploadedPart]:
        self._session(bucket, key, native)
        with self._translated(bucket, key) as conn:
            _, items = conn.get_container(segments_container(bucket), prefix=f"{native}/",
                                          full_listing=True)
        parts = []
        for item in items:
            match = _SEGMENT.match(item["name"])
            if match:
                parts.append(UploadedPart(int(match.group(1)), int(item["bytes"]),
                                          str(item["hash"]).lower(), item["name"]))
        return parts

    def _complete_upload(self, bucket: str, key: str, native: str, parts: list[UploadedPart],
                         sha256: str | None) -> ObjectInfo:
        record = self._session(bucket, key, native)
        container = segments_container(bucket)
        segments = [Segment(container, p.token, p.md5 or "", p.size) for p in parts]
        if any(not _SEGMENT.match(p.token) or not p.token.startswith(native) for p in parts):
            raise InvalidRequest("a part does not belong to this upload", backend=self.name,
                                 bucket=bucket, key=key)
        old = self._owned_segments(bucket, key)
        with self._translated(bucket, key) as conn:
            # Swift checks each segment's ETag and size against the manifest before storing it.
            etag = conn.put_object(bucket, key, manifest_body(segments),
                                   query_string="multipart-manifest=put",
                                   content_type=record["type"],
                                   headers=self._meta_headers(record["meta"], sha256))
        chosen = {p.token for p in parts}
        unused = [s for s in self._session_objects(bucket, native) if s.name not in chosen]
        self._delete_segments(old + unused)
        return self._put_info(key, sum(p.size for p in parts), etag, record["type"],
                              dict(record["meta"]), sha256)

    def _abort_upload(self, bucket: str, key: str, native: str) -> None:
        try:
            self._session(bucket, key, native)
        except UploadNotFound:
            return
        self._delete_segments(self._session_objects(bucket, native))

    def _session_objects(self, bucket: str, native: str) -> list[Segment]:
        """Every object of the session in the segments container, its record last."""
        container = segments_container(bucket)
        with self._translated(bucket) as conn:
            _, items = conn.get_container(container, prefix=f"{native}/", full_listing=True)
        names = sorted((i["name"] for i in items), key=lambda n: n.endswith(SESSION_RECORD))
        return [Segment(container, name, "", 0) for name in names]

    # ---- SLO bookkeeping ---------------------------------------------------------------------
    def _owned_segments(self, bucket: str, key: str) -> list[Segment]:
        """The segments of the SLO stored at `key` that this bucket owns (none if the object is
        missing or not an SLO). Segments elsewhere belong to whoever wrote them: left alone."""
        own = segments_container(bucket)
        return [s for s in self._manifest(bucket, key) or [] if s.container == own]

    def _manifest(self, bucket: str, key: str) -> list[Segment] | None:
        with self._translated(bucket, key) as conn:
            try:
                headers = conn.head_object(bucket, key)
            except ClientException as exc:
                if exc.http_status == 404:
                    return None
                raise
            if headers.get("x-static-large-object", "").lower() != "true":
                return None
            _, raw = conn.get_object(bucket, key, query_string="multipart-manifest=get")
        try:
            return parse_manifest(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"unreadable SLO manifest: {exc}", backend=self.name,
                               bucket=bucket, key=key) from exc

    def _delete_segments(self, segments: list[Segment]) -> None:
        """Best effort: a segment left behind is invisible and only costs space, so a failure
        here is logged rather than turned into the failure of a put that succeeded."""
        if not segments:
            return
        try:
            with self._translated() as conn:
                for segment in segments:
                    self._delete_quietly(conn, segment.container, segment.name)
        except StorageError as exc:
            log.warning("%s: could not delete %d SLO segments (%s); they are orphans now",
                        self.name, len(segments), exc)

    @staticmethod
    def _delete_quietly(conn: Any, container: str, name: str) -> None:
        try:
            conn.delete_object(container, name)
        except ClientException as exc:
            if exc.http_status != 404:
                raise

    # ---- read --------------------------------------------------------------------------------
    def _head(self, bucket: str, key: str) -> ObjectInfo:
        with self._translated(bucket, key) as conn:
            headers = conn.head_object(bucket, key)
        return self._info(key, headers, int(headers["content-length"]))

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        request: dict[str, str] = {}
        if byte_range is not None:
            request["Range"] = _range_header(byte_range)
        with self._translated(bucket, key) as conn:
            headers, body = conn.get_object(bucket, key, resp_chunk_size=CHUNK_SIZE,
                                            headers=request)
            conn = self._pool.lend()  # the body reads through it: no other call may use it
        done = _Lent(self._pool, conn, body, int(headers.get("content-length", -1)))
        try:
            start, end, size = _body_span(headers, byte_range)
        except BaseException:
            done.close()
            raise
        info = self._info(key, headers, size)
        return ObjectReader(info, self._read(done, start, end, headers, bucket, key),
                            start=start, end=end, on_close=done.close)

    def _read(self, done: "_Lent", start: int, end: int, headers: Mapping[str, str],
              bucket: str, key: str) -> Iterator[bytes]:
        # Swift may ignore a Range (200 with the whole object): then skip to `start` here.
        skip = start if "content-range" not in headers else 0
        try:
            with translating(is_backend_error, translate, backend=self.name, bucket=bucket,
                             key=key):
                remaining = yield from window(done.body, skip, end - start + 1)
            # Read to the end of the response (not only of the window), the connection is
            # clean: Swift answered the range asked, or the whole object was asked.
            done.read_whole = remaining == 0 and (
                "content-range" in headers or (skip == 0 and end + 1 == done.length))
        finally:
            done.close()
        if remaining > 0:
            # E.g. an SLO segment went missing: Swift stops mid-body.
            raise TransientError(f"Swift ended the body {remaining} bytes early",
                                 backend=self.name, bucket=bucket, key=key)

    def _info(self, key: str, headers: Mapping[str, str], size: int) -> ObjectInfo:
        native = {name[len(META_PREFIX):]: value for name, value in headers.items()
                  if name.lower().startswith(META_PREFIX)}
        user, internal = md.decode(native, self.capabilities.metadata)
        modified = headers.get("last-modified")
        etag = headers.get("etag")
        return ObjectInfo(key=key, size=size,
                          last_modified=parsedate_to_datetime(modified) if modified else None,
                          etag=etag.strip('"') if etag else None,
                          content_type=headers.get("content-type"), metadata=user,
                          sha256=internal.get("sha256"))

    # ---- delete ------------------------------------------------------------------------------
    def _delete(self, bucket: str, key: str) -> None:
        manifest = self._manifest(bucket, key)
        with self._translated(bucket, key) as conn:
            try:
                conn.delete_object(bucket, key)
            except ClientException as exc:
                if exc.http_status != 404:
                    raise
                if not self._bucket_exists(bucket):
                    raise BucketNotFound("no such bucket (Swift container)", backend=self.name,
                                         bucket=bucket) from None
                return
        own = segments_container(bucket)
        self._delete_segments([s for s in manifest or [] if s.container == own])

    # ---- list --------------------------------------------------------------------------------
    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        marker = decode_cursor(cursor)[0] if cursor else None
        if marker is not None and not marker.startswith(prefix):
            raise InvalidRequest("cursor does not belong to this listing", bucket=bucket)
        with self._translated(bucket) as conn:
            # One more than asked: whether a next page exists is known without an empty page.
            _, items = conn.get_container(bucket, marker=marker, limit=limit + 1,
                                          prefix=prefix or None, delimiter=delimiter)
        more = len(items) > limit
        items = items[:limit]
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        for item in items:
            if "subdir" in item:
                prefixes.append(item["subdir"])
            else:
                objects.append(_listed(item))
        last = items[-1].get("subdir") or items[-1].get("name") if items else None
        return ListPage(objects, prefixes, encode_cursor(last, False) if more and last else None)

    # ---- copy --------------------------------------------------------------------------------
    def _copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        with self._translated(bucket, key) as conn:
            source = conn.head_object(bucket, key)
        if not self._bucket_exists(dest_bucket):
            raise BucketNotFound("no such bucket (Swift container)", backend=self.name,
                                 bucket=dest_bucket)
        old = self._owned_segments(dest_bucket, dest_key)
        if source.get("x-static-large-object", "").lower() == "true":
            self._copy_slo(bucket, key, source, dest_bucket, dest_key)
        else:
            # Swift copies bytes, content type and user metadata (the SHA-256 with them).
            with self._translated(bucket, key) as conn:
                conn.copy_object(bucket, key, destination=f"/{dest_bucket}/{dest_key}")
        if (dest_bucket, dest_key) != (bucket, key):
            self._delete_segments(old)
        return self._head(dest_bucket, dest_key)

    def _copy_slo(self, bucket: str, key: str, source: Mapping[str, str], dest_bucket: str,
                  dest_key: str) -> None:
        """Copy every segment server-side into the destination's own segments, then store a new
        manifest: two objects never share segments, so deleting one cannot break the other."""
        manifest = self._manifest(bucket, key)
        if manifest is None:
            raise ObjectNotFound("the object changed during the copy", backend=self.name,
                                 bucket=bucket, key=key)
        container = segments_container(dest_bucket)
        upload = uuid.uuid4().hex
        copies: list[Segment] = []
        try:
            with self._translated(dest_bucket, dest_key) as conn:
                conn.put_container(container)
                for i, segment in enumerate(manifest, 1):
                    copy = Segment(container, f"{upload}/{i:08d}", segment.etag, segment.size)
                    copies.append(copy)
                    conn.copy_object(segment.container, segment.name, destination=copy.path)
                headers = {name: value for name, value in source.items()
                           if name.lower().startswith(META_PREFIX)}
                conn.put_object(dest_bucket, dest_key, manifest_body(copies),
                                query_string="multipart-manifest=put",
                                content_type=source.get("content-type"), headers=headers)
        except BaseException:
            self._delete_segments(copies)
            raise


def _range_header(byte_range: ByteRange) -> str:
    if byte_range.suffix is not None:
        return f"bytes=-{byte_range.suffix}"
    return f"bytes={byte_range.start}-{'' if byte_range.end is None else byte_range.end}"


def _body_span(headers: Mapping[str, str], byte_range: ByteRange | None) -> tuple[int, int, int]:
    """(first byte, last byte, object size) of a GET answer."""
    content_range = headers.get("content-range")
    if content_range:  # "bytes 100-199/1000"
        try:
            span, _, total = content_range.split(" ", 1)[1].partition("/")
            low, _, high = span.partition("-")
            return int(low), int(high), int(total)
        except (IndexError, ValueError):
            raise BackendError(f"unreadable Content-Range {content_range!r}") from None
    size = int(headers["content-length"])
    if byte_range is None:
        return 0, size - 1, size
    first, last = byte_range.resolve(size)
    return first, last, size


def _listed(item: Mapping[str, Any]) -> ObjectInfo:
    modified = item.get("last_modified")
    etag = item.get("slo_etag") or item.get("hash")
    return ObjectInfo(
        key=item["name"], size=int(item["bytes"]),
        last_modified=(datetime.fromisoformat(modified).replace(tzinfo=timezone.utc)
                       if modified else None),
        etag=str(etag).strip('"') if etag else None, content_type=item.get("content_type"),
        complete=False)


class _Lent:
    """A body and the connection it holds alone; closing gives the connection back (to be
    reused only if the body was read to its end)."""

    def __init__(self, pool: ConnectionPool, conn: Any, body: Any, length: int) -> None:
        self.pool, self.conn, self.body, self.length = pool, conn, body, length
        self.read_whole = False
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.body.close()
        finally:
            self.pool.give_back(self.conn, self.read_whole)
