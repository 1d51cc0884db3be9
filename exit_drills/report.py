"""Write a drill's report: report.json (machines), report.html (people), manifest.jsonl (auditors:
key, size and SHA-256 of every verified object, streamed from the checkpoint in key order)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from jinja2 import Environment, PackageLoader, select_autoescape

from adapters.contract import MiB

from .evidence.attestation import METHOD
from .private import private_dir, write_private
from .spec import DrillReport, Sample

_ENV = Environment(loader=PackageLoader("exit_drills", "templates"),
                   autoescape=select_autoescape(["html"]))


def write_report(report: DrillReport, folder: Path,
                 manifest: Iterable[tuple[str, int, str | None]]) -> None:
    private_dir(folder)
    digest = hashlib.sha256()

    def lines() -> Iterator[str]:
        for key, size, sha256 in manifest:
            line = json.dumps({"key": key, "size": size, "sha256": sha256},
                              ensure_ascii=False) + "\n"
            digest.update(line.encode("utf-8"))
            yield line

    # Line by line: a million objects' manifest is ~150 MB, never held in memory at once.
    write_private(folder / "manifest.jsonl", lines())
    # The report names the manifest's digest (and the attestation, the report's).
    report.manifest_sha256 = digest.hexdigest()
    write_private(folder / "report.json", [report.model_dump_json(indent=2)])
    write_private(folder / "report.html", [render_html(report)])


def render_html(report: DrillReport) -> str:
    return _ENV.get_template("report.html").render(
        r=report, chart=throughput_chart(report.timeline, report.duration_s), human=human_bytes,
        yes_no=yes_no, utc=utc, method=METHOD)


def yes_no(value: bool | str) -> str:
    return value if isinstance(value, str) else ("Yes" if value else "No")


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Tick:
    at: float   # pixels along the axis
    label: str


@dataclass(frozen=True)
class Chart:
    """A step chart of throughput over time, in SVG coordinates, with its axes."""

    width: int
    height: int
    left: int
    bottom: int
    path: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    x_label: str
    y_label: str
    average_y: float | None
    note: str


_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 64, 16, 12, 40


def throughput_chart(samples: list[Sample], duration_s: float, width: int = 720,
                     height: int = 240) -> Chart:
    """Throughput (MiB/s) between consecutive samples, drawn as steps over the drill's time,
    with gridlines; the dashed line is the drill's average (bytes moved over its duration, the
    figure the report gives), so the chart and the summary say the same thing."""
    plot_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = height - _MARGIN_TOP - _MARGIN_BOTTOM
    end = max(duration_s, samples[-1].t if samples else 0.0, 1e-3)
    steps = [(a.t, b.t, (b.bytes - a.bytes) / (b.t - a.t) / MiB)
             for a, b in zip(samples, samples[1:]) if b.t > a.t]
    moved = samples[-1].bytes if samples else 0
    average = moved / end / MiB
    top, y_step = _nice_ceiling(max([r for _, _, r in steps] + [average, 0.0]))
    unit, scale = _time_unit(end)
    x_step = _nice_step(end / scale / 6)
    x_ticks = [Tick(_MARGIN_LEFT + v * scale / end * plot_w, _number(v))
               for v in _range(0, end / scale, x_step)]
    y_ticks = [Tick(_MARGIN_TOP + plot_h - v / top * plot_h, _number(v))
               for v in _range(0, top, y_step)]

    def point(t: float, rate: float) -> str:
        return (f"{_MARGIN_LEFT + t / end * plot_w:.1f},"
                f"{_MARGIN_TOP + plot_h - rate / top * plot_h:.1f}")

    path = " ".join(f"{'M' if i == 0 else 'L'}{point(t0, r)} L{point(t1, r)}"
                    for i, (t0, t1, r) in enumerate(steps))
    note = "" if moved else "No bytes were moved: the line stays at zero."
    return Chart(width, height, _MARGIN_LEFT, _MARGIN_TOP + plot_h, path, x_ticks, y_ticks,
                 f"time since the drill started ({unit})", "MiB/s",
                 _MARGIN_TOP + plot_h - average / top * plot_h if moved else None, note)


def _time_unit(seconds: float) -> tuple[str, float]:
    if seconds <= 180:
        return "s", 1.0
    if seconds <= 3 * 3600:
        return "min", 60.0
    return "h", 3600.0


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _nice_ceiling(value: float) -> tuple[float, float]:
    """(top, step) of an axis from 0 that holds `value`: a round step, about 4 gridlines."""
    if value <= 0:
        return 1.0, 0.25
    step = _nice_step(value / 4)
    return max(step, math.ceil(value / step - 1e-9) * step), step


def _range(start: float, stop: float, step: float) -> list[float]:
    count = int(math.floor(stop / step + 1e-9)) + 1
    return [start + i * step for i in range(count)]


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.2g}"


def human_bytes(value: float | str) -> str:
    if isinstance(value, str):
        return value
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return str(value)
