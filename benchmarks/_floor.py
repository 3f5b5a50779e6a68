"""The least work any evaluation of a motion task must do, on the same items and workers: read
every feature array the task reads (target and partner) and accumulate the Gaussian sufficient
statistics the Fréchet metrics need (target, partner ⊕ target, velocities).

Run as ``PYTHONPATH=benchmarks python -m _floor ROOT TASK WORKERS`` (workers import this module
by name); prints ``floor_s frames``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


class FloorWorker:
    def __init__(self, task: str, root: str):
        from threadpoolctl import threadpool_limits

        from dyadbench.runner.items import motion_items
        from dyadbench.tasks.registry import get_task

        self._limits = threadpool_limits(limits=1)  # as evaluate's workers
        self.task = get_task(task)
        self.items = {it.id: it for it in motion_items(self.task, Path(root))}

    def __call__(self, job):
        from dyadbench.metrics.streaming import gaussian_sums
        from dyadbench.runner.items import align_length, features, valid_mask

        out = []
        for item_id in job:
            it = self.items[item_id]
            x = features(it.target, self.task)
            v = valid_mask(it.target, self.task, len(x))
            p = align_length(features(it.partner, self.task), len(x))
            out.append((len(x), gaussian_sums(x[v], 0), gaussian_sums(np.hstack([p, x])[v], 0), gaussian_sums(np.diff(x, axis=0), 0)))
            it.target.release()
            it.partner.release()
        return out


def floor(root: Path, task: str, workers: int) -> tuple[float, int]:
    from dyadbench.engine import run_actors
    from dyadbench.runner.items import motion_items
    from dyadbench.tasks.registry import get_task

    t0 = time.perf_counter()
    ids = sorted(it.id for it in motion_items(get_task(task), root))
    jobs = [ids[i:i + 4] for i in range(0, len(ids), 4)]
    frames, total = 0, None
    for _, batch in run_actors(FloorWorker, {"task": task, "root": str(root)}, jobs, engine="local", workers=workers):
        for n, *sums in batch:
            frames += n
            total = sums if total is None else [a + b for a, b in zip(total, sums)]
    return time.perf_counter() - t0, frames


if __name__ == "__main__":
    seconds, frames = floor(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
    print(f"{seconds:.3f} {frames}")
