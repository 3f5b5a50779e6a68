"""Evaluation at (towards) release size: wall time, peak RSS and frames/s of a random submission.

Run: .venv/bin/python benchmarks/bench_evaluate.py --frames 500000 [--task seamless/facial-motion] [--workdir DIR]

Writes a features-only test split (`dyadbench sample seamless --layout files --no-video --split test`)
of about ``--frames`` target frames, a random submission (Gaussian frames with the ground truth's
per-dimension mean and std; no train split needed), then runs `dyadbench evaluate` in a child
process and reports its wall time and peak RSS (`resource.getrusage(RUSAGE_CHILDREN)`).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=500_000)
    ap.add_argument("--seconds", type=float, default=300.0, help="length of each recording")
    ap.add_argument("--task", default="seamless/facial-motion")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/dyadbench-bench-evaluate"))
    ap.add_argument("--bootstrap", type=int, default=200)
    args = ap.parse_args()

    from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
    from dyadbench.datasets.submission import write_motion_submission
    from dyadbench.tasks.items import features, motion_items, per_frame_shapes
    from dyadbench.tasks.registry import get_task

    task = get_task(args.task)
    per_item = int(args.seconds * 30)
    # test split items: 2 labels x dyads x 2 participants, a third of the interactions without movement keys
    dyads = max(1, int(np.ceil(args.frames / per_item / 4 / (2 / 3 if "facial" in args.task else 1))))
    root = args.workdir / f"S-{args.frames}"
    t0 = time.perf_counter()
    if not (root / "assets").exists():
        write_seamless_sample(root, dyads=dyads, seconds=args.seconds, seed=0, layout="files", video=False, splits=("test",))
    t_sample = time.perf_counter() - t0
    items = motion_items(task, root)
    sub = args.workdir / f"random-{args.frames}-{task.name.replace('/', '_')}"
    rng = np.random.default_rng(0)
    frames = 0
    for it in items:
        x = features(it.target, task)
        frames += len(x)
        gen = rng.normal(x.mean(0), x.std(0) + 1e-6, x.shape)
        out, start = {}, 0
        for key, shape in per_frame_shapes(task).items():
            size = int(np.prod(shape)) if shape else 1
            out[key] = gen[:, start:start + size].reshape(len(gen), *shape)
            start += size
        write_motion_submission(sub, it.id, out)
    t0 = time.perf_counter()
    res = subprocess.run([str(Path(sys.executable).parent / "dyadbench"), "evaluate", task.name, "--data", str(root),
                          "--submission", str(sub), "--out", str(args.workdir / "report"), "--bootstrap", str(args.bootstrap)],
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        print(res.stdout[-2000:], res.stderr[-2000:])
        raise SystemExit(res.returncode)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"| {task.name} | {len(items)} items | {frames:,} frames | sample {t_sample:.0f} s | evaluate {wall:.0f} s | "
          f"{frames / wall:,.0f} frames/s | peak RSS {peak_gb:.2f} GB |")


if __name__ == "__main__":
    main()
