"""Projections rest only on a rate that was measured, and say which: a full drill's own copy rate;
an incremental drill that copied too little takes the last full drill's (named) or says unknown;
verify-only projects its read rate, labelled as reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.contract import MiB
from adapters.local.store import LocalStore
from exit_drills.projection import MEASURABLE_COPY_BYTES
from exit_drills.spec import Mode

from .helpers import run_engine, spec


@pytest.fixture
def pair(tmp_path: Path) -> tuple[LocalStore, LocalStore]:
    source = LocalStore("src", tmp_path / "src")
    source.create_bucket("data")
    for i in range(4):
        source.put("data", f"obj-{i}", bytes([i]) * (2 * MiB))
    return source, LocalStore("dst", tmp_path / "dst")


def test_a_first_incremental_drill_that_copied_a_few_bytes_says_unknown(pair, tmp_path) -> None:
    source, target = pair
    target.create_bucket("copy")
    for i in range(4):  # the target already holds everything but one tiny object
        target.put("copy", f"obj-{i}", bytes([i]) * (2 * MiB))
    source.put("data", "tiny", b"four")
    report = run_engine(spec("src:data", "dst:copy", Mode.incremental), source, target, tmp_path)
    assert report.status == "passed" and report.bytes.copied == 4
    projection = report.projection
    assert projection.throughput_bytes_per_s == "unknown" and projection.fits == "unknown"
    assert projection.throughput_basis.startswith("unknown: this incremental drill copied 4 bytes")


def test_an_incremental_drill_after_a_full_one_uses_the_full_rate_and_names_it(pair,
                                                                              tmp_path) -> None:
    source, target = pair
    full = run_engine(spec("src:data", "dst:copy"), source, target, tmp_path)
    assert full.status == "passed"
    full_rate = full.bytes.copied / full.duration_s
    source.put("data", "tiny", b"four")
    report = run_engine(spec("src:data", "dst:copy", Mode.incremental), source, target, tmp_path)
    assert report.bytes.copied == 4 < MEASURABLE_COPY_BYTES
    projection = report.projection
    assert projection.throughput_bytes_per_s == pytest.approx(full_rate, rel=1e-3)
    assert f"the last full drill of the same source and target, {full.id}" in \
        projection.throughput_basis
    assert projection.fits is True


def test_a_full_drill_projects_its_own_copy_rate(pair, tmp_path) -> None:
    source, target = pair
    report = run_engine(spec("src:data", "dst:copy"), source, target, tmp_path)
    # One definition: the report's throughput (bytes copied over the duration) is the same
    # figure (report.json rounds the duration to the millisecond).
    assert report.throughput_bytes_per_s == pytest.approx(
        report.projection.throughput_bytes_per_s, rel=1e-3)
    assert report.projection.throughput_bytes_per_s == pytest.approx(
        report.bytes.copied / report.duration_s, rel=0.05)
    assert report.projection.throughput_basis.startswith("copy throughput of this drill")


def test_verify_only_projects_its_read_rate_labelled_as_reading(pair, tmp_path) -> None:
    source, target = pair
    run_engine(spec("src:data", "dst:copy"), source, target, tmp_path)
    report = run_engine(spec("src:data", "dst:copy", Mode.verify_only), source, target, tmp_path)
    basis = report.projection.throughput_basis
    assert basis.startswith("read throughput of this verify-only drill") and "not copying" in basis
    assert report.projection.throughput_bytes_per_s == pytest.approx(
        report.throughput_bytes_per_s, rel=1e-3)


@pytest.mark.parametrize("duration,unit,last_tick", [(1.0, "(s)", "1"), (600.0, "(min)", "10"),
                                                     (36000.0, "(h)", "10")])
def test_the_chart_reads_for_a_second_and_for_ten_hours(duration: float, unit: str,
                                                        last_tick: str) -> None:
    from exit_drills.report import throughput_chart
    from exit_drills.spec import Sample

    steps = 20
    samples = [Sample(t=duration * i / steps, bytes=int(40 * MiB * duration * i / steps))
               for i in range(steps + 1)]
    chart = throughput_chart(samples, duration)
    assert chart.x_label.endswith(unit) and chart.x_ticks[-1].label == last_tick
    assert chart.y_label == "MiB/s" and chart.y_ticks[0].label == "0"
    assert float(chart.y_ticks[-1].label) >= 40  # the top gridline holds the 40 MiB/s line
    assert chart.average_y is not None and chart.path.startswith("M")
