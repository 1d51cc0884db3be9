"""Run every benchmark (or those named on the command line) and print their figures as JSON."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

import bench


def main() -> int:
    names = sorted(i.name[len("bench_"):] for i in pkgutil.iter_modules(bench.__path__)
                   if i.name.startswith("bench_"))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--out", type=Path, default=Path("bench/results"),
                        help="folder for the JSON results")
    args = parser.parse_args()
    chosen = args.only or names
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in chosen:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.time()
        with tempfile.TemporaryDirectory(prefix=f"sortie-bench-{name}-") as workdir:
            try:
                result = module.run(Path(workdir))
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                result = {"error": f"{type(exc).__name__}: {exc}"}
                failed += 1
        result = {"benchmark": name, "started": started, **result}
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
