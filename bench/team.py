"""Team server: how fast a change reaches another client, and writer throughput.

Starts a real PostgreSQL server (as the tests do), shares a small project on it and
measures, in the same run:

- latency: one client edits a shot; another, waiting on LISTEN/NOTIFY
  (``ProjectStore.wait_for_change``), sees it. Prints p50/p95 (target p95 ≤ 1 s).
- throughput: 8 writer processes × N operations on the server, against the same on a
  local SQLite project (the named baseline). Prints operations/s and the ratio.

Run: ``.venv/bin/python bench/team.py [--changes 50 --ops 25]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WRITER = """
import sys, time
from engine.ops import shots
from engine.store import ProjectStore

store = ProjectStore.open(sys.argv[1])
shot = store.shots()[int(sys.argv[2])]
start = time.perf_counter()
for i in range(int(sys.argv[3])):
    shots.set_shot_fields(store, shot.id, duration=1.0 + i / 10, action=f"a{i}")
print(start, time.perf_counter())
store.close()
"""


def _project(root: Path, n: int):
    from engine.model import Project, Scene, Shot
    from engine.store import ProjectStore

    store = ProjectStore.create(root, Project(title="bench"))
    scene = store.add(Scene(number=1))
    for i in range(n):
        store.add(Shot(scene_id=scene.id, order=i))
    store.close()
    return root


def _writers(roots: list[Path], ops: int) -> float:
    """Seconds from the first writer's first operation to the last one's last (process
    start-up and imports excluded: perf_counter is system-wide on Linux)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(r), str(i), str(ops)],
                              env=env, stdout=subprocess.PIPE, text=True)
             for i, r in enumerate(roots)]
    spans = []
    for p in procs:
        out, _ = p.communicate(timeout=900)
        if p.returncode != 0:
            raise SystemExit("a writer failed")
        spans.append([float(v) for v in out.split()])
    return max(e for _, e in spans) - min(s for s, _ in spans)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--ops", type=int, default=25, help="operations per writer")
    args = parser.parse_args()

    from engine.ops import shots
    from engine.ops.team import grant, join, share
    from engine.store import ProjectStore
    from tests.pgserver import PgServer

    server = PgServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="storyreel-bench-team-"))
    try:
        url = server.create_database("bench")
        (tmp / "nas").mkdir()
        root = _project(tmp / "shared.storyreel", 8)
        share(root, url, str(tmp / "nas"))
        a = ProjectStore.open(root)
        b = join(url, tmp / "b.storyreel", str(tmp / "nas"))
        shot_id = a.shots()[0].id
        b.wait_for_change(0.0)  # LISTEN before the first change
        latencies = []
        for i in range(args.changes):
            box: dict[str, float] = {}

            def watch(box: dict[str, float] = box) -> None:
                b.wait_for_change(10.0)
                box["seen"] = time.perf_counter()

            t = threading.Thread(target=watch)
            t.start()
            sent = time.perf_counter()
            shots.set_shot_fields(a, shot_id, duration=1.0 + i / 100)
            t.join()
            latencies.append(box["seen"] - sent)
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"change reaches another client: p50 {statistics.median(latencies)*1000:.1f} ms,"
              f" p95 {p95*1000:.1f} ms over {len(latencies)} changes "
              f"(target p95 ≤ 1000 ms: {'met' if p95 <= 1.0 else 'NOT met'})")

        roots = []
        for i in range(8):
            grant(a, f"w{i}", "editor")
            c = join(url.replace("postgres@", f"w{i}@"), tmp / f"w{i}.storyreel",
                     str(tmp / "nas"))
            roots.append(c.root)
            c.close()
        a.close()
        b.close()
        server_s = _writers(roots, args.ops)
        local = _project(tmp / "local.storyreel", 8)
        local_s = _writers([local] * 8, args.ops)
        total = 8 * args.ops
        print(f"8 writers × {args.ops} ops: server {total / server_s:.0f} ops/s, "
              f"local SQLite (baseline) {total / local_s:.0f} ops/s; "
              f"ratio server/local = {local_s / server_s:.2f}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
