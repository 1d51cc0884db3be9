"""The audit log's hash chain: every kind of tampering is found and named by `sortie audit
verify`; a clean log verifies across rotation; several writers keep one chain."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from service.audit import AuditLog, chain_files, read_head, verify
from tests.drills.helpers import sortie, write_config

LINES = 8


def _log(tmp_path: Path, lines: int = LINES) -> Path:
    path = tmp_path / "state" / "audit.log"
    log = AuditLog(path)
    for i in range(lines):
        log.write({"token": "t1", "action": "get_object", "bucket": "b", "key": f"k{i}",
                   "status": 200})
    log.close()
    return path


def _audit_verify(tmp_path: Path, *files: Path) -> tuple[int, str]:
    config = write_config(tmp_path, {"d": {"type": "local", "path": str(tmp_path / "d")}})
    done = sortie("audit", "verify", "--config", str(config), *map(str, files))
    return done.returncode, done.stdout + done.stderr


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_a_clean_log_verifies(tmp_path: Path) -> None:
    path = _log(tmp_path)
    code, out = _audit_verify(tmp_path)
    assert code == 0 and f"{LINES} line(s)" in out and f"seq 1..{LINES}" in out, out
    first = json.loads(_lines(path)[0])
    assert first["seq"] == 1 and first["prev"] == "0" * 64 and first["key"] == "k0"


def test_an_edited_line_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[3] = lines[3].replace(b'"status":200', b'"status":403')
    path.write_bytes(b"".join(lines))
    code, out = _audit_verify(tmp_path)
    assert code == 1 and "audit.log:5: its prev is not the SHA-256 of audit.log:4" in out, out


def test_a_removed_line_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    del lines[2]
    path.write_bytes(b"".join(lines))
    code, out = _audit_verify(tmp_path)
    assert code == 1 and "audit.log:3: seq 4 follows seq 2 (audit.log:2): line(s) removed" in out


def test_an_inserted_line_is_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    forged = json.loads(lines[4])
    forged["key"] = "forged"
    lines.insert(5, json.dumps(forged, separators=(",", ":")).encode() + b"\n")
    path.write_bytes(b"".join(lines))
    code, out = _audit_verify(tmp_path)
    assert code == 1 and "audit.log:6: seq 5 follows seq 5" in out, out


def test_reordered_lines_are_named(tmp_path: Path) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"".join(lines))
    code, out = _audit_verify(tmp_path)
    assert code == 1 and "audit.log:3: seq 4 follows seq 2" in out, out


def test_a_truncated_last_line_shows_against_the_head(tmp_path: Path) -> None:
    path = _log(tmp_path)
    path.write_bytes(b"".join(_lines(path)[:-1]))
    code, out = _audit_verify(tmp_path)
    assert code == 1 and f"ends at seq {LINES - 1} but its head file records seq {LINES}" in out


def test_the_chain_continues_across_rotation(tmp_path: Path) -> None:
    path = _log(tmp_path, 3)
    log = AuditLog(path)
    rotated = log.rotate()
    log.write({"action": "after-rotation"})
    log.close()
    assert json.loads(_lines(path)[0])["seq"] == 4
    assert chain_files(path) == [rotated, path]
    code, out = _audit_verify(tmp_path)
    assert code == 0 and "4 line(s) in 2 file(s)" in out, out
    # The live file alone starts at seq 4: it verifies, saying earlier lines are elsewhere.
    code, out = _audit_verify(tmp_path, path)
    assert code == 0 and "earlier lines are in files not given" in out, out
    # A line edited in the rotated file breaks the link into the live one.
    lines = _lines(rotated)
    lines[-1] = lines[-1].replace(b"k2", b"kX")
    rotated.write_bytes(b"".join(lines))
    code, out = _audit_verify(tmp_path)
    assert code == 1 and f"audit.log:1: its prev is not the SHA-256 of {rotated.name}:3" in out


def _writer(path: str, worker: int) -> None:
    log = AuditLog(Path(path))
    for i in range(50):
        log.write({"worker": worker, "i": i})
    log.close()


def test_processes_sharing_the_log_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(path), w)) for w in range(3)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    result = verify([path], head_of=path)
    assert result.holds, result.problems
    assert result.lines == 150 and read_head(path).seq == 150


@pytest.mark.parametrize("damage", [b"not json at all\n", b"{\"seq\": 2}\n"])
def test_a_damaged_line_is_named(tmp_path: Path, damage: bytes) -> None:
    path = _log(tmp_path)
    lines = _lines(path)
    lines[1] = damage
    path.write_bytes(b"".join(lines))
    result = verify([path], head_of=path)
    assert any(p.startswith("audit.log:2: not a chained audit line") for p in result.problems)
