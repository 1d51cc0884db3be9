"""Local-disk adapter (`type: local`): the embedded default and an on-premises exit target.

Layout under the root, per bucket:
    <bucket>/index.sqlite3     one row per visible object: key, size, sha256, type, metadata, blob
    <bucket>/blobs/ab/<uuid>   the bytes, under a random name
    <bucket>/tmp/<uuid>        writes in progress
    <bucket>/uploads/<id>/     upload sessions: their parts (adapters/local/uploads.py)

Why an index rather than files named after keys: keys may be 1,024 bytes of unicode (file names
stop at 255 bytes), may be both "a" and "a/b" (a file and a directory cannot share a name), and
must list in S3's byte order with cursors over millions of keys. A SQLite index (UTF-8, BINARY
collation = byte order) gives all of that, and makes the commit point one transaction:
    stream to tmp (hashing) -> fsync -> check hash -> rename into blobs/ -> index row committed.
An object is visible only once its row commits, so an interrupted put leaves at most an orphan
file that no read can reach (adapters/local/sweep.py removes those). Blob names are generated,
never derived from keys, and bucket names are validated, so no key can make the adapter touch a
path outside its root.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import uuid
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..contract import (BaseStore, ByteRange, Capabilities, GiB, ListPage, ObjectInfo, TiB)
from ..errors import (AlreadyExists, BackendError, BucketNotFound, Conflict, HashMismatch,
                      InvalidRequest, ObjectNotFound, StorageError, UploadNotFound)
from ..listing import decode_cursor, encode_cursor, past_prefix
from ..streams import CHUNK_SIZE, IngestStream, ObjectReader
from ..uploads import UploadedPart
from . import uploads

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    blob TEXT NOT NULL
) WITHOUT ROWID;
"""
_COLUMNS = "key, size, sha256, content_type, metadata, last_modified, blob"
INDEX_FILE = "index.sqlite3"
#: The index's user_version once a bucket delete has committed (see `_delete_bucket`).
_DELETING = 0x5D0E
_LIST_BATCH = 256

LOCAL_CAPABILITIES = Capabilities(
    # Puts are one file whatever their size; parts exist only in upload sessions.
    max_parts=10_000, min_part_size=1, smallest_part=1, max_part_size=8 * GiB, max_object_size=64 * TiB,
    max_single_put=64 * TiB, server_side_copy=True, native_hashes=("sha256",),
)


