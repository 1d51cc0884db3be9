"""Progress speaks in the right units: objects as counts, bytes as sizes, rates per second and
per worker, elapsed time that moves, and no total while the inventory is still listing."""

from __future__ import annotations

import io

from exit_drills.engine import Snapshot
from exit_drills.progress import PlainDisplay, RichDisplay, bytes_line, objects_line


def _snap(**changes: object) -> Snapshot:
    base = dict(drill_id="d", state="running", objects_seen=2005, bytes_seen=615_776_256,
                inventory_done=True, objects_settled=1500, bytes_done=300_000_000,
                elapsed_s=65.3, workers=2)
    return Snapshot(**{**base, **changes})  # type: ignore[arg-type]


def test_objects_and_bytes_have_their_own_units() -> None:
    objects = objects_line(_snap())
    assert objects.startswith("1500/2005 objects") and "kB" not in objects and "B/s" not in objects
    assert "23.0 objects/s" in objects and "2 workers (11.5/s each)" in objects
    assert "0:01:05 elapsed" in objects
    # Copies and read-backs both count: the total is twice the source's bytes, and says so
    # (a drill once showed "2 B of 1 B moved").
    assert bytes_line(_snap()) == \
        "286.1 MiB of 1.1 GiB (source 587.2 MiB) copied and read back, 4.4 MiB/s"
    assert bytes_line(_snap(passes=1, bytes_done=615_776_256)) == \
        "587.2 MiB of 587.2 MiB (source 587.2 MiB) read back, 9.0 MiB/s"


def test_no_total_while_listing() -> None:
    listing = _snap(inventory_done=False, objects_seen=700)
    assert "(listed 700 so far)" in objects_line(listing) and "/700" not in objects_line(listing)
    assert " of " not in bytes_line(listing)
    assert "workers" not in objects_line(_snap(workers=0))


def test_both_displays_render() -> None:
    out = io.StringIO()
    plain = PlainDisplay(out, every_s=0)
    plain(_snap())
    assert "1500/2005 objects" in out.getvalue() and "MiB/s" in out.getvalue()
    rich_out = io.StringIO()
    display = RichDisplay(rich_out)
    display(_snap(state="finished", objects_settled=2005, bytes_done=615_776_256))
    display.close()
    assert "2005/2005 objects" in rich_out.getvalue()
