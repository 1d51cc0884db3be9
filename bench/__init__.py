"""Side-by-side benchmarks (`make bench`): each compares Sortie with a peer in the same run.

A benchmark is a module `bench/bench_<name>.py` with `run(workdir: Path) -> dict`, returning its
figures (times, ratios, memory) as JSON-able data. They are measurements, not tests: they never
fail the build on a number, they print it for the closing notes and for regressions to be seen.
"""


import time
from typing import Callable


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