class LocalStore(BaseStore):
    def __init__(self, name: str, path: str | os.PathLike[str],
                 capabilities: Capabilities = LOCAL_CAPABILITIES) -> None:
        super().__init__(name, capabilities)
        self.root = Path(path).resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot create the local root {self.root}: {exc.strerror}",
                               backend=name) from exc

    # ---- buckets -----------------------------------------------------------------------------
    def _bucket_dir(self, bucket: str) -> Path:
        # check_bucket() already refused anything but [a-z0-9-]: this cannot leave the root.
        return self.root / bucket

    def _create_bucket(self, bucket: str) -> None:
        directory = self._bucket_dir(bucket)
        try:
            directory.mkdir()
        except FileExistsError:
            if self._bucket_exists(bucket) or not (directory / INDEX_FILE).is_file():
                raise AlreadyExists("bucket already exists", backend=self.name,
                                    bucket=bucket) from None
            self._to_trash(bucket)  # a delete killed after its mark: finish it, then create
            directory.mkdir()
        for sub in ("blobs", "tmp"):
            (directory / sub).mkdir()
        with closing(sqlite3.connect(directory / INDEX_FILE)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _delete_bucket(self, bucket: str) -> None:
        # The emptiness check and the mark that the bucket is going are one write transaction,
        # and every commit of a put checks the mark in its own: a put racing the delete either
        # commits first (the delete sees it and refuses) or fails; never both succeed.
        with self._db(bucket) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM objects LIMIT 1").fetchone():
                    raise Conflict("bucket is not empty", backend=self.name, bucket=bucket)
                db.execute(f"PRAGMA user_version = {_DELETING}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self._to_trash(bucket)

    def _to_trash(self, bucket: str) -> None:
        # Rename first so the folder is gone at once, then remove at leisure (`sortie backends
        # sweep` removes what a killed process left).
        trash = self.root / f".trash-{bucket}-{uuid.uuid4().hex}"
        os.rename(self._bucket_dir(bucket), trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            with self._db(bucket):
                return True
        except BucketNotFound:
            return False

    def _list_buckets(self) -> list[str]:
        return [p.name for p in self.root.iterdir()
                if not p.name.startswith(".") and self._bucket_exists(p.name)]

    @contextmanager
    def _db(self, bucket: str) -> Iterator[sqlite3.Connection]:
        index = self._bucket_dir(bucket) / INDEX_FILE
        if not index.is_file():
            raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket)
        # One connection per operation: cheap, thread-safe, and never bound to a deleted bucket.
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(index, timeout=60, isolation_level=None)
            if db.execute("PRAGMA user_version").fetchone()[0] == _DELETING:
                # A delete committed its mark (and maybe was killed before the rename): gone.
                raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket)
            yield db
        except sqlite3.Error as exc:
            if not index.is_file():  # the bucket was deleted (renamed away) meanwhile
                raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket) from exc
            raise BackendError(f"local index error: {exc}", backend=self.name, bucket=bucket) from exc
        finally:
            if db is not None:
                db.close()

    # ---- objects -----------------------------------------------------------------------------
    def _put(self, bucket: str, key: str, stream: IngestStream, content_type: str,
             metadata: dict[str, str]) -> ObjectInfo:
        directory = self._bucket_dir(bucket)
        if not (directory / INDEX_FILE).is_file():
            raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket)
        blob = uuid.uuid4().hex
        tmp = directory / "tmp" / blob
        final = directory / "blobs" / blob[:2] / blob
        try:
            with open(tmp, "xb") as out:
                for chunk in stream:
                    out.write(chunk)
                sha256 = stream.finish()
                out.flush()
                os.fsync(out.fileno())
            final.parent.mkdir(exist_ok=True)
            os.rename(tmp, final)
            info = ObjectInfo(key=key, size=stream.bytes_read, last_modified=_now(), etag=sha256,
                              content_type=content_type, metadata=metadata, sha256=sha256)
            old = self._commit(bucket, info, blob)
        except BaseException as exc:
            for path in (tmp, final):
                path.unlink(missing_ok=True)
            if isinstance(exc, OSError):  # the disk, or the bucket deleted under the put
                if not self._bucket_exists(bucket):
                    raise BucketNotFound("the bucket was deleted during this put",
                                         backend=self.name, bucket=bucket, key=key) from exc
                raise BackendError(f"cannot write the object: {exc}", backend=self.name,
                                   bucket=bucket, key=key) from exc
            raise
        if old:
            self._blob_path(bucket, old).unlink(missing_ok=True)
        return info

    def _commit(self, bucket: str, info: ObjectInfo, blob: str) -> str | None:
        """Make the object visible; return the blob it replaced, if any."""
        with self._db(bucket) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] == _DELETING:
                    raise BucketNotFound("the bucket was deleted during this put",
                                         backend=self.name, bucket=bucket, key=info.key)
                row = db.execute("SELECT blob FROM objects WHERE key = ?", (info.key,)).fetchone()
                db.execute(
                    f"INSERT OR REPLACE INTO objects ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (info.key, info.size, info.sha256, info.content_type,
                     json.dumps(dict(info.metadata), ensure_ascii=False),
                     info.last_modified.isoformat() if info.last_modified else _now().isoformat(),
                     blob))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return row[0] if row else None

    def _set_metadata(self, bucket: str, key: str, metadata: dict[str, str],
                      if_etag: str) -> None:
        with self._db(bucket) as db:
            db.execute("BEGIN IMMEDIATE")  # the check and the update in one transaction
            try:
                row = db.execute("SELECT sha256 FROM objects WHERE key = ?", (key,)).fetchone()
                if row is None:
                    raise ObjectNotFound("no such object", backend=self.name, bucket=bucket,
                                         key=key)
                self._changed(bucket, key, row[0], if_etag)  # a local object's ETag: its SHA-256
                db.execute("UPDATE objects SET metadata = ? WHERE key = ?",
                           (json.dumps(metadata, ensure_ascii=False), key))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _blob_path(self, bucket: str, blob: str) -> Path:
        return self._bucket_dir(bucket) / "blobs" / blob[:2] / blob

    def _row(self, bucket: str, key: str) -> tuple[ObjectInfo, str]:
        with self._db(bucket) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM objects WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise ObjectNotFound("no such object", backend=self.name, bucket=bucket, key=key)
        return _info(row), row[6]

    def _head(self, bucket: str, key: str) -> ObjectInfo:
        return self._row(bucket, key)[0]

    def _get(self, bucket: str, key: str, byte_range: ByteRange | None) -> ObjectReader:
        # An overwrite may delete the blob between reading the row and opening the file: the
        # open file would survive the unlink, so only that small window needs a second look.
        for _ in range(5):
            info, blob = self._row(bucket, key)
            try:
                handle = open(self._blob_path(bucket, blob), "rb")
                break
            except FileNotFoundError:
                continue
        else:
            raise BackendError("object changed too often while opening it",
                               backend=self.name, bucket=bucket, key=key)
        try:
            start, end = byte_range.resolve(info.size) if byte_range else (0, info.size - 1)
        except BaseException:
            handle.close()
            raise
        handle.seek(start)
        return ObjectReader(info, _read_file(handle, end - start + 1), start=start, end=end,
                            on_close=handle.close)

    def _delete(self, bucket: str, key: str) -> None:
        with self._db(bucket) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT blob FROM objects WHERE key = ?", (key,)).fetchone()
            db.execute("DELETE FROM objects WHERE key = ?", (key,))
            db.execute("COMMIT")
        if row:
            self._blob_path(bucket, row[0]).unlink(missing_ok=True)

    def _copy(self, bucket: str, key: str, dest_bucket: str, dest_key: str) -> ObjectInfo:
        if not self._bucket_exists(dest_bucket):
            raise BucketNotFound("no such bucket", backend=self.name, bucket=dest_bucket)
        source, blob = self._row(bucket, key)
        new_blob = uuid.uuid4().hex
        target = self._blob_path(dest_bucket, new_blob)
        target.parent.mkdir(exist_ok=True)
        try:
            try:
                os.link(self._blob_path(bucket, blob), target)  # blobs are never modified in place
            except FileNotFoundError:
                raise ObjectNotFound("object vanished during the copy", backend=self.name,
                                     bucket=bucket, key=key) from None
            info = ObjectInfo(key=dest_key, size=source.size, last_modified=_now(),
                              etag=source.sha256, content_type=source.content_type,
                              metadata=source.metadata, sha256=source.sha256)
            old = self._commit(dest_bucket, info, new_blob)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if old:
            self._blob_path(dest_bucket, old).unlink(missing_ok=True)
        return info

    # ---- upload sessions ---------------------------------------------------------------------
    def _start_upload(self, bucket: str, key: str, sha256: str | None, content_type: str,
                      metadata: dict[str, str]) -> str:
        if not self._bucket_exists(bucket):
            raise BucketNotFound("no such bucket", backend=self.name, bucket=bucket)
        return uploads.start(self._bucket_dir(bucket), key, sha256, content_type, metadata)

    def _session(self, bucket: str, key: str, native: str) -> uploads.Session:
        return uploads.session(self._bucket_dir(bucket), key, native, backend=self.name,
                               bucket=bucket)

    def _upload_part(self, bucket: str, key: str, native: str, number: int,
                     data: bytes) -> UploadedPart:
        folder = self._session(bucket, key, native).folder
        try:
            return uploads.write_part(folder, number, data)
        except FileNotFoundError:  # aborted or completed meanwhile
            raise UploadNotFound("no such upload", backend=self.name, bucket=bucket,
                                 key=key) from None

    def _list_parts(self, bucket: str, key: str, native: str) -> list[UploadedPart]:
        return uploads.parts(self._session(bucket, key, native).folder)

    def _complete_upload(self, bucket: str, key: str, native: str, parts: list[UploadedPart],
                         sha256: str | None) -> ObjectInfo:
        session = self._session(bucket, key, native)
        held = {p.number: p for p in uploads.parts(session.folder)}
        for part in parts:
            if held.get(part.number) != part:
                raise InvalidRequest(f"part {part.number} is not the one this upload holds",
                                     backend=self.name, bucket=bucket, key=key)
        blob = uuid.uuid4().hex
        tmp = self._bucket_dir(bucket) / "tmp" / blob
        final = self._blob_path(bucket, blob)
        try:
            size, measured = uploads.concatenate(session.folder, parts, tmp)
            if sha256 is not None and measured != sha256:
                raise HashMismatch(f"the parts hash to {measured}, the upload announced "
                                   f"{sha256}: nothing was stored", backend=self.name,
                                   bucket=bucket, key=key)
            final.parent.mkdir(exist_ok=True)
            os.rename(tmp, final)
            info = ObjectInfo(key=key, size=size, last_modified=_now(), etag=measured,
                              content_type=session.content_type, metadata=session.metadata,
                              sha256=measured)
            old = self._commit(bucket, info, blob)
        except BaseException:
            for path in (tmp, final):
                path.unlink(missing_ok=True)
            raise
        if old:
            self._blob_path(bucket, old).unlink(missing_ok=True)
        uploads.remove(session.folder)
        return info

    def _abort_upload(self, bucket: str, key: str, native: str) -> None:
        try:
            uploads.remove(self._session(bucket, key, native).folder)
        except UploadNotFound:
            pass

    def _list(self, bucket: str, prefix: str, delimiter: str | None, cursor: str | None,
              limit: int) -> ListPage:
        lower, inclusive = prefix, True
        if cursor:
            after, is_prefix = decode_cursor(cursor)
            if not after.startswith(prefix):
                raise InvalidRequest("cursor does not belong to this listing", bucket=bucket)
            lower, inclusive = (past_prefix(after), True) if is_prefix else (after, False)
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: tuple[str, bool] | None = None
        with self._db(bucket) as db:
            entries = _entries(db, prefix, delimiter, lower, inclusive)
            for entry in entries:
                if len(objects) + len(prefixes) == limit:
                    assert last is not None
                    return ListPage(objects, prefixes, encode_cursor(*last))
                if isinstance(entry, str):
                    prefixes.append(entry)
                    last = (entry, True)
                else:
                    objects.append(entry)
                    last = (entry.key, False)
        return ListPage(objects, prefixes, None)


