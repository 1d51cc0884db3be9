"""Remove what interrupted operations left on a local backend's disk.

A put killed between writing its bytes and committing its index row, a delete killed between
removing the row and unlinking the file, a bucket delete killed mid-way: each leaves bytes that
no read can reach but that are still on disk. For health data that is not acceptable (an object
deleted through Sortie must not survive in a file), so `sortie backends sweep` finds them:

- files in `<bucket>/tmp/` not written to for `older_than` seconds (writes in progress keep
  touching theirs);
- files in `<bucket>/blobs/` that no index row names and whose inode has not changed for
  `older_than` seconds (a put renames its file and a copy hard-links one just before committing:
  both change the inode's ctime, so a blob about to be committed is never taken for an orphan);
- `.trash-*` folders of bucket deletes that did not finish;
- upload sessions (`<bucket>/uploads/<id>/`) neither completed nor aborted, none of whose files
  changed for `older_than` seconds: abandoned, as S3 lifecycle rules take abandoned multipart
  uploads (a drill resuming later starts that object's session again).

Blob names are random and never reused, so a blob that is old and unreferenced stays so.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .store import INDEX_FILE, LocalStore
from .uploads import UPLOADS

DEFAULT_OLDER_THAN = 24 * 3600.0


@dataclass
class SweepReport:
    files: int = 0
    bytes: int = 0
    trash_folders: int = 0
    upload_sessions: int = 0
    paths: list[Path] = field(default_factory=list)  # what was (or, in a dry run, would be) removed


def sweep(store: LocalStore, older_than: float = DEFAULT_OLDER_THAN, *,
          dry_run: bool = False, now: float | None = None) -> SweepReport:
    """Remove orphans under every bucket of `store` (only list them when `dry_run`)."""
    report = SweepReport()
    cutoff = (time.time() if now is None else now) - older_than
    for trash in sorted(store.root.glob(".trash-*")):
        report.trash_folders += 1
        report.paths.append(trash)
        if not dry_run:
            shutil.rmtree(trash, ignore_errors=True)
    for bucket_dir in sorted(p for p in store.root.iterdir() if (p / INDEX_FILE).is_file()):
        for path, size in _orphans(bucket_dir, cutoff):
            report.files += 1
            report.bytes += size
            report.paths.append(path)
            if not dry_run:
                path.unlink(missing_ok=True)
        for session in _abandoned_sessions(bucket_dir / UPLOADS, cutoff):
            report.upload_sessions += 1
            report.paths.append(session)
            if not dry_run:
                shutil.rmtree(session, ignore_errors=True)
    return report


def _abandoned_sessions(uploads: Path, cutoff: float) -> Iterator[Path]:
    if not uploads.is_dir():
        return
    for session in sorted(uploads.iterdir()):
        stats = [s for s in (_stat(p) for p in [session, *session.iterdir()]) if s is not None]
        if stats and max(s.st_mtime for s in stats) < cutoff:
            yield session


def _orphans(bucket_dir: Path, cutoff: float) -> Iterator[tuple[Path, int]]:
    for path in _files(bucket_dir / "tmp"):
        stat = _stat(path)
        if stat is not None and stat.st_mtime < cutoff:
            yield path, stat.st_size
    # One ordered pass over the index beside one ordered walk of the blob files (a merge join):
    # linear in the bucket's size, whatever the number of objects, and little memory.
    with closing(sqlite3.connect(f"file:{bucket_dir / INDEX_FILE}?mode=ro", uri=True,
                                 timeout=60)) as db:
        referenced = (row[0] for row in db.execute("SELECT blob FROM objects ORDER BY blob"))
        current = next(referenced, None)
        for path in _blob_files(bucket_dir / "blobs"):
            while current is not None and current < path.name:
                current = next(referenced, None)
            if current == path.name:
                continue
            stat = _stat(path)
            if stat is not None and max(stat.st_mtime, stat.st_ctime) < cutoff:
                yield path, stat.st_size


def _blob_files(blobs: Path) -> Iterator[Path]:
    """Blob files in name order: shard folders are the names' first two characters."""
    for shard in sorted(os.listdir(blobs)):
        for name in sorted(os.listdir(blobs / shard)):
            yield blobs / shard / name


def _files(folder: Path) -> Iterator[Path]:
    for directory, _dirs, files in os.walk(folder):
        for name in files:
            yield Path(directory) / name


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:  # finished (renamed, committed or removed) meanwhile
        return None
