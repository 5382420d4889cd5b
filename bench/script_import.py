"""Script import scales linearly (issue 19): 10,000 scenes against 1,000 in the same run.

Targets on the reference machine: import of a 10,000-scene script under 10 s, re-import
of the same script into that project under 15 s, and a per-scene cost at 10,000 scenes
within 1.5× of the per-scene cost at 1,000 (the baseline measured here, same run).

Run: ``.venv/bin/python bench/script_import.py [--scenes 10000 --baseline 1000]``
Prints wall and CPU seconds: on a shared machine the CPU figure is the steadier one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def script(scenes: int) -> str:
    return "".join(f"第{n}场 日 内 客厅\n\n李明：你好。\n\n" for n in range(1, scenes + 1))


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(scenes: int, work: Path) -> dict[str, tuple[float, float]]:
    from engine.ops.story import import_script
    from engine.store import ProjectStore

    path = work / f"s{scenes}.txt"
    path.write_text(script(scenes), encoding="utf-8")
    store = ProjectStore.create(work / f"p{scenes}.storyreel")
    try:
        first = timed(lambda: import_script(store, path))
        again = timed(lambda: import_script(store, path))
        assert len(store.scenes()) == scenes
    finally:
        store.close()
    return {"import": first, "re-import": again}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=1_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        base = run(args.baseline, Path(td))
        big = run(args.scenes, Path(td))
    print(f"{'':<10} {args.baseline:>7} scenes (wall/cpu s) {args.scenes:>7} scenes (wall/cpu s)"
          "  per-scene ratio (cpu)")
    worst = 0.0
    for what in ("import", "re-import"):
        (bw, bc), (gw, gc) = base[what], big[what]
        ratio = (gc / args.scenes) / (bc / args.baseline)
        worst = max(worst, ratio)
        print(f"{what:<10} {bw:>10.2f} / {bc:<10.2f} {gw:>14.2f} / {gc:<10.2f} {ratio:>12.2f}")
    print(f"linear: per-scene cost ratio {worst:.2f} (target ≤ 1.5)")
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
