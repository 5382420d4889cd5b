"""Overhead of Storyreel's job path over a bare diffusers call (target: ratio ≤ 1.10).

Builds the tiny random Wan VACE pipeline the tests use, registers it with the model
registry, and times, with the same inputs and seeds:

- baseline: ``pipe(...)`` on a pipeline loaded once with ``from_pretrained``;
- Storyreel: enqueue one job → worker claims it → build request, cache key, run the
  pipeline → encode H.264 → media store → thumbnail → take row → job row DONE
  (the model kept warm across jobs, so the first load is excluded, as in the target).

Run: ``.venv/bin/python bench/engine_overhead.py [--size 96x96 --frames 33 --steps 8]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="96x96")
    parser.add_argument("--frames", type=int, default=33)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 keeps timings stable on a busy machine)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    try:
        import torch
        from diffusers import DiffusionPipeline
    except ImportError:
        print("skipped: torch/diffusers are not installed (pip install 'storyreel[gpu]').")
        return 0
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="storyreel-bench-") as tmp:
        tmp_path = Path(tmp)
        os.environ["STORYREEL_HOME"] = str(tmp_path / "home")
        from engine.generate.registry import add_model
        from engine.generate.service import BackendPool
        from engine.jobs.queue import JobQueue
        from engine.jobs.worker import run_worker
        from engine.model import Character, Project, Scene, Shot
        from engine.model import entities as E
        from engine.store import ProjectStore
        from tests.engine.generate.tiny_models import build_wan_vace
        from tests.media_factory import make_image

        model_dir = build_wan_vace(tmp_path / "tiny-vace")
        add_model(model_dir, name="tiny-vace")
        store = ProjectStore.create(tmp_path / "bench.storyreel", Project(title="bench"))
        ref = store.media.import_file(make_image(tmp_path / "ref.png", (64, 96)))
        char = store.add(Character(name="A", reference_images=[ref.sha256]))
        scene = store.add(Scene(number=1))
        shot = store.add(Shot(scene_id=scene.id, prompt="a girl walks in the rain",
                              characters=[char.id], duration=2.0))

        # -------------------------------------------------------------- baseline
        from PIL import Image

        pipe = DiffusionPipeline.from_pretrained(str(model_dir), dtype=torch.float32,
                                                 local_files_only=True)
        pipe.set_progress_bar_config(disable=True)
        ref_img = Image.open(store.media_path(ref.sha256)).convert("RGB")

        def bare(seed: int) -> float:
            start = time.perf_counter()
            with torch.inference_mode():
                pipe(prompt=shot.prompt, reference_images=[ref_img], height=height,
                     width=width, num_frames=args.frames, num_inference_steps=args.steps,
                     guidance_scale=5.0, generator=torch.Generator().manual_seed(seed),
                     output_type="np")
            return time.perf_counter() - start

        bare(1000)  # warm-up (first-call allocations)

        # -------------------------------------------------------------- through the queue
        queue = JobQueue(store)
        pool = BackendPool()
        overrides = {"width": width, "height": height, "frames": args.frames,
                     "steps": args.steps}

        def queued(seeds: list[int]) -> float:
            """Seconds per job for a batch run by one worker (as the real worker loop)."""
            queue.enqueue_generation([shot.id], backend="tiny-vace",
                                     device="cpu", overrides={**overrides, "seed": seeds[0]})
            for seed in seeds[1:]:
                queue.enqueue_generation([shot.id], backend="tiny-vace", device="cpu",
                                         overrides={**overrides, "seed": seed})
            start = time.perf_counter()
            run_worker(store.root, once=True, pool=pool)
            elapsed = time.perf_counter() - start
            failed = [j for j in queue.jobs() if j.status != "done"]
            assert not failed, failed[0].error
            return elapsed / len(seeds)

        queued([1000])  # loads the model once (excluded, as in the target)
        bare_times, queue_times = [], []
        for i in range(args.repeats):  # interleaved so machine load affects both alike
            bare_times.append(sum(bare(10 * i + k) for k in range(3)) / 3)
            queue_times.append(queued([10 * i + k for k in range(3)]))
        takes = store.all(E.Take)
        store.close()

    b, q = statistics.median(bare_times), statistics.median(queue_times)
    print(f"tiny Wan VACE, {width}x{height}, {args.frames} frames, {args.steps} steps, "
          f"CPU ({args.threads} thread(s)), {args.repeats} rounds of 3 jobs / 3 calls "
          "(medians per job)")
    print(f"  bare pipeline call      : {b:8.3f} s")
    print(f"  job through queue+worker: {q:8.3f} s  ({len(takes)} takes stored)")
    print(f"  overhead                : {q - b:8.3f} s")
    print(f"  ratio queue / bare      : {q / b:8.3f}   (target ≤ 1.10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
