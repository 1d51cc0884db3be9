"""Upload sessions on a local disk: one folder per session, one file per acknowledged part.

    <bucket>/uploads/<id>/upload.json         key, content type, metadata, announced SHA-256
    <bucket>/uploads/<id>/<number>-<md5>      a part, written to a temporary name, fsynced, then
                                              renamed: a part file exists only whole

The part's MD5 is in its name, so listing the parts reads no byte. Completing concatenates the
parts into a new blob while hashing it (the object's recorded SHA-256 is then measured here, not
only announced), and the store commits the blob like any put. Session ids are generated hex, and
checked as such before any path is built from one. `sortie backends sweep` removes sessions
untouched for longer than its age limit, as S3 lifecycle rules remove abandoned uploads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import UploadNotFound
from ..uploads import UploadedPart

UPLOADS = "uploads"
_ID = re.compile(r"^[0-9a-f]{32}$")
_PART = re.compile(r"^(\d{5})-([0-9a-f]{32})$")
_COPY = 1024 * 1024


@dataclass(frozen=True)
class Session:
    folder: Path
    key: str
    content_type: str
    metadata: dict[str, str]


def start(bucket_dir: Path, key: str, sha256: str | None, content_type: str,
          metadata: dict[str, str]) -> str:
    native = uuid.uuid4().hex
    folder = bucket_dir / UPLOADS / native
    folder.mkdir(parents=True)
    _write_whole(folder / "upload.json", json.dumps(
        {"key": key, "sha256": sha256, "content_type": content_type, "metadata": metadata},
        ensure_ascii=False).encode("utf-8"))
    return native


def session(bucket_dir: Path, key: str, native: str, *, backend: str,
            bucket: str) -> Session:
    """The session `native` of `key`, or UploadNotFound (also for a malformed id)."""
    folder = bucket_dir / UPLOADS / native
    try:
        if not _ID.match(native):
            raise FileNotFoundError(native)
        data = json.loads((folder / "upload.json").read_bytes())
    except FileNotFoundError:
        raise UploadNotFound("no such upload", backend=backend, bucket=bucket, key=key) from None
    if data["key"] != key:
        raise UploadNotFound("no such upload for this key", backend=backend, bucket=bucket,
                             key=key)
    return Session(folder, key, data["content_type"], dict(data["metadata"]))


def write_part(folder: Path, number: int, data: bytes) -> UploadedPart:
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    name = f"{number:05d}-{md5}"
    _write_whole(folder / name, data)
    for other in _parts(folder):  # a part sent again replaces the earlier one
        if other.number == number and other.token != name:
            (folder / other.token).unlink(missing_ok=True)
    return UploadedPart(number, len(data), md5, name)


def parts(folder: Path) -> list[UploadedPart]:
    return sorted(_parts(folder), key=lambda p: p.number)


def concatenate(folder: Path, chosen: list[UploadedPart], out_path: Path) -> tuple[int, str]:
    """Write the chosen parts one after the other into `out_path`; (size, SHA-256)."""
    digest = hashlib.sha256()
    size = 0
    with open(out_path, "xb") as out:
        for part in chosen:
            if not _PART.match(part.token):
                raise FileNotFoundError(part.token)
            with open(folder / part.token, "rb") as handle:
                for piece in iter(lambda: handle.read(_COPY), b""):
                    digest.update(piece)
                    out.write(piece)
                    size += len(piece)
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def remove(folder: Path) -> None:
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        entry.unlink(missing_ok=True)
    folder.rmdir()


def _parts(folder: Path) -> Iterator[UploadedPart]:
    for entry in os.scandir(folder):
        match = _PART.match(entry.name)
        if match:
            yield UploadedPart(int(match.group(1)), entry.stat().st_size, match.group(2),
                               entry.name)


def _write_whole(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.rename(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
