"""The S3 adapter (`type: s3`) on boto3, for AWS and every S3-compatible provider.

How a put works (the contract wants the SHA-256 stored with the object and nothing visible
until every byte is checked; S3 wants user metadata at the start of an upload):
- Small objects (up to `capabilities.max_single_put`: the part size, or the provider's single
  PUT limit if lower) are read into memory, hashed, and sent with one
  PutObject carrying Content-MD5 (the server checks the bytes) and `sortie-sha256` metadata.
- Large objects whose size AND SHA-256 the caller announced (drills copying from a source that
  recorded both) stream straight through a multipart upload: the announced hash goes into the
  metadata at CreateMultipartUpload, parts go up as they arrive, and the hash of what actually
  went through is checked before CompleteMultipartUpload; a mismatch aborts the upload.
- Any other large or unknown-length stream is first spooled to a local temporary file while it
  is hashed, then uploaded in parts from the file, with the real hash in the metadata from the
  start. The price: the whole object is read once before its first byte leaves.
- Memory stays bounded whatever the object size: parts up to 64 MiB are in memory, one per
  worker; larger parts are sent from disk (adapters/s3/parts.py).
- A multipart upload is invisible until CompleteMultipartUpload, and any failure, including the
  caller's stream raising, aborts it: no partial object is ever visible.
- Part sizes come from `Capabilities.part_size_for` (object size, the provider's max parts and
  part bounds, e.g. Scaleway's 1,000 parts), never from a fixed default that could overflow.
- Every part carries a checksum the server verifies: CRC32 where the preset says the provider
  checks it (six times cheaper than MD5), Content-MD5 elsewhere.

Other provider differences are quirks in the preset (adapters/s3/presets/*.yaml): CRC32
checksums only where supported (`when_required` elsewhere), path-style addressing, server-side
copy only where it works (else BaseStore streams the copy), and key escaping for servers that
store keys as file paths (adapters/keys/path_escape.py).

Retries are not done here but by composition (adapters/layers/retry.py, applied by the
registry); botocore is told not to retry, so the two never multiply.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from .. import fast_io
from .. import metadata as md
from ..contract import (DEFAULT_CONTENT_TYPE, BaseStore, ByteRange, Capabilities, ListPage,
                        ObjectInfo)
from ..errors import (BackendError, BucketNotFound, Conflict, StorageError, TooLarge, Unsupported,
                      UploadNotFound)
from ..fast_io import FastPath
from ..streams import IngestStream, ObjectReader
from ..uploads import UploadedPart, md5_or_none
from .client import flexible_checksums, make_client
from .errors import translated
from ..keys import PLAIN
from ..keys.path_escape import PATH_ESCAPE
from .parts import Chunker, Part, close_part, part_md5, spool_parts
from .presets import S3Settings
from .reader import S3Reader, chunks, clean_etag, extent, range_header, sliced
from .treelist import TreeLister

#: Spooled uploads keep up to this much in memory before the temporary file goes to disk.
SPOOL_MEMORY = 8 * 1024 * 1024


class S3Store(BaseStore):
    def __init__(self, name: str, settings: S3Settings, *, client: Any = None,
                 capabilities: Capabilities | None = None, fast: FastPath | None = None) -> None:
        super().__init__(name, capabilities or settings.quirks.capabilities())
        self.settings = settings
        #: obstore for whole-object GETs and single PUTs where it keeps the contract.
        self.fast = fast
        self.client = client or make_client(settings, pool=max(32, settings.quirks.concurrency * 4))
        self.keys = PATH_ESCAPE if settings.quirks.path_like_keys else PLAIN
        self.part_size_preference = settings.quirks.part_size
        self.concurrency = settings.quirks.concurrency
        #: Keep the content type given in Sortie's own entry too (the provider rewrites it).
        self.keeps_content_type = settings.quirks.guesses_content_type
        # Each part carries a checksum the server verifies: botocore's CRC32 where the provider
        # supports it (cheap), else Content-MD5 (about 6x the CPU of CRC32).
        self.part_md5 = not flexible_checksums(settings)

    def close(self) -> None:
        self.client.close()

    # ---- buckets -----------------------------------------------------------------------------
    def _create_bucket(self, bucket: str) -> None:
        args: dict[str, Any] = {"Bucket": bucket}
        if self.settings.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        with translated(self.name, bucket):
            self.client.create_bucket(**args)

    def _delete_bucket(self, bucket: str) -> None:
        with translated(self.name, bucket):
            self.client.delete_bucket(Bucket=bucket)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            with translated(self.name, bucket):
                self.client.head_bucket(Bucket=bucket)
        except StorageError as exc:
            if exc.http_status == 404:
                return False
            raise
        return True

    def _list_buckets(self) -> list[str]:
        with translated(self.name):
            return [b["Name"] for b in self.client.list_buckets().get("Buckets", [])]

    # ---- put ---------------------------------------------------------------------------------
    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        size = stream.size_hint
        single = self.capabilities.max_single_put
        source = Chunker(stream)
        if size is not None and size <= single:
            return self._put_small(bucket, key, source.take(size + 1), stream, content_type,
                                   metadata)
        # Streaming sends the metadata first: only when nothing is left to add at the end.
        if size is not None and stream.expected_sha256 is not None and stream.on_finish is None:
            return self._put_streaming(bucket, key, source, stream, content_type, metadata,
                                       self._part_size(size))
        head = source.take(single + 1)
        if len(head) <= single:
            return self._put_small(bucket, key, head, stream, content_type, metadata)
        return self._put_spooled(bucket, key, head, source, stream, content_type, metadata)

    def _part_size(self, size: int | None) -> int:
        needed = self.capabilities.part_size_for(size) if size is not None else \
            self.capabilities.min_part_size
        return min(max(needed, self.part_size_preference), self.capabilities.max_part_size)

    def _args(self, bucket: str, key: str, content_type: str, metadata: Mapping[str, str],
              sha256: str | None) -> dict[str, Any]:
        return {"Bucket": bucket, "Key": self.keys.to_name(key), "ContentType": content_type,
                "Metadata": self._native_metadata(metadata, sha256, content_type)}

    def _native_metadata(self, metadata: Mapping[str, str], sha256: str | None,
                         content_type: str | None) -> dict[str, str]:
        internal = {"sha256": sha256,
                    "ctype": content_type if self.keeps_content_type else None}
        return md.encode(metadata, self.capabilities.metadata, internal=internal)

    def _content_type(self, internal: Mapping[str, str], served: str | None) -> str | None:
        """The type given at the put: the provider's unless it may have rewritten it."""
        return internal.get("ctype") or served

    def _put_small(self, bucket: str, key: str, data: bytes, stream: IngestStream,
                   content_type: str, metadata: dict[str, str]) -> ObjectInfo:
        sha256 = stream.finish()  # checks size and announced hash before anything is sent
        if self.fast is not None:
            info = self._put_fast(bucket, key, data, content_type, metadata, sha256)
            if info is not None:
                return info
        digest = hashlib.md5(data)
        with translated(self.name, bucket, key):
            reply = self.client.put_object(
                Body=data, ContentMD5=base64.b64encode(digest.digest()).decode("ascii"),
                **self._args(bucket, key, content_type, metadata, sha256))
        return self._info(key, len(data), reply.get("ETag"), content_type, metadata, sha256)

    def _put_fast(self, bucket: str, key: str, data: bytes, content_type: str,
                  metadata: dict[str, str], sha256: str) -> ObjectInfo | None:
        assert self.fast is not None
        stored = self.fast.put(bucket, self.keys.to_name(key), key, data, content_type,
                               self._native_metadata(metadata, sha256, content_type))
        if stored is None:
            return None
        return self._info(key, len(data), stored.etag, content_type, metadata, sha256)

    def _put_spooled(self, bucket: str, key: str, head: bytes, source: "Chunker",
                     stream: IngestStream, content_type: str,
                     metadata: dict[str, str]) -> ObjectInfo:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, prefix="sortie-s3-") as spool:
            spool.write(head)
            for chunk in source.rest():
                spool.write(chunk)
            sha256 = stream.finish()
            size = stream.bytes_read
            if size > self.capabilities.max_object_size:
                raise TooLarge(f"{size} bytes exceed this backend's maximum object size of "
                               f"{self.capabilities.max_object_size}", backend=self.name,
                               bucket=bucket, key=key)
            part_size = self._part_size(size)
            etag = self._multipart(bucket, key, content_type, metadata, sha256,
                                   spool_parts(spool, size, part_size), before_complete=None)
        return self._info(key, size, etag, content_type, metadata, sha256)

    def _put_streaming(self, bucket: str, key: str, source: "Chunker", stream: IngestStream,
                       content_type: str, metadata: dict[str, str],
                       part_size: int) -> ObjectInfo:
        assert stream.expected_sha256 is not None

        def parts() -> Iterator[Part]:
            first = True
            while True:
                part = source.take_part(part_size)
                length = len(part)
                if length == 0 and not first:
                    close_part(part)
                    return
                first = False
                yield part
                if length < part_size:
                    return

        etag = self._multipart(bucket, key, content_type, metadata, stream.expected_sha256,
                               parts(), before_complete=stream.finish)
        return self._info(key, stream.bytes_read, etag, content_type, metadata,
                          stream.expected_sha256)

    def _multipart(self, bucket: str, key: str, content_type: str, metadata: Mapping[str, str],
                   sha256: str, parts: Iterator[Part],
                   before_complete: Callable[[], object] | None) -> str | None:
        """Upload `parts` in order with bounded concurrency; complete only if every part went up
        and `before_complete` did not raise; otherwise abort and re-raise."""
        args = self._args(bucket, key, content_type, metadata, sha256)
        with translated(self.name, bucket, key):
            upload_id = self.client.create_multipart_upload(**args)["UploadId"]
        stored_key = args["Key"]
        done: dict[int, str] = {}
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="sortie-s3-part") as pool:
                pending: set[Future[tuple[int, str]]] = set()
                for number, part in enumerate(parts, start=1):
                    if number > self.capabilities.max_parts:
                        close_part(part)
                        raise TooLarge(f"the object needs more than {self.capabilities.max_parts} "
                                       "parts", backend=self.name, bucket=bucket, key=key)
                    pending.add(pool.submit(self._upload_part_once, bucket, key, stored_key,
                                            upload_id, number, part))
                    if len(pending) >= self.concurrency:  # keep at most `concurrency` parts
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in finished:
                            number_done, etag = future.result()
                            done[number_done] = etag
                for future in pending:
                    number_done, etag = future.result()
                    done[number_done] = etag
            if before_complete is not None:
                before_complete()
            with translated(self.name, bucket, key):
                reply = self.client.complete_multipart_upload(
                    Bucket=bucket, Key=stored_key, UploadId=upload_id,
                    MultipartUpload={"Parts": [{"PartNumber": n, "ETag": done[n]}
                                               for n in sorted(done)]})
            return reply.get("ETag")
        except BaseException:
            self._abort(bucket, stored_key, upload_id)
            raise

    def _upload_part_once(self, bucket: str, key: str, stored_key: str, upload_id: str,
                          number: int, part: Part) -> tuple[int, str]:
        try:
            extra = {"ContentMD5": base64.b64encode(part_md5(part)).decode("ascii")} \
                if self.part_md5 else {}
            with translated(self.name, bucket, key):
                reply = self.client.upload_part(Bucket=bucket, Key=stored_key,
                                                UploadId=upload_id, PartNumber=number,
                                                Body=part, **extra)
            return number, reply["ETag"]
        finally:
            close_part(part)

    def _abort(self, bucket: str, stored_key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=bucket, Key=stored_key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the original failure matters more; lifecycle rules
            pass           # or a later abort clean up what is left (it is never visible)

    def _info(self, key: str, size: int, etag: str | None, content_type: str,
              metadata: Mapping[str, str], sha256: str | None) -> ObjectInfo:
        return ObjectInfo(key=key, size=size, last_modified=datetime.now(timezone.utc),
                          etag=clean_etag(etag), content_type=content_type, metadata=dict(metadata),
                          sha256=sha256)

    # ---- upload sessions: S3's own multipart uploads ------------------------------------------
    def _start_upload(self, bucket: str, key: str, sha256: str | None, content_type: str,
                      metadata: dict[str, str]) -> str:
        with translated(self.name, bucket, key):
            return str(self.client.create_multipart_upload(
                **self._args(bucket, key, content_type, metadata, sha256))["UploadId"])

    def _upload_part(self, bucket: str, key: str, native: str, number: int,
                     data: bytes) -> UploadedPart:
        _, etag = self._upload_part_once(bucket, key, self.keys.to_name(key), native, number,
                                         data)
        return UploadedPart(number, len(data), md5_or_none(etag), etag)

    def _list_parts(self, bucket: str, key: str, native: str) -> list[UploadedPart]:
        found: dict[int, UploadedPart] = {}
        marker = 0
        while True:
            with translated(self.name, bucket, key):
                reply = self.client.list_parts(Bucket=bucket, Key=self.keys.to_name(key),
                                               UploadId=native, PartNumberMarker=marker)
            for item in reply.get("Parts", []):
                number = int(item["PartNumber"])
                part = UploadedPart(number, int(item["Size"]), md5_or_none(item.get("ETag")),
                                    item["ETag"])
                # SeaweedFS lists every copy of a part sent twice, with no way to tell the
                # latest: then say nothing of its bytes, so a resuming caller sends it again.
                found[number] = part if number not in found else \
                    UploadedPart(number, part.size, None, part.token)
            if not reply.get("IsTruncated"):
                return list(found.values())
            marker = int(reply["NextPartNumberMarker"])

    def _complete_upload(self, bucket: str, key: str, native: str, parts: list[UploadedPart],
                         sha256: str | None) -> ObjectInfo:
        with translated(self.name, bucket, key):
            self.client.complete_multipart_upload(
                Bucket=bucket, Key=self.keys.to_name(key), UploadId=native,
                MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.token}
                                           for p in parts]})
        return self.head(bucket, key)

    def _abort_upload(self, bucket: str, key: str, native: str) -> None:
        try:
            with translated(self.name, bucket, key):
                self.client.abort_multipart_upload(Bucket=bucket, Key=self.keys.to_name(key),
                                                   UploadId=native)
        except UploadNotFound:
            pass

    # ---- read --------------------------------------------------------------------------------
    def _head(self, bucket: str, key: str) -> ObjectInfo:
        try:
            with translated(self.name, bucket, key):
                reply = self.client.head_object(Bucket=bucket, Key=self.keys.to_name(key))
        except StorageError as exc:
            if exc.http_status == 404 and not self._bucket_exists(bucket):
                raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket) from exc
            raise
        return self._object_info(key, reply, int(reply.get("ContentLength", 0)))

    def _object_info(self, key: str, reply: Mapping[str, Any], size: int) -> ObjectInfo:
        user, internal = md.decode(reply.get("Metadata") or {}, self.capabilities.metadata)
        return ObjectInfo(key=key, size=size, last_modified=reply.get("LastModified"),
                          etag=clean_etag(reply.get("ETag")),
                          content_type=self._content_type(internal, reply.get("ContentType")),
                          metadata=user, sha256=internal.get("sha256"))

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        if byte_range is None and self.fast is not None:
            reader = self._get_fast(bucket, key)
            if reader is not None:
                return reader
        args: dict[str, Any] = {"Bucket": bucket, "Key": self.keys.to_name(key)}
        if byte_range is not None:
            args["Range"] = range_header(byte_range)
        with translated(self.name, bucket, key):
            reply = self.client.get_object(**args)
        body = reply["Body"]
        try:
            total, start, end = extent(reply, byte_range)
            info = self._object_info(key, reply, total)
            if byte_range is not None and reply.get("ContentRange") is None:
                # The server ignored the range (some do for empty objects): apply it here.
                start, end = byte_range.resolve(total)
                return ObjectReader(info, sliced(body, start, end, self.name, bucket, key),
                                    start=start, end=end, on_close=body.close)
        except BaseException:
            body.close()
            raise
        return S3Reader(info, body, (self.name, bucket, key), start=start, end=end)

    def _get_fast(self, bucket: str, key: str) -> ObjectReader | None:
        """A whole object through obstore; None where boto3 must read it (see fast_io)."""
        assert self.fast is not None
        name = self.keys.to_name(key)
        fetched = self.fast.get(bucket, name, key)
        if fetched is None:
            return None
        user, internal = md.decode(fetched.native, self.capabilities.metadata)
        info = ObjectInfo(key=key, size=fetched.size, last_modified=fetched.last_modified,
                          etag=clean_etag(fetched.etag),
                          content_type=self._content_type(internal, fetched.content_type),
                          metadata=user, sha256=internal.get("sha256"))
        return fast_io.reader(info, fetched, lambda: self._rest(bucket, key, name, fetched.etag),
                              backend=self.name, bucket=bucket)

    def _rest(self, bucket: str, key: str, name: str, etag: str | None) -> Iterator[bytes]:
        """The bytes after the first `HEAD_BYTES`, of the same version (If-Match)."""
        args = {"Bucket": bucket, "Key": name, "Range": f"bytes={fast_io.HEAD_BYTES}-"}
        try:
            with translated(self.name, bucket, key):
                reply = self.client.get_object(**args, **({"IfMatch": etag} if etag else {}))
        except Conflict as exc:  # 412: replaced since the first bytes were read
            raise fast_io.changed(self.name, bucket, key) from exc
        try:
            yield from chunks(reply["Body"], self.name, bucket, key)
        finally:
            reply["Body"].close()

    def _delete(self, bucket: str, key: str) -> None:
        with translated(self.name, bucket, key):
            self.client.delete_object(Bucket=bucket, Key=self.keys.to_name(key))

    def delete_many(self, bucket: str, keys: list[str]) -> None:
        """Delete up to 1,000 keys in one DeleteObjects call (missing keys are fine)."""
        if not keys:
            return
        with translated(self.name, bucket):
            reply = self.client.delete_objects(Bucket=bucket, Delete={
                "Objects": [{"Key": self.keys.to_name(k)} for k in keys], "Quiet": True})
        errors = reply.get("Errors") or []
        if errors:
            first = errors[0]
            raise BackendError(f"{len(errors)} keys not deleted, first {first.get('Key')!r}: "
                               f"{first.get('Code')} {first.get('Message')}",
                               backend=self.name, bucket=bucket)

    # ---- list and copy -----------------------------------------------------------------------
    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        if self.keys.enabled:  # a file-tree server: rebuild S3's order (see treelist.py)
            return TreeLister(lambda p, token: self._list_once(bucket, p, "/", token, 1000)) \
                .page(prefix, delimiter, cursor, limit)
        objects, prefixes, cursor_out = self._list_once(bucket, prefix, delimiter, cursor, limit)
        return ListPage(objects, prefixes, cursor_out)

    def _list_once(self, bucket: str, prefix: str, delimiter: str | None, token: str | None,
                   limit: int) -> tuple[list[ObjectInfo], list[str], str | None]:
        # botocore asks for EncodingType=url and decodes the reply itself, so any key (spaces,
        # '+', unicode, XML-hostile characters) comes back exactly.
        args: dict[str, Any] = {"Bucket": bucket, "MaxKeys": limit,
                                "Prefix": self.keys.to_prefix(prefix)}
        if delimiter:
            args["Delimiter"] = delimiter
        if token:
            args["ContinuationToken"] = token
        with translated(self.name, bucket):
            reply = self.client.list_objects_v2(**args)
        objects = [ObjectInfo(key=self._key(o["Key"]), size=int(o.get("Size", 0)),
                              last_modified=o.get("LastModified"), etag=clean_etag(o.get("ETag")),
                              complete=False)
                   for o in reply.get("Contents", [])
                   # On a file-tree server, "x/" entries are directories (escaped keys never end
                   # with "/"), such as those left behind when their last object is deleted.
                   if not (self.keys.enabled and o["Key"].endswith("/"))]
        prefixes = [self._key(p["Prefix"]) for p in reply.get("CommonPrefixes", [])]
        next_token = reply.get("NextContinuationToken") if reply.get("IsTruncated") else None
        return objects, prefixes, next_token

    def _key(self, name: str) -> str:
        key = self.keys.from_name(name)
        assert key is not None  # S3's codecs map every stored name to a key
        return key

    def _set_metadata(self, bucket: str, key: str, metadata: dict[str, str],
                      if_etag: str) -> None:
        # S3 changes metadata only by copying an object onto itself (REPLACE), server-side, and
        # CopySourceIfMatch makes it conditional; the SHA-256 and type are read to be kept.
        current = self._head(bucket, key)
        self._changed(bucket, key, current.etag, if_etag)
        if current.size > self.settings.quirks.max_single_put:
            raise Unsupported(f"metadata updates of objects over "
                              f"{self.settings.quirks.max_single_put} bytes need a multipart "
                              "copy (UploadPartCopy), not built yet",
                              backend=self.name, bucket=bucket, key=key)
        name = self.keys.to_name(key)
        content_type = current.content_type or DEFAULT_CONTENT_TYPE
        with translated(self.name, bucket, key):
            self.client.copy_object(
                Bucket=bucket, Key=name, CopySource={"Bucket": bucket, "Key": name},
                CopySourceIfMatch=f'"{if_etag}"', MetadataDirective="REPLACE",
                ContentType=content_type,
                Metadata=self._native_metadata(metadata, current.sha256, content_type))

    def _copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        source = self.head(bucket, key)
        if source.size > self.settings.quirks.max_single_put:
            # CopyObject stops where a single PUT does (5 GiB on AWS); larger objects are
            # streamed (UploadPartCopy is not implemented yet).
            return self._streamed_copy(bucket, key, dest_bucket, dest_key)
        with translated(self.name, dest_bucket, dest_key):
            self.client.copy_object(
                Bucket=dest_bucket, Key=self.keys.to_name(dest_key),
                CopySource={"Bucket": bucket, "Key": self.keys.to_name(key)},
                MetadataDirective="COPY")
        return self.head(dest_bucket, dest_key)
