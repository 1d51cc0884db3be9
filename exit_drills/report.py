"""Write a drill's report: report.json (machines), report.html (people), manifest.jsonl (auditors:
key, size and SHA-256 of every verified object, streamed from the checkpoint in key order)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from jinja2 import Environment, PackageLoader, select_autoescape

from .private import private_dir
from .spec import DrillReport, Sample

_ENV = Environment(loader=PackageLoader("exit_drills", "templates"),
                   autoescape=select_autoescape(["html"]))


def write_report(report: DrillReport, folder: Path,
                 manifest: Iterable[tuple[str, int, str | None]]) -> None:
    private_dir(folder)
    _atomic_write(folder / "manifest.jsonl", "".join(
        json.dumps({"key": k, "size": s, "sha256": h}, ensure_ascii=False) + "\n"
        for k, s, h in manifest))
    _atomic_write(folder / "report.json", report.model_dump_json(indent=2))
    _atomic_write(folder / "report.html", render_html(report))


def render_html(report: DrillReport) -> str:
    return _ENV.get_template("report.html").render(r=report, chart=throughput_chart(report.timeline),
                                                   human=human_bytes)


def throughput_chart(samples: list[Sample], width: int = 640, height: int = 180) -> dict[str, object]:
    """Points of an SVG polyline: throughput (bytes/s) between consecutive samples over time."""
    rates: list[tuple[float, float]] = []
    for before, after in zip(samples, samples[1:]):
        span = after.t - before.t
        if span > 0:
            rates.append((after.t, (after.bytes - before.bytes) / span))
    if not rates:
        return {"points": "", "peak": 0.0, "duration": 0.0, "width": width, "height": height}
    peak = max(r for _, r in rates) or 1.0
    end = rates[-1][0] or 1.0
    points = " ".join(f"{t / end * width:.1f},{height - r / peak * height:.1f}" for t, r in rates)
    return {"points": points, "peak": peak, "duration": end, "width": width, "height": height}


def human_bytes(value: float | str) -> str:
    if isinstance(value, str):
        return value
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return str(value)


def _atomic_write(path: Path, text: str) -> None:
    # Write then rename: a reader (the gateway, an auditor's script) never sees half a report.
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                   encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
