"""Showing a running drill: a rich progress bar on a terminal, plain periodic lines otherwise
(logs, CI, cron mail)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from .engine import Snapshot
from .report import human_bytes


class RichDisplay:
    """Two bars, objects and bytes, each with its own units; a bar pulses while the inventory
    is still listing (its total is not known yet)."""

    def __init__(self, stream: TextIO) -> None:
        console = Console(file=stream)
        self._progress = Progress(TextColumn("[bold]{task.description:<8}"), BarColumn(),
                                  TextColumn("{task.fields[detail]}"), console=console,
                                  transient=False)
        self._objects = self._progress.add_task("objects", total=None, detail="")
        self._bytes = self._progress.add_task("bytes", total=None, detail="")
        self._progress.start()

    def __call__(self, snap: Snapshot) -> None:
        done = snap.inventory_done
        self._progress.update(self._objects, completed=snap.objects_settled,
                              total=snap.objects_seen if done else None,
                              detail=objects_line(snap))
        self._progress.update(self._bytes, completed=snap.bytes_done,
                              total=snap.bytes_seen * snap.passes if done else None,
                              detail=bytes_line(snap))

    def close(self) -> None:
        self._progress.stop()


def objects_line(snap: Snapshot) -> str:
    of = f"/{snap.objects_seen}" if snap.inventory_done else f" (listed {snap.objects_seen} so far)"
    rate = snap.objects_settled / snap.elapsed_s if snap.elapsed_s else 0.0
    who = f", {snap.workers} workers ({rate / snap.workers:.1f}/s each)" if snap.workers else ""
    return (f"{snap.objects_settled}{of} objects, {snap.failed} failed, {rate:.1f} objects/s"
            f"{who}, {snap.state}, {_clock(snap.elapsed_s)} elapsed")


def bytes_line(snap: Snapshot) -> str:
    """Bytes through the drill: every pass counts (a copy, then its read-back), so the total is
    the source's bytes times the passes (objects skipped as unchanged take one pass only)."""
    what = "copied and read back" if snap.passes == 2 else "read back"
    of = (f" of {human_bytes(snap.bytes_seen * snap.passes)} (source "
          f"{human_bytes(snap.bytes_seen)})") if snap.inventory_done else ""
    rate = snap.bytes_done / snap.elapsed_s if snap.elapsed_s else 0.0
    return f"{human_bytes(snap.bytes_done)}{of} {what}, {human_bytes(rate)}/s"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class PlainDisplay:
    def __init__(self, stream: TextIO, every_s: float = 10.0) -> None:
        self._stream = stream
        self._every = every_s
        self._last = 0.0

    def __call__(self, snap: Snapshot) -> None:
        now = time.monotonic()
        if now - self._last < self._every and snap.state != "finished":
            return
        self._last = now
        print(f"drill {snap.drill_id}: {objects_line(snap)}; {bytes_line(snap)}",
              file=self._stream, flush=True)

    def close(self) -> None:
        pass


def display_for(stream: TextIO = sys.stderr) -> "RichDisplay | PlainDisplay":
    return RichDisplay(stream) if stream.isatty() else PlainDisplay(stream)


Display = Callable[[Snapshot], None]