def _entries(db: sqlite3.Connection, prefix: str, delimiter: str | None, lower: str,
             inclusive: bool) -> Iterator[ObjectInfo | str]:
    """Objects (ObjectInfo) and common prefixes (str) in key order, from `lower` on."""
    while True:
        op = ">=" if inclusive else ">"
        rows = db.execute(f"SELECT {_COLUMNS} FROM objects WHERE key {op} ? ORDER BY key LIMIT ?",
                          (lower, _LIST_BATCH)).fetchall()
        jumped = False
        for row in rows:
            key = row[0]
            if not key.startswith(prefix):
                return
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[:cut + len(delimiter)]
                    yield common
                    # Skip every key under this common prefix with one index seek.
                    lower, inclusive, jumped = past_prefix(common), True, True
                    break
            yield _info(row)
            lower, inclusive = key, False
        if not jumped and len(rows) < _LIST_BATCH:
            return





def _info(row: tuple) -> ObjectInfo:  # type: ignore[type-arg]
    key, size, sha256, content_type, metadata, last_modified, _blob = row
    return ObjectInfo(key=key, size=size, last_modified=datetime.fromisoformat(last_modified),
                      etag=sha256, content_type=content_type, metadata=json.loads(metadata),
                      sha256=sha256)


def _read_file(handle: "object", length: int) -> Iterator[bytes]:
    remaining = length
    while remaining > 0:
        chunk = handle.read(min(CHUNK_SIZE, remaining))  # type: ignore[attr-defined]
        if not chunk:
            raise StorageError("local blob is shorter than its index says (truncated on disk?)")
        remaining -= len(chunk)
        yield chunk


def _now() -> datetime:
    return datetime.now(timezone.utc)
