"""One executor interface for parallel work: local processes by default, Ray for clusters.

``run_jobs(fn, jobs, engine=..., workers=...)`` calls ``fn(*job)`` for every job and yields
``(job index, result)`` as results arrive, so the caller can drive a progress bar. ``fn`` and
the jobs must be picklable (module-level functions, small arguments).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence


def default_workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


def run_jobs(fn: Callable, jobs: Sequence[tuple], *, engine: str = "local", workers: int | None = None,
             address: str | None = None) -> Iterator[tuple[int, Any]]:
    workers = workers or default_workers()
    if engine == "local":
        if workers == 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                yield i, fn(*job)
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(fn, *job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        return
    if engine == "ray":
        from .scale.ray_engine import run_ray_jobs

        yield from run_ray_jobs(fn, jobs, workers=workers, address=address)
        return
    raise ValueError(f"engine: expected 'local' or 'ray', got {engine!r}")
