"""The long fuzz campaign: hostile inputs through every entry point the fuzz suite covers.

    python bench/fuzz.py                  # 10,000 inputs (the issue's bar), seed 0
    python bench/fuzz.py -n 200 --seed 7  # a quick look
    python bench/fuzz.py --only bundle    # one entry point

Entry points: script files (encodings, BOMs, damaged bytes), script text (Fountain and
剧本 shapes), subtitles (cues → SRT/ASS → read back), bundles (byte-level mutations of a
real packed project), project.db (byte-level mutations of a real project, then read
commands and pack), LLM replies (story and shot plans) and media files (WAV, PNG, MP4).
Prints inputs tried, clean refusals, successes and crashes per entry point, and exits 1
on any crash. Each crash's input is written under --crash-dir so it can be committed as
a regression input (tests/fuzz/regressions/ replays them in `make test`).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tests.fuzz import harness as H  # noqa: E402

# share of the campaign per entry point (project.db and bundles are the slow ones)
WEIGHTS = {"script_file": 25, "script_text": 20, "subtitles": 10, "llm": 15, "media": 10,
           "bundle": 10, "project": 10}


def _subtitle_lines(rng: random.Random) -> list:
    from engine.interchange.subtitles import TimedLine

    lines = []
    t = 0.0
    for _ in range(rng.randrange(0, 6)):
        text = H.script_text(rng)[: rng.randrange(0, 200)]
        start = t + rng.choice((0.0, 0.5, -1.0, 1e-9))
        end = start + rng.choice((1.0, 0.001, 30.0, 0.0, -0.5, 1e6))
        timings = []
        for _ in range(rng.randrange(0, 4)):
            timings.append({"text": text[: rng.randrange(0, 5)], "start": rng.uniform(-1, 5),
                            "end": rng.uniform(-1, 5)})
        lines.append(TimedLine(text, start, end, timings, rng.choice(("zh", "en", ""))))
        t = max(t, end)
    return lines


class Campaign:
    def __init__(self, work: Path, crash_dir: Path) -> None:
        self.work = work
        self.crash_dir = crash_dir
        self.seed_root = work / "seed"
        self.seed_root.mkdir()
        t0 = time.perf_counter()
        self.project = H.build_project(self.seed_root)
        print(f"seed project built in {time.perf_counter() - t0:.1f} s", flush=True)
        self.db = (self.project / "project.db").read_bytes()
        self.zip = (self.seed_root / "seed.zip").read_bytes()
        self.media = H.seed_media(self.seed_root)
        self.scratch = work / "scratch"
        self.scratch.mkdir()
        self.copy = work / "copy.storyreel"
        shutil.copytree(self.project, self.copy)

    def one(self, point: str, rng: random.Random) -> tuple[H.Outcome, bytes, str]:
        """Run one input; returns the outcome, the input bytes and their file suffix."""
        if point == "script_file":
            data = H.script_bytes(rng)
            suffix = rng.choice((".txt", ".fountain", ".md", ""))
            return H.run_script_file(data, self.scratch, suffix), data, suffix or ".noext"
        if point == "script_text":
            text = H.script_text(rng)
            fmt = rng.choice(("auto", "fountain", "chinese"))
            return H.run_script_text(text, fmt), text.encode("utf-8", "surrogatepass"), ".txt"
        if point == "subtitles":
            lines = _subtitle_lines(rng)
            return H.run_subtitles(lines, self.scratch), repr(lines).encode(), ".repr"
        if point == "llm":
            what, reply = H.llm_reply(rng)
            return H.run_llm(what, reply), reply.encode("utf-8", "surrogatepass"), f".{what}"
        if point == "media":
            ext = rng.choice(sorted(self.media))
            data = H.mutate(self.media[ext], rng)
            return H.run_media(data, self.scratch, ext), data, ext
        if point == "bundle":
            data = H.mutate(self.zip, rng)
            return H.run_bundle(data, self.scratch), data, ".zip"
        if point == "project":
            data = H.mutate(self.db, rng)
            command = rng.choice(H.PROJECT_COMMANDS)
            out = H.run_project(data, self.copy, self.scratch, list(command))
            return out, data, f".{command[0]}.db"
        raise ValueError(point)

    def save_crash(self, point: str, index: int, data: bytes, suffix: str) -> Path:
        self.crash_dir.mkdir(parents=True, exist_ok=True)
        path = self.crash_dir / f"{point}-{index:06d}{suffix}"
        path.write_bytes(data)
        return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--inputs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=sorted(WEIGHTS), action="append")
    ap.add_argument("--crash-dir", type=Path, default=Path("fuzz-crashes"))
    args = ap.parse_args(argv)
    points = args.only or sorted(WEIGHTS)
    weights = [WEIGHTS[p] for p in points]
    rng = random.Random(args.seed)
    tally: dict[str, Counter] = {p: Counter() for p in points}
    crashes: list[str] = []
    seconds: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="storyreel-fuzz-") as td:
        campaign = Campaign(Path(td), args.crash_dir)
        t_start = time.perf_counter()
        for i in range(args.inputs):
            point = rng.choices(points, weights)[0]
            case_rng = random.Random(rng.getrandbits(64))
            t0 = time.perf_counter()
            outcome, data, suffix = campaign.one(point, case_rng)
            seconds[point] += time.perf_counter() - t0
            tally[point][outcome.kind] += 1
            if outcome.kind == H.CRASH:
                saved = campaign.save_crash(point, i, data, suffix)
                crashes.append(f"{point} #{i}: {outcome.detail} -> {saved}")
                print(f"CRASH {crashes[-1]}", flush=True)
            if (i + 1) % 500 == 0:
                print(f"... {i + 1} inputs, {len(crashes)} crashes, "
                      f"{time.perf_counter() - t_start:.0f} s", flush=True)
    print(f"\n{'entry point':<12} {'inputs':>7} {'refused':>8} {'ok':>6} {'crashes':>8} "
          f"{'ms/input':>9}")
    total: Counter = Counter()
    for point in points:
        c = tally[point]
        n = sum(c.values())
        total.update(c)
        ms = 1000 * seconds[point] / n if n else 0.0
        print(f"{point:<12} {n:>7} {c[H.REFUSED]:>8} {c[H.OK]:>6} {c[H.CRASH]:>8} {ms:>9.1f}")
    print(f"{'total':<12} {sum(total.values()):>7} {total[H.REFUSED]:>8} {total[H.OK]:>6} "
          f"{total[H.CRASH]:>8}")
    for line in crashes[:50]:
        print(line)
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
