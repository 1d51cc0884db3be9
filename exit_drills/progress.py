"""Showing a running drill: a rich progress bar on a terminal, plain periodic lines otherwise
(logs, CI, cron mail)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from rich.console import Console
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeRemainingColumn, TransferSpeedColumn)

from .engine import Snapshot
from .report import human_bytes


class RichDisplay:
    def __init__(self, stream: TextIO) -> None:
        console = Console(file=stream)
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TextColumn("objects"), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                                  transient=False)
        self._objects = self._progress.add_task("objects", total=None)
        self._bytes = self._progress.add_task("bytes", total=None)
        self._progress.start()

    def __call__(self, snap: Snapshot) -> None:
        total = snap.objects_seen if snap.inventory_done else None
        label = "listing + copying" if not snap.inventory_done else snap.state
        self._progress.update(self._objects, completed=snap.objects_settled, total=total,
                              description=f"{label} ({snap.failed} failed)")
        self._progress.update(self._bytes, completed=snap.bytes_done,
                              total=snap.bytes_seen if snap.inventory_done else None,
                              description="bytes")

    def close(self) -> None:
        self._progress.stop()


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
        rate = snap.bytes_done / snap.elapsed_s if snap.elapsed_s else 0.0
        of = f"/{snap.objects_seen}" if snap.inventory_done else f" (listed {snap.objects_seen} so far)"
        print(f"drill {snap.drill_id}: {snap.state}, {snap.objects_settled}{of} objects, "
              f"{snap.failed} failed, {human_bytes(snap.bytes_done)} at {human_bytes(rate)}/s, "
              f"{snap.elapsed_s:.0f} s", file=self._stream, flush=True)

    def close(self) -> None:
        pass


def display_for(stream: TextIO = sys.stderr) -> "RichDisplay | PlainDisplay":
    return RichDisplay(stream) if stream.isatty() else PlainDisplay(stream)


Display = Callable[[Snapshot], None]
