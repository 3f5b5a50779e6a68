"""One executor interface for parallel work: local processes by default, Ray for clusters.

An ``ActorPool(worker_cls, kwargs, ...)`` builds ``worker_cls(**kwargs)`` once per worker (an
*actor*: models are loaded once, not once per job) and returns only when every actor is built, so
start-up is paid, and measured, apart from the work; ``pool.run(jobs)`` calls ``worker(job)`` for
every job and may be called any number of times on the same actors. ``run_actors(...)`` is a pool
for one run. Results are yielded as ``(job index, result)`` in completion order, so the caller
can drive a progress bar; callers that need determinism combine them by index. Classes, kwargs
and jobs must be picklable (module-level, small arguments).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

ENGINES = ("local", "ray")
_START_TIMEOUT_S = 900  # every worker must have built its actor by then (model loads take seconds)


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, 8))


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")


_ACTOR = None  # the per-process worker instance of a local pool
_ACTOR_ERROR: BaseException | None = None
_BARRIER = None


def _init_actor(worker_cls, kwargs, barrier) -> None:
    global _ACTOR, _ACTOR_ERROR, _BARRIER
    _BARRIER = barrier
    try:
        _ACTOR = worker_cls(**kwargs)
    except BaseException as exc:  # re-raised by _rendezvous: the caller sees this error, not a broken pool
        _ACTOR_ERROR = exc


def _rendezvous() -> int:
    """Run once per worker at start: an N-party barrier makes the N start-up tasks land on N
    distinct processes, so when all have returned every actor is built."""
    if _ACTOR_ERROR is not None:
        _BARRIER.abort()
        raise _ACTOR_ERROR
    _BARRIER.wait(timeout=_START_TIMEOUT_S)
    return os.getpid()


def _call_actor(job):
    return _ACTOR(job)


class _InProcess:
    """One worker: the actor lives in this process (no pickling, no start-up of a process)."""

    def __init__(self, worker_cls: type, kwargs: dict):
        self.actor = worker_cls(**kwargs)

    def run(self, jobs: Sequence) -> Iterator[tuple[int, Any]]:
        for i, job in enumerate(jobs):
            yield i, self.actor(job)

    def close(self) -> None:
        self.actor = None


def prestart_local(worker_module: str) -> None:
    """Start the local engine's process server now, in the background, with ``worker_module``
    imported in it: a pool built later forks workers that have its imports already (~1.5 s less
    for a pool of motion workers), and the server's own start overlaps whatever this process
    does meanwhile (listing the split). A server already running is kept as it is. Cost when no
    pool follows: one idle process that imported the module."""
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["__main__", worker_module])  # "__main__": multiprocessing's own default
    forkserver.ensure_running()  # returns once the server process is spawned; its imports run on


class _LocalProcesses:
    def __init__(self, worker_cls: type, kwargs: dict, workers: int):
        # forkserver, not fork: forking a process that already runs threads (torch, gRPC of a Ray
        # driver, MediaPipe) can deadlock or crash the child.
        ctx = multiprocessing.get_context("forkserver")
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_actor,
                                        initargs=(worker_cls, kwargs, ctx.Barrier(workers)), mp_context=ctx)
        try:
            starts = [self.pool.submit(_rendezvous) for _ in range(workers)]
            errors = [f.exception() for f in starts]
            # The worker's own error first; the others only saw the barrier broken.
            for exc in sorted((e for e in errors if e is not None), key=lambda e: isinstance(e, threading.BrokenBarrierError)):
                raise exc
        except BaseException:
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise

    def run(self, jobs: Sequence) -> Iterator[tuple[int, Any]]:
        # A bounded window of jobs in flight: results are handed on and dropped as they arrive, so
        # memory does not grow with the number of jobs (a future keeps its result while referenced).
        pending, todo = {}, iter(enumerate(jobs))
        for i, job in itertools.islice(todo, 2 * self.workers):
            pending[self.pool.submit(_call_actor, job)] = i
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                result = fut.result()
                for j, job in itertools.islice(todo, 1):
                    pending[self.pool.submit(_call_actor, job)] = j
                yield i, result

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class ActorPool:
    """``workers`` actors of ``worker_cls(**kwargs)`` on ``engine``, built before the constructor
    returns and kept until ``close()`` (or the end of a ``with`` block).

    ``workers=1`` on the local engine keeps the actor in this process. On Ray, ``workers=None``
    takes the cluster's CPUs (or GPUs, with ``gpus_per_worker``)."""

    def __init__(self, worker_cls: type, kwargs: dict, *, engine: str = "local", workers: int | None = None,
                 address: str | None = None, gpus_per_worker: float = 0.0):
        _check_engine(engine)
        self.worker_cls, self.kwargs, self.engine = worker_cls, dict(kwargs), engine
        if engine == "ray":
            from .scale.ray_engine import RayActors

            self._impl = RayActors(worker_cls, kwargs, workers=workers, address=address, gpus_per_worker=gpus_per_worker)
            self.workers = len(self._impl.actors)
        else:
            self.workers = workers or default_workers()
            self._impl = _InProcess(worker_cls, kwargs) if self.workers == 1 else _LocalProcesses(worker_cls, kwargs, self.workers)

    def run(self, jobs: Sequence) -> Iterator[tuple[int, Any]]:
        if self._impl is None:
            raise RuntimeError("ActorPool: run() after close()")
        return self._impl.run(jobs)

    def close(self) -> None:
        if self._impl is not None:
            self._impl.close()
            self._impl = None

    def __enter__(self) -> ActorPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_actors(worker_cls: type, kwargs: dict, jobs: Sequence, *, engine: str = "local", workers: int | None = None,
               address: str | None = None, gpus_per_worker: float = 0.0) -> Iterator[tuple[int, Any]]:
    """A pool for one run: no more workers than jobs, none at all for no jobs."""
    _check_engine(engine)
    if not jobs:
        return
    with actor_pool(worker_cls, kwargs, len(jobs), engine=engine, workers=workers, address=address,
                    gpus_per_worker=gpus_per_worker) as pool:
        yield from pool.run(jobs)


def actor_pool(worker_cls: type, kwargs: dict, n_jobs: int, *, engine: str = "local", workers: int | None = None,
               address: str | None = None, gpus_per_worker: float = 0.0) -> ActorPool:
    """An ``ActorPool`` sized for ``n_jobs`` jobs (no more workers than jobs; on Ray with
    ``workers=None``, the cluster's): for several runs of jobs on the same actors."""
    _check_engine(engine)
    if engine == "ray" and workers is None:
        from .scale.ray_engine import cluster_workers

        workers = cluster_workers(address, gpus_per_worker)
    return ActorPool(worker_cls, kwargs, engine=engine, workers=min(workers or default_workers(), max(1, n_jobs)),
                     address=address, gpus_per_worker=gpus_per_worker)
