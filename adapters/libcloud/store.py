"""LibcloudStore: the storage contract over any apache-libcloud storage driver.

Put: the stream is spooled to a temporary file while it is hashed, `IngestStream.finish()` checks
size and SHA-256, and only then is the file handed to the driver (`upload_object`, the driver path
that knows the size and checks the MD5 where the driver can); nothing reaches the backend before
the bytes are known good. Drivers whose uploads are not all-or-nothing upload to a reserved name
and are made visible by their profile's `promote` (LOCAL: one rename). Metadata and the SHA-256
ride in the driver's meta_data, or, for drivers that keep none, in a sidecar object checked
against the object's hash so a stale sidecar is never believed.

Listing: libcloud offers prefix only, so the delimiter and the cursor (the last key or common
prefix returned) are applied here while iterating the driver's listing in its (byte) order; each
page re-reads the listing from the prefix up to the cursor: fine for the long tail's buckets,
slow for millions of keys (use a native adapter there). Copies are streamed (libcloud has no
generic server-side copy).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

import libcloud.common.base as libcloud_base
from libcloud.storage.providers import Provider, get_driver
from libcloud.storage.types import ObjectDoesNotExistError

from .. import metadata as md
from ..contract import (BaseStore, ByteRange, Capabilities, Feature, ListPage, ObjectInfo,
                        TiB)
from ..errors import (BackendError, BucketNotFound, Conflict, InvalidRequest, ObjectNotFound,
                      translating)
from ..listing import decode_cursor, encode_cursor
from ..names import is_bucket_name
from ..streams import CHUNK_SIZE, IngestStream, ObjectReader, window
from .errors import is_backend_error, translate
from .profiles import RESERVED, DriverProfile, profile_for

# libcloud collapses `//` in request paths unless told otherwise (its documented module switch,
# apache/libcloud#1529); in object names `a//b` is a key distinct from `a/b`. Sortie is the only
# libcloud user in its process, so the switch is set once, here.
libcloud_base.ALLOW_PATH_DOUBLE_SLASHES = True

LIBCLOUD_CAPABILITIES = Capabilities(
    max_parts=1, min_part_size=0, smallest_part=0, max_part_size=5 * TiB, max_object_size=5 * TiB,
    max_single_put=5 * TiB, server_side_copy=False)


def provider_id(provider: str) -> str:
    """libcloud's Provider constant for a name such as `LOCAL` or `azure_blobs`."""
    value = getattr(Provider, provider.upper(), None)
    if not isinstance(value, str):
        known = sorted(n for n in dir(Provider) if n.isupper())
        raise InvalidRequest(f"unknown libcloud storage provider {provider!r} "
                             f"(known: {', '.join(known)})")
    return value


