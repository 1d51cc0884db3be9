"""report.html as people and auditors see it, in a real Chromium: the chart has its axes and
units, nothing overflows a 1280 px page, and the PDF print keeps the evidence block.
Screenshots land in the test's folder (look at them when changing the template)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from adapters.local.store import LocalStore
from tests.drills.helpers import corrupt_local, seed_dataset, sortie, write_config


def _drill(tmp_path: Path, *, signed: bool, corrupt_source: bool = False) -> Path:
    source = LocalStore("src", tmp_path / "src")
    seed_dataset(source, "data", big=False)
    if corrupt_source:  # its bytes no longer match the SHA-256 recorded at ingest: it fails
        corrupt_local(source, "data", "small/001")
    extra: dict[str, Any] = {}
    if signed:
        assert sortie("evidence", "keygen", "--out", str(tmp_path / "keys")).returncode == 0
        extra["evidence"] = {"signing_key": str(tmp_path / "keys" / "sortie-signing.key")}
    target = tmp_path / "dst"
    config = write_config(tmp_path, {"src": {"type": "local", "path": str(tmp_path / "src")},
                                     "dst": {"type": "local", "path": str(target)}}, **extra)
    sortie("drill", "run", "--config", str(config), "--from", "src:data", "--to", "dst:copy",
           "--workers", "0")
    return next(p for p in (tmp_path / "state" / "drills").iterdir() if p.is_dir())


def _overflowing(page: Any) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40))""")


@pytest.mark.parametrize("signed,broken", [(True, False), (False, True)])
def test_report_html_reads_well_and_prints(browser: Any, tmp_path: Path, signed: bool,
                                           broken: bool) -> None:
    folder = _drill(tmp_path, signed=signed, corrupt_source=broken)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((folder / "report.html").as_uri())
    texts = page.locator("svg.chart text").all_text_contents()
    assert "MiB/s" in texts and any(t.startswith("time since the drill started") for t in texts)
    assert "0" in texts  # both axes start at zero
    assert page.locator("svg.chart line.grid").count() >= 4
    assert _overflowing(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    body = page.inner_text("body")
    assert "Yes" in body or "No" in body
    assert "True" not in body and "False" not in body  # people read Yes/No
    assert " UTC" in body and "How the copy was verified" in body
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4")
    page.close()
    text = _pdf_text(pdf)
    assert "Evidence" in text
    assert ("Signed." in text) if signed else ("Unsigned." in text)
    if broken:
        assert "FAILED" in body and "small/001" in body and "corrupt" in body


def _pdf_text(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian poppler-utils) is needed to read the PDF")
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
