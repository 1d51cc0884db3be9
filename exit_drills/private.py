"""Sortie's own state (tokens, drill history, checkpoints, reports, audit) names health data and
holds credentials: its folders are 0700 and its files 0600, whatever the process's umask."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, pieces: Iterable[str]) -> None:
    """Write a 0600 file whole, then rename it into place: a reader (the gateway, an auditor's
    script) never sees half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                   encoding="utf-8") as out:
        out.writelines(pieces)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def private_sqlite(path: Path, *, timeout: float = 60.0, isolation_level: None = None,
                   check_same_thread: bool = True) -> sqlite3.Connection:
    """A SQLite connection to `path`, the file (and its WAL and journal files) made 0600."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    db = sqlite3.connect(path, timeout=timeout, isolation_level=isolation_level,
                         check_same_thread=check_same_thread)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)
    return db
