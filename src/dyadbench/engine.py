"""One executor interface for parallel work: local processes by default, Ray for clusters.

``run_actors(worker_cls, kwargs, jobs, ...)`` builds ``worker_cls(**kwargs)`` once per worker
(an *actor*: models are loaded once, not once per job) and calls ``worker(job)`` for every job.
It yields ``(job index, result)`` as results arrive, so the caller can drive a progress bar;
results come in completion order, and callers that need determinism combine them by index.
Classes, kwargs and jobs must be picklable (module-level, small arguments).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

ENGINES = ("local", "ray")


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, 8))


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")


_ACTOR = None  # the per-process worker instance of a local pool


def _init_actor(worker_cls, kwargs) -> None:
    global _ACTOR
    _ACTOR = worker_cls(**kwargs)


def _call_actor(job):
    return _ACTOR(job)


def run_actors(worker_cls: type, kwargs: dict, jobs: Sequence, *, engine: str = "local", workers: int | None = None,
               address: str | None = None, gpus_per_worker: float = 0.0) -> Iterator[tuple[int, Any]]:
    _check_engine(engine)
    if engine == "ray":
        from .scale.ray_engine import run_ray_actors

        yield from run_ray_actors(worker_cls, kwargs, jobs, workers=workers, address=address,
                                  gpus_per_worker=gpus_per_worker)
        return
    workers = workers or default_workers()
    if workers == 1 or len(jobs) <= 1:
        if not jobs:
            return
        actor = worker_cls(**kwargs)
        for i, job in enumerate(jobs):
            yield i, actor(job)
        return
    # forkserver, not fork: forking a process that already runs threads (torch, gRPC of a Ray
    # driver, MediaPipe) can deadlock or crash the child.
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), initializer=_init_actor, initargs=(worker_cls, kwargs),
                             mp_context=multiprocessing.get_context("forkserver")) as pool:
        # A bounded window of jobs in flight: results are handed on and dropped as they arrive, so
        # memory does not grow with the number of jobs (a future keeps its result while referenced).
        pending, todo = {}, iter(enumerate(jobs))
        for i, job in itertools.islice(todo, 2 * workers):
            pending[pool.submit(_call_actor, job)] = i
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                result = fut.result()
                for j, job in itertools.islice(todo, 1):
                    pending[pool.submit(_call_actor, job)] = j
                yield i, result
