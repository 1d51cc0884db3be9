"""The audit log: one JSON line per data access, appended to a file that is never rewritten, each
line chained to the one before it so that an edit shows.

Health and personal data need to know who read what: each line names the token's id (never the
token), the action, logical bucket and key, the HTTP status and the bytes actually moved. Lines are
written after the response completes, so `bytes_out` counts what was sent, not what was planned.

Tamper evidence (a hash chain):
- every line starts with `seq` (1, 2, ... across rotations) and `prev`, the SHA-256 of the
  previous line's bytes (without its newline; 64 zeros before the first line ever);
- `<log>.head` holds the last line's seq and SHA-256, rewritten after each line: removing lines
  at the end (which leaves the chain itself whole) shows against it;
- rotation renames the log to `<log>.<UTC time>` and the next line continues the chain, so files
  verify one after the other; each drill attestation carries the head at its end, so history
  before a drill cannot be rewritten without breaking a signed document.
Several gateway processes may share the file: a line is chained and appended under an exclusive
`flock`, and the head of another process's last line is read back from the file.
`verify` (the `sortie audit verify` command) finds an edited, removed, inserted or reordered line
and names it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from exit_drills.private import private_dir

GENESIS = "0" * 64
#: Bytes read from the end of the log to find its last line (lines are far shorter).
_TAIL = 64 * 1024


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def head_path(log: Path) -> Path:
    return log.with_name(log.name + ".head")


@dataclass(frozen=True)
class Head:
    seq: int
    sha256: str

    def as_dict(self, log: Path) -> dict[str, Any]:
        return {"log": str(log), "seq": self.seq, "sha256": self.sha256}


class AuditLog:
    def __init__(self, path: Path) -> None:
        private_dir(path.parent)
        self.path = path
        self._lock = threading.Lock()
        self._fd = self._open()
        #: (file size, head) after this process's last write: another process wrote meanwhile
        #: when the size differs, and the head is then read back from the file.
        self._known: tuple[int, Head] | None = None

    def _open(self) -> int:
        # O_APPEND: every write lands at the end, even with several gateway processes.
        return os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                head = self._current_head()
                line = chained_line(head, entry)
                # One write() per line keeps lines whole when processes share the file.
                os.write(self._fd, line + b"\n")
                new = Head(head.seq + 1, line_hash(line))
                _write_head(self.path, new)
                self._known = (os.fstat(self._fd).st_size, new)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _current_head(self) -> Head:
        size = os.fstat(self._fd).st_size
        if self._known is not None and self._known[0] == size:
            return self._known[1]
        return read_head(self.path)

    def rotate(self) -> Path:
        """Rename the log aside; the next line, in a new file, continues the chain."""
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
                rotated = self.path.with_name(f"{self.path.name}.{stamp}")
                os.rename(self.path, rotated)
                fd, self._fd = self._fd, self._open()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            self._known = None
            return rotated

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def chained_line(head: Head, entry: dict[str, Any]) -> bytes:
    """The audit line of `entry` after `head`: its seq and the previous line's SHA-256 first."""
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    return (f'{{"seq":{head.seq + 1},"prev":"{head.sha256}",' + body[1:] if body != "{}" else
            f'{{"seq":{head.seq + 1},"prev":"{head.sha256}"}}').encode("utf-8")


def _write_head(log: Path, head: Head) -> None:
    tmp = log.with_name(f".{log.name}.head.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps({"seq": head.seq, "sha256": head.sha256}).encode() + b"\n")
    finally:
        os.close(fd)
    os.replace(tmp, head_path(log))


def read_head(log: Path) -> Head:
    """The head of the chain: the log's last line, else the head file (a log just rotated),
    else the start of a chain."""
    last = _last_line(log)
    if last is not None:
        try:
            return Head(int(json.loads(last)["seq"]), line_hash(last))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged last line: `verify` names it; chain on from the head file
    recorded = _recorded_head(log)
    return recorded if recorded is not None else Head(0, GENESIS)


def _recorded_head(log: Path) -> Head | None:
    try:
        data = json.loads(head_path(log).read_text(encoding="utf-8"))
        return Head(int(data["seq"]), str(data["sha256"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _last_line(log: Path) -> bytes | None:
    try:
        with open(log, "rb") as data:
            size = data.seek(0, os.SEEK_END)
            if size == 0:
                return None
            data.seek(max(0, size - _TAIL))
            tail = data.read()
    except FileNotFoundError:
        return None
    lines = tail.rstrip(b"\n").split(b"\n")
    return lines[-1] if lines and lines[-1] else None


# ---- verification ------------------------------------------------------------------------------
@dataclass
class Verification:
    files: list[str] = field(default_factory=list)
    lines: int = 0
    first_seq: int | None = None
    head: Head | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.problems


def chain_files(log: Path) -> list[Path]:
    """The rotated files of `log` in the order they were written, then the live log."""
    rotated = sorted(p for p in log.parent.glob(f"{log.name}.*")
                     if p.name[len(log.name) + 1:][:1].isdigit())
    return rotated + ([log] if log.exists() else [])


def verify(files: Iterable[Path], head_of: Path | None = None) -> Verification:
    """Check the chain through `files` in order; `head_of` (the live log) is also checked
    against its head file, which shows lines removed at the end."""
    result = Verification()

    def lines() -> Iterator[tuple[str, bytes]]:
        for path in files:
            result.files.append(str(path))
            try:
                data = path.read_bytes()
            except OSError as exc:
                result.problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
                return
            for number, line in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n")
                                          else data.split(b"\n"), 1):
                yield f"{path.name}:{number}", line

    verify_lines(lines(), result)
    if head_of is not None:
        recorded = _recorded_head(head_of)
        if recorded is not None and result.head != recorded:
            ends = f"seq {result.head.seq}" if result.head else "no line"
            result.problems.append(
                f"{head_of}: the log ends at {ends} but its head file records seq "
                f"{recorded.seq} ({recorded.sha256[:16]}...): line(s) at the end were removed "
                "or changed")
    return result


def verify_lines(lines: Iterable[tuple[str, bytes]], result: Verification) -> Verification:
    """Check the chain through (where, line) pairs in order, into `result`."""
    previous: tuple[str, int, str] | None = None  # (where, seq, sha256) of the last good line
    for where, line in lines:
        previous = _check_line(where, line, previous, result)
        result.lines += 1
    if previous is not None:
        result.head = Head(previous[1], previous[2])
    return result


def _check_line(where: str, line: bytes, previous: tuple[str, int, str] | None,
                result: Verification) -> tuple[str, int, str]:
    digest = line_hash(line)
    try:
        entry = json.loads(line)
        seq, prev = int(entry["seq"]), str(entry["prev"])
    except (ValueError, KeyError, TypeError):
        result.problems.append(f"{where}: not a chained audit line (edited or damaged)")
        return (where, (previous[1] + 1) if previous else 0, digest)
    if previous is None:
        result.first_seq = seq
        if seq == 1 and prev != GENESIS:
            result.problems.append(f"{where}: the first line's prev is not the chain's start")
        return (where, seq, digest)
    before, before_seq, before_hash = previous
    if seq != before_seq + 1:
        what = ("line(s) removed" if seq > before_seq + 1 else "a line inserted or moved")
        result.problems.append(f"{where}: seq {seq} follows seq {before_seq} ({before}): {what}")
    if prev != before_hash:
        result.problems.append(f"{where}: its prev is not the SHA-256 of {before}: {before} was "
                               "edited, or a line was inserted, removed or moved between them")
    return (where, seq, digest)
