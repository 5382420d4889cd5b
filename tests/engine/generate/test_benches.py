from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(*argv: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)


def test_gpu_profile_skips_cleanly_without_cuda() -> None:
    proc = _run("bench/gpu_profile.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("skipped:")


@pytest.mark.slow
def test_engine_overhead_bench_prints_a_ratio() -> None:
    pytest.importorskip("diffusers")
    proc = _run("bench/engine_overhead.py", "--repeats", "1", "--frames", "9", "--steps", "2")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "ratio queue / bare" in x)
    ratio = float(line.split(":")[1].split()[0])
    assert 0.5 < ratio < 5.0
