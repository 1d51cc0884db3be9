"""Azure Blob adapter (`type: azure`): containers are buckets, block blobs are objects.

Writes: up to `max_single_put` bytes go in one Put Blob with Content-MD5; larger or longer
streams go as staged blocks (adapters/azure/blocks.py) committed by Put Block List. Either way the
request that makes the blob visible is sent only after `IngestStream.finish()` checked size and
SHA-256, and it carries the metadata, the content type and the SHA-256 (`sortie_sha256`), so a
reader never sees a blob without them. Reads work on any block blob, including those written by
other tools: no Sortie hash there means `sha256=None`, never a guessed one.

Known differences from the contract, on Azurite at least: listings come in Azure's order, which
there is UTF-16 order, so a key with a character above U+FFFF (an emoji) sorts before one with
U+E000-U+FFFF at the same position, where UTF-8 byte order puts it after. On Azure itself, a
same-account copy may stay "pending" for a while (Azurite always completes at once); Sortie waits
for it, but the destination exists during that time.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import re
import threading
import time
from typing import Any, Callable, Iterator, Mapping, TypeVar

from azure.core import MatchConditions
from azure.storage.blob import (BlobBlock, BlobClient, BlobPrefix, BlobProperties,
                                BlobServiceClient, ContentSettings)

from .. import fast_io
from .. import metadata as md
from ..contract import BaseStore, ByteRange, Capabilities, Feature, ListPage, MiB, ObjectInfo
from ..errors import (BackendError, BucketNotFound, Conflict, ObjectNotFound, StorageError,
                      TransientError)
from ..fast_io import FastPath
from ..streams import IngestStream, ObjectReader
from ..uploads import UploadedPart
from . import sessions
from .blocks import BlockStager, block_sizes, split
from .errors import translate
from ..keys.backslash import from_blob_name, to_blob_name

T = TypeVar("T")

#: Azure's limits (50,000 blocks of at most 4,000 MiB; Put Blob up to 5,000 MiB) with Sortie's
#: choices inside them: blocks of at least 8 MiB, and one Put Blob only up to 32 MiB, because
#: a single request is buffered whole (to hash it before sending) and cannot be parallelised.
AZURE_CAPABILITIES = Capabilities(
    max_parts=50_000,
    min_part_size=8 * MiB,
    smallest_part=1,  # blocks of any size (8 MiB above is what Sortie sends)
    max_part_size=4000 * MiB,
    max_object_size=50_000 * 4000 * MiB,
    max_single_put=32 * MiB,
    server_side_copy=True,
    native_hashes=("md5",),
    metadata=md.AZURE_RULES,
    lacks={Feature.atomic_bucket_delete: "Azure deletes a container with whatever it holds and "
                                         "has no conditional delete-if-empty: a blob written "
                                         "between the emptiness check and the delete goes too"},
)

#: How long a server-side copy may stay "pending" before Sortie gives up on it.
COPY_TIMEOUT = 600.0
#: Blocks in flight across all the uploads of one store, as a multiple of one upload's: two
#: large uploads at once go at full speed, more share the budget (memory stays bounded).
_SHARED_BLOCKS_FACTOR = 2
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_TOTAL_FROM_RANGE = re.compile(r"/(\d+)$")


class AzureStore(BaseStore):
    def __init__(self, name: str, client: BlobServiceClient,
                 capabilities: Capabilities = AZURE_CAPABILITIES, *, max_concurrency: int = 4,
                 fast: FastPath | None = None) -> None:
        super().__init__(name, capabilities)
        self.client = client
        #: obstore for whole-object GETs and single PUTs where it keeps the contract.
        self.fast = fast
        self.max_concurrency = max_concurrency
        self._blocks_in_flight = threading.BoundedSemaphore(max_concurrency * _SHARED_BLOCKS_FACTOR)

    # ---- plumbing ----------------------------------------------------------------------------
    def _translated(self, action: Callable[[], T], bucket: str | None = None,
              key: str | None = None) -> T:
        """Run one SDK call and translate what it raises (the only place that does)."""
        try:
            return action()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes a contract error
            raise translate(exc, backend=self.name, bucket=bucket, key=key,
                            account_url=self.client.url) from exc

    def _blob(self, bucket: str, key: str) -> BlobClient:
        return self.client.get_blob_client(bucket, to_blob_name(key))

    def _info(self, key: str, props: BlobProperties, size: int | None = None) -> ObjectInfo:
        user, internal = md.decode(props.metadata or {}, md.AZURE_RULES)
        sha256 = internal.get("sha256")
        return ObjectInfo(
            key=key, size=props.size if size is None else size,
            last_modified=props.last_modified, etag=props.etag,
            content_type=props.content_settings.content_type if props.content_settings else None,
            metadata=user,
            # Only a well-formed hash that Sortie recorded; anything else is "not known".
            sha256=sha256.lower() if sha256 and _SHA256.fullmatch(sha256) else None)

    # ---- buckets -----------------------------------------------------------------------------
    def _create_bucket(self, bucket: str) -> None:
        self._translated(lambda: self.client.create_container(bucket), bucket)

    def _delete_bucket(self, bucket: str) -> None:
        container = self.client.get_container_client(bucket)
        # Azure deletes a container with everything in it; the contract refuses a non-empty
        # bucket. Check first (a blob written between the check and the delete would go too:
        # Azure offers no conditional "delete if empty").
        first = self._translated(lambda: next(container.list_blobs(results_per_page=1).by_page(), []),
                           bucket)
        if any(True for _ in first):
            raise Conflict("bucket is not empty", backend=self.name, bucket=bucket)
        self._translated(container.delete_container, bucket)

    def _bucket_exists(self, bucket: str) -> bool:
        return self._translated(self.client.get_container_client(bucket).exists, bucket)

    def _list_buckets(self) -> list[str]:
        return self._translated(lambda: [c.name for c in self.client.list_containers()])

    # ---- writes ------------------------------------------------------------------------------
    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        limit = self.capabilities.max_single_put
        chunks = iter(stream)
        head: list[bytes] = []
        if stream.size_hint is None or stream.size_hint <= limit:
            head, ended = _read_up_to(chunks, limit)
            if ended:
                return self._put_single(bucket, key, b"".join(head), stream, content_type,
                                        metadata)
        return self._put_blocks(self._blob(bucket, key), bucket, key,
                                itertools.chain(_drain(head), chunks), stream, content_type,
                                metadata)

    def _put_single(self, bucket: str, key: str, data: bytes, stream: IngestStream,
                    content_type: str, metadata: dict[str, str]) -> ObjectInfo:
        sha256 = stream.finish()
        if self.fast is not None:
            info = self._put_fast(bucket, key, data, content_type, metadata, sha256)
            if info is not None:
                return info
        # Built only here: a BlobClient costs about as much CPU as obstore's whole PUT.
        blob = self._blob(bucket, key)
        result = self._translated(lambda: blob.upload_blob(
            data, length=len(data), overwrite=True, validate_content=True,
            metadata=md.encode(metadata, md.AZURE_RULES, internal={"sha256": sha256}),
            content_settings=ContentSettings(content_type=content_type)), bucket, key)
        return self._written(key, len(data), result, content_type, metadata, sha256)

    def _put_fast(self, bucket: str, key: str, data: bytes, content_type: str,
                  metadata: dict[str, str], sha256: str) -> ObjectInfo | None:
        # Only lowercase metadata names go through obstore (its headers would lowercase the
        # others, where Azure keeps the case it is given): fast_io refuses the rest.
        assert self.fast is not None
        stored = self.fast.put(bucket, to_blob_name(key), key, data, content_type,
                               md.encode(metadata, md.AZURE_RULES, internal={"sha256": sha256}))
        if stored is None:
            return None
        return ObjectInfo(key=key, size=len(data), last_modified=None, etag=stored.etag,
                          content_type=content_type, metadata=metadata, sha256=sha256)

    def _put_blocks(self, blob: BlobClient, bucket: str, key: str, chunks: Iterator[bytes],
                    stream: IngestStream, content_type: str,
                    metadata: dict[str, str]) -> ObjectInfo:
        stager = BlockStager(blob, self.max_concurrency, self._blocks_in_flight)
        try:
            for block in split(chunks, block_sizes(stream.size_hint, self.capabilities),
                               before_block=lambda: self._translated(stager.reserve, bucket, key)):
                self._translated(lambda: stager.stage(block), bucket, key)
            block_ids = self._translated(stager.wait, bucket, key)
        except BaseException:
            stager.abort()
            raise
        if len(block_ids) > self.capabilities.max_parts:
            raise BackendError(f"{len(block_ids)} blocks exceed Azure's limit of "
                               f"{self.capabilities.max_parts}", backend=self.name,
                               bucket=bucket, key=key)
        sha256 = stream.finish()  # raises before the commit: nothing becomes visible
        result = self._translated(lambda: blob.commit_block_list(
            block_ids,
            metadata=md.encode(metadata, md.AZURE_RULES, internal={"sha256": sha256}),
            content_settings=ContentSettings(content_type=content_type)), bucket, key)
        return self._written(key, stream.bytes_read, result, content_type, metadata, sha256)

    @staticmethod
    def _written(key: str, size: int, result: Mapping[str, Any], content_type: str,
                 metadata: dict[str, str], sha256: str | None) -> ObjectInfo:
        return ObjectInfo(key=key, size=size, last_modified=result.get("last_modified"),
                          etag=result.get("etag"), content_type=content_type,
                          metadata=metadata, sha256=sha256)

    # ---- upload sessions: uncommitted blocks (adapters/azure/sessions.py) ---------------------
    def _start_upload(self, bucket: str, key: str, sha256: str | None, content_type: str,
                      metadata: dict[str, str]) -> str:
        if not self._bucket_exists(bucket):  # nothing is sent yet: fail now, not at a part
            raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket)
        return sessions.new_session(content_type, metadata).encode()

    def _upload_part(self, bucket: str, key: str, native: str, number: int,
                     data: bytes) -> UploadedPart:
        session = sessions.decode(native, backend=self.name, bucket=bucket, key=key)
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        md5 = digest.hex()
        block = sessions.block_id(session.tag, number, md5)
        # The MD5 named in the block id goes as the block's Content-MD5, which Azure checks on
        # arrival; `validate_content` would hash the part a second time for the same header.
        self._translated(lambda: self._blob(bucket, key).stage_block(
            block, data, length=len(data), transactional_content_md5=digest), bucket, key)
        return UploadedPart(number, len(data), md5[:sessions.MD5_DIGITS], block)

    def _list_parts(self, bucket: str, key: str, native: str) -> list[UploadedPart]:
        session = sessions.decode(native, backend=self.name, bucket=bucket, key=key)
        try:
            _, uncommitted = self._translated(
                lambda: self._blob(bucket, key).get_block_list("uncommitted"), bucket, key)
        except ObjectNotFound:  # no blob and no block staged for that name
            return []
        found: dict[int, UploadedPart] = {}
        for block in uncommitted:
            parsed = sessions.parse_block(block.id, session.tag)
            if parsed is not None:
                number, md5 = parsed
                found[number] = UploadedPart(number, int(block.size), md5, block.id)
        return list(found.values())

    def _complete_upload(self, bucket: str, key: str, native: str, parts: list[UploadedPart],
                         sha256: str | None) -> ObjectInfo:
        session = sessions.decode(native, backend=self.name, bucket=bucket, key=key)
        result = self._translated(lambda: self._blob(bucket, key).commit_block_list(
            [BlobBlock(block_id=p.token) for p in parts],
            metadata=md.encode(session.metadata, md.AZURE_RULES, internal={"sha256": sha256}),
            content_settings=ContentSettings(content_type=session.content_type)), bucket, key)
        return self._written(key, sum(p.size for p in parts), result, session.content_type,
                             session.metadata, sha256)

    def _abort_upload(self, bucket: str, key: str, native: str) -> None:
        # Nothing to send: uncommitted blocks cannot be dropped one by one (see sessions.py).
        sessions.decode(native, backend=self.name, bucket=bucket, key=key)

    def _delete(self, bucket: str, key: str) -> None:
        try:
            self._translated(lambda: self._blob(bucket, key).delete_blob(delete_snapshots="include"),
                       bucket, key)
        except ObjectNotFound:
            pass  # deleting a missing object is a no-op; a missing bucket still raises

    def _copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        """Copy Blob within the account: Azure copies bytes, metadata (with the SHA-256) and
        content type itself. The source must not change meanwhile (If-Match on its ETag)."""
        source = self._blob(bucket, key)
        props = self._translated(source.get_blob_properties, bucket, key)
        target = self._blob(dest_bucket, dest_key)
        result = self._translated(lambda: target.start_copy_from_url(
            source.url, source_etag=props.etag,
            source_match_condition=MatchConditions.IfNotModified), dest_bucket, dest_key)
        status = result.get("copy_status")
        deadline = time.monotonic() + COPY_TIMEOUT
        while status == "pending":
            if time.monotonic() > deadline:
                self._translated(lambda: target.abort_copy(result["copy_id"]), dest_bucket, dest_key)
                raise TransientError("server-side copy still pending, aborted", backend=self.name,
                                     bucket=dest_bucket, key=dest_key)
            time.sleep(0.5)
            status = self._translated(target.get_blob_properties, dest_bucket, dest_key).copy.status
        if status != "success":
            raise BackendError(f"server-side copy ended with status {status!r}",
                               backend=self.name, bucket=dest_bucket, key=dest_key)
        return self._head(dest_bucket, dest_key)

    def _set_metadata(self, bucket: str, key: str, metadata: dict[str, str],
                      if_etag: str) -> None:
        # Azure replaces a blob's metadata in one call; If-Match makes it conditional. The
        # recorded SHA-256 is part of that metadata, so it is read to be kept.
        current = self._head(bucket, key)
        self._changed(bucket, key, current.etag, if_etag)
        internal = {"sha256": current.sha256} if current.sha256 else {}
        blob = self._blob(bucket, key)
        self._translated(lambda: blob.set_blob_metadata(
            md.encode(metadata, md.AZURE_RULES, internal=internal), etag=if_etag,
            match_condition=MatchConditions.IfNotModified), bucket, key)

    # ---- reads -------------------------------------------------------------------------------
    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return self._info(key, self._translated(self._blob(bucket, key).get_blob_properties, bucket, key))

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        if byte_range is None and self.fast is not None:
            reader = self._get_fast(bucket, key)
            if reader is not None:
                return reader
        blob = self._blob(bucket, key)
        offset: int | None = None
        length: int | None = None
        conditions: dict[str, object] = {}
        if byte_range is not None:
            if byte_range.suffix is not None:
                # Azure has no suffix ranges: find the size, then read that exact version.
                props = self._translated(blob.get_blob_properties, bucket, key)
                offset, last = byte_range.resolve(props.size)
                length = last - offset + 1
                conditions = {"etag": props.etag, "match_condition": MatchConditions.IfNotModified}
            else:
                offset = byte_range.start
                length = None if byte_range.end is None else byte_range.end - offset + 1
        downloader = self._translated(lambda: blob.download_blob(offset=offset, length=length,
                                                           max_concurrency=1, **conditions),
                                bucket, key)
        props = downloader.properties
        total = _total_size(props.content_range, props.size)
        start, end = byte_range.resolve(total) if byte_range else (0, total - 1)
        info = self._info(key, props, size=total)
        return ObjectReader(info, self._chunks(downloader.chunks(), bucket, key),
                            start=start, end=end)

    def _get_fast(self, bucket: str, key: str) -> ObjectReader | None:
        """A whole blob through obstore; None where the SDK must read it (see fast_io)."""
        assert self.fast is not None
        fetched = self.fast.get(bucket, to_blob_name(key), key)
        if fetched is None:
            return None
        user, internal = md.decode(fetched.native, md.AZURE_RULES)
        if user:
            # The names came back lowercased (HTTP headers in Rust): take the exact ones from
            # the properties of that same version.
            props = self._translated(self._blob(bucket, key).get_blob_properties, bucket, key)
            if props.etag != fetched.etag:
                raise fast_io.changed(self.name, bucket, key)
            user, internal = md.decode(props.metadata or {}, md.AZURE_RULES)
        sha256 = internal.get("sha256")
        info = ObjectInfo(key=key, size=fetched.size, last_modified=fetched.last_modified,
                          etag=fetched.etag, content_type=fetched.content_type, metadata=user,
                          sha256=sha256.lower() if sha256 and _SHA256.fullmatch(sha256) else None)
        return fast_io.reader(info, fetched, lambda: self._rest(bucket, key, fetched.etag),
                              backend=self.name, bucket=bucket)

    def _rest(self, bucket: str, key: str, etag: str | None) -> Iterator[bytes]:
        """The bytes after the first `HEAD_BYTES`, of the same version (If-Match)."""
        conditions: dict[str, object] = ({"etag": etag,
                                          "match_condition": MatchConditions.IfNotModified}
                                         if etag else {})
        try:
            downloader = self._translated(lambda: self._blob(bucket, key).download_blob(
                offset=fast_io.HEAD_BYTES, max_concurrency=1, **conditions), bucket, key)
        except Conflict as exc:  # 412: replaced since the first bytes were read
            raise fast_io.changed(self.name, bucket, key) from exc
        yield from self._chunks(downloader.chunks(), bucket, key)

    def _chunks(self, chunks: Iterator[bytes], bucket: str, key: str) -> Iterator[bytes]:
        while True:
            chunk = self._translated(lambda: next(chunks, None), bucket, key)
            if chunk is None:
                return
            yield chunk

    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        container = self.client.get_container_client(bucket)
        if delimiter:
            items = container.walk_blobs(name_starts_with=to_blob_name(prefix) or None,
                                         delimiter=delimiter,
                                         include=["metadata"], results_per_page=limit)
        else:
            items = container.list_blobs(name_starts_with=to_blob_name(prefix) or None,
                                         include=["metadata"],
                                         results_per_page=limit)
        pages = items.by_page(continuation_token=cursor or None)
        page = self._translated(lambda: list(next(pages, [])), bucket)
        objects = [self._info(from_blob_name(i.name), i) for i in page
                   if not isinstance(i, BlobPrefix)]
        prefixes = [from_blob_name(i.name) for i in page if isinstance(i, BlobPrefix)]
        return ListPage(objects, prefixes, pages.continuation_token or None)

    def close(self) -> None:
        self.client.close()


def _read_up_to(chunks: Iterator[bytes], limit: int) -> tuple[list[bytes], bool]:
    """Chunks until more than `limit` bytes were read or the stream ended; (chunks, ended)."""
    head: list[bytes] = []
    have = 0
    for chunk in chunks:
        head.append(chunk)
        have += len(chunk)
        if have > limit:
            return head, False
    return head, True


def _drain(chunks: list[bytes]) -> Iterator[bytes]:
    """Hand the buffered chunks on one by one, dropping each from the list: a plain iterator
    over the list would keep all of them alive for the whole upload."""
    queue = collections.deque(chunks)
    chunks.clear()
    while queue:
        yield queue.popleft()


def _total_size(content_range: str | None, fallback: int) -> int:
    """The whole object's size from `bytes a-b/TOTAL` (the SDK puts the download size in .size)."""
    match = _TOTAL_FROM_RANGE.search(content_range or "")
    return int(match.group(1)) if match else fallback