class LibcloudStore(BaseStore):
    def __init__(self, name: str, provider: str, key: str | None, secret: str | None = None,
                 options: Mapping[str, Any] | None = None, *, spool_dir: Path | None = None,
                 profile: DriverProfile | None = None) -> None:
        self.profile = profile or profile_for(provider)
        rules = self.profile.metadata or md.JSON_RULES  # sidecars hold metadata as JSON
        super().__init__(name, LIBCLOUD_CAPABILITIES.with_overrides(
            metadata=rules, lacks={**self.profile.lacks, Feature.atomic_bucket_delete: (
                "libcloud drivers check emptiness and delete in separate calls, and deleting a "
                "container removes Sortie's staged uploads in it"),
                Feature.resumable_upload: (
                    "libcloud's storage API has no parts that outlive one upload call"),
                Feature.metadata_update: (
                    "libcloud's storage API has no call that changes an object's metadata")}))
        self.provider = provider.upper()
        self._driver_cls = get_driver(provider_id(provider))
        self._driver_args = (key, secret)
        self._driver_kwargs = {**self.profile.driver_defaults, **(options or {})}
        self._spool_dir = spool_dir
        self._local = threading.local()

    # ---- plumbing ----------------------------------------------------------------------------
    def _driver(self) -> Any:
        """One driver per thread: a libcloud connection keeps per-request state on itself."""
        driver = getattr(self._local, "driver", None)
        if driver is None:
            driver = self._driver_cls(*self._driver_args, **self._driver_kwargs)
            self._local.driver = driver
        return driver

    @contextmanager
    def _translated(self, bucket: str | None = None, key: str | None = None) -> Iterator[Any]:
        with translating(is_backend_error, translate, backend=self.name, bucket=bucket, key=key):
            yield self._driver()

    def _container(self, bucket: str) -> Any:
        with self._translated(bucket) as driver:
            return driver.get_container(bucket)

    # ---- buckets -----------------------------------------------------------------------------
    def _create_bucket(self, bucket: str) -> None:
        with self._translated(bucket) as driver:
            driver.create_container(bucket)

    def _delete_bucket(self, bucket: str) -> None:
        container = self._container(bucket)
        with self._translated(bucket) as driver:
            reserved = []
            for obj in driver.iterate_container_objects(container):
                if not obj.name.startswith(RESERVED) or self.profile.codec.from_name(obj.name):
                    raise Conflict("bucket is not empty", backend=self.name, bucket=bucket)
                reserved.append(obj)
            for obj in reserved:  # sidecars and abandoned staged uploads
                driver.delete_object(obj)
            driver.delete_container(container)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self._container(bucket)
            return True
        except BucketNotFound:
            return False

    def _list_buckets(self) -> list[str]:
        with self._translated() as driver:
            return [c.name for c in driver.iterate_containers() if is_bucket_name(c.name)]

    # ---- put ---------------------------------------------------------------------------------
    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        container = self._container(bucket)
        try:
            spool = tempfile.NamedTemporaryFile(prefix="sortie-put-", dir=self._spool_dir,
                                                delete=False)
        except OSError as exc:
            raise BackendError(f"cannot create a spool file: {exc}", backend=self.name,
                               bucket=bucket, key=key) from exc
        try:
            with spool:
                for chunk in stream:  # the caller's errors pass through unchanged
                    try:
                        spool.write(chunk)
                    except OSError as exc:
                        raise BackendError(f"cannot write the spool file: {exc}",
                                           backend=self.name, bucket=bucket, key=key) from exc
            sha256 = stream.finish()  # nothing has reached the backend yet
            name = self.profile.codec.to_name(key)
            extra: dict[str, Any] = {"content_type": content_type}
            if self.profile.metadata is not None:
                extra["meta_data"] = md.encode(metadata, self.profile.metadata,
                                               internal={"sha256": sha256})
            obj = self._store(container, name, spool.name, extra, bucket, key)
            if self.profile.metadata is None:
                self._write_sidecar(container, name, obj, sha256, content_type, metadata,
                                    bucket, key)
        finally:
            os.unlink(spool.name)
        return ObjectInfo(key=key, size=stream.bytes_read, last_modified=_now(),
                          etag=obj.hash, content_type=content_type, metadata=metadata,
                          sha256=sha256)

    def _store(self, container: Any, name: str, path: str, extra: dict[str, Any], bucket: str,
               key: str) -> Any:
        """Upload a finished file under `name`, visible all at once; return the stored object."""
        with self._translated(bucket, key) as driver:
            if self.profile.promote is None:
                return _upload(driver, path, container, name, extra)
            staged = _upload(driver, path, container, f"{RESERVED}tmp/{uuid.uuid4().hex}", extra)
            try:
                self.profile.promote(driver, container, staged, name)
            except BaseException:
                driver.delete_object(staged)
                raise
            return driver.get_object(container.name, name)

    # ---- sidecars (drivers that keep no metadata) --------------------------------------------
    @staticmethod
    def _sidecar_name(name: str) -> str:
        return f"{RESERVED}meta/{hashlib.sha1(name.encode('utf-8')).hexdigest()}"

    def _write_sidecar(self, container: Any, name: str, obj: Any, sha256: str,
                       content_type: str, metadata: Mapping[str, str], bucket: str,
                       key: str) -> None:
        record = {"name": name, "hash": obj.hash, "size": obj.size, "sha256": sha256,
                  "content_type": content_type, "metadata": dict(metadata)}
        with self._translated(bucket, key), \
                tempfile.NamedTemporaryFile("w", prefix="sortie-meta-", dir=self._spool_dir,
                                            delete=False, encoding="utf-8") as spool:
            json.dump(record, spool, ensure_ascii=False)
        try:
            self._store(container, self._sidecar_name(name), spool.name, {}, bucket, key)
        finally:
            os.unlink(spool.name)

    def _read_sidecar(self, driver: Any, container: Any, obj: Any) -> dict[str, Any] | None:
        """The sidecar of `obj`, only if it was written for this very version of it."""
        try:
            side = driver.get_object(container.name, self._sidecar_name(obj.name))
            record = json.loads(b"".join(driver.download_object_as_stream(side)))
        except (ObjectDoesNotExistError, ValueError):
            return None
        if record.get("name") != obj.name or record.get("hash") != obj.hash \
                or record.get("size") != obj.size:
            return None  # stale: the object changed after (or without) its sidecar
        return record

    # ---- read --------------------------------------------------------------------------------
    def _object(self, bucket: str, key: str) -> tuple[Any, ObjectInfo]:
        name = self.profile.codec.to_name(key)
        with self._translated(bucket, key) as driver:
            try:
                obj = driver.get_object(bucket, name)
            except ObjectDoesNotExistError:
                driver.get_container(bucket)  # BucketNotFound if the bucket is what is missing
                raise ObjectNotFound("no such object", backend=self.name, bucket=bucket,
                                     key=key) from None
            return obj, self._info(driver, key, obj)

    def _info(self, driver: Any, key: str, obj: Any) -> ObjectInfo:
        extra = obj.extra or {}
        if self.profile.metadata is not None:
            user, internal = md.decode(obj.meta_data or {}, self.profile.metadata)
            sha256, content_type = internal.get("sha256"), extra.get("content_type")
        else:
            record = self._read_sidecar(driver, obj.container, obj) or {}
            user, sha256 = dict(record.get("metadata") or {}), record.get("sha256")
            content_type = record.get("content_type")
        return ObjectInfo(key=key, size=int(obj.size), last_modified=_modified(extra),
                          etag=obj.hash, content_type=content_type, metadata=user,
                          sha256=sha256)

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return self._object(bucket, key)[1]

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        obj, info = self._object(bucket, key)
        start, end = byte_range.resolve(info.size) if byte_range else (0, info.size - 1)
        chunks = self._read(obj, start, end, byte_range is not None, bucket, key)
        return ObjectReader(info, chunks, start=start, end=end)

    def _read(self, obj: Any, start: int, end: int, ranged: bool, bucket: str,
              key: str) -> Iterator[bytes]:
        if end < start:  # empty object
            return
        driver = self._driver()
        body: Any = ()
        try:
            with self._translated(bucket, key):
                body, skip = self._download(driver, obj, start, end, ranged)
                remaining = yield from window(body, skip, end - start + 1)
        finally:
            close = getattr(body, "close", None)  # generators: release the file or connection
            if callable(close):
                close()
        if remaining > 0:
            raise BackendError(f"the backend ended the body {remaining} bytes early",
                               backend=self.name, bucket=bucket, key=key)

    def _download(self, driver: Any, obj: Any, start: int, end: int,
                  ranged: bool) -> tuple[Any, int]:
        """The driver's body for bytes start..end, and how many leading bytes to skip in it."""
        if ranged and self.profile.ranges:
            try:
                return driver.download_object_range_as_stream(obj, start, end + 1,
                                                              chunk_size=CHUNK_SIZE), 0
            except NotImplementedError:  # older drivers: read from the start and skip
                pass
        return driver.download_object_as_stream(obj, chunk_size=CHUNK_SIZE), start

    # ---- delete ------------------------------------------------------------------------------
    def _delete(self, bucket: str, key: str) -> None:
        try:
            obj, _ = self._object(bucket, key)
        except ObjectNotFound:
            return
        with self._translated(bucket, key) as driver:
            try:
                driver.delete_object(obj)
            except ObjectDoesNotExistError:
                pass
            if self.profile.metadata is None:
                try:
                    side = driver.get_object(bucket, self._sidecar_name(obj.name))
                    driver.delete_object(side)
                except ObjectDoesNotExistError:
                    pass

    # ---- list --------------------------------------------------------------------------------
    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        after, after_prefix = decode_cursor(cursor) if cursor else (None, False)
        if after is not None and not after.startswith(prefix):
            raise InvalidRequest("cursor does not belong to this listing", bucket=bucket)
        container = self._container(bucket)
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: tuple[str, bool] | None = None
        with self._translated(bucket) as driver:
            listing = driver.iterate_container_objects(
                container, prefix=self.profile.codec.to_prefix(prefix) or None)
            for obj in listing:
                key = self.profile.codec.from_name(obj.name)
                if key is None or not key.startswith(prefix):
                    continue  # Sortie's own objects, foreign names, codec supersets
                if after is not None and (key <= after or (after_prefix and key.startswith(after))):
                    continue
                entry: str | None = None
                if delimiter:
                    cut = key.find(delimiter, len(prefix))
                    if cut >= 0:
                        entry = key[:cut + len(delimiter)]
                        if last == (entry, True):
                            continue
                if len(objects) + len(prefixes) == limit:
                    assert last is not None
                    return ListPage(objects, prefixes, encode_cursor(*last))
                if entry is not None:
                    prefixes.append(entry)
                    last = (entry, True)
                else:
                    objects.append(_listed(key, obj))
                    last = (key, False)
        return ListPage(objects, prefixes, None)


def _upload(driver: Any, path: str, container: Any, name: str, extra: dict[str, Any]) -> Any:
    if os.path.getsize(path) == 0:
        # An empty file sent by path is refused by some drivers (AZURE_BLOBS: 400); an empty
        # file-like stream works everywhere.
        return driver.upload_object_via_stream(io.BytesIO(b""), container, name, extra=extra)
    return driver.upload_object(path, container, name, extra=extra)


def _listed(key: str, obj: Any) -> ObjectInfo:
    extra = obj.extra or {}
    return ObjectInfo(key=key, size=int(obj.size), last_modified=_modified(extra), etag=obj.hash,
                      content_type=extra.get("content_type"), complete=False)


def _modified(extra: Mapping[str, Any]) -> datetime | None:
    """Drivers report modification times differently (HTTP date string, epoch float)."""
    for name in ("last_modified", "modify_time", "last_modified_time"):
        value = extra.get(name)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, str) and value:
            try:
                return parsedate_to_datetime(value)
            except (TypeError, ValueError):
                try:
                    return datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    continue
        if isinstance(value, datetime):
            return value
    return None


def _now() -> datetime:
    return datetime.now(timezone.utc)




