"""The Ray engine: a pool of Ray actors, each built once per worker, on a local Ray instance or an
existing cluster; jobs (shards, or any picklable work items) are dealt one at a time to whichever
actor is free.

Fault tolerance comes from Ray's actor restarts: actors are created with ``max_restarts=-1`` and
``max_task_retries=-1``, so when a worker process dies (killed, OOM, node lost) the actor is
restarted and the job it was running is run again. A job must therefore be idempotent; shard
extraction is (atomic cache writes, a completion record written last), so a retried shard is
neither lost nor counted twice.

Ray core actors rather than Ray Data: the actors outlive one run (``engine.ActorPool``), and a
job costs one actor call (about a millisecond; ``benchmarks/bench_scale.py`` measures it) instead
of a dataset execution's planning and actor-pool start per run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any


def connect(address: str | None = None, workers: int | None = None):
    """``ray.init`` once: a local instance with ``workers`` CPUs, or the cluster at ``address``
    (``"auto"`` finds one started with ``ray start --head``; ``$RAY_ADDRESS`` also works)."""
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("engine 'ray' needs Ray: pip install 'dyadbench[scale]'") from exc
    if not ray.is_initialized():
        # Workers import dyadbench from the same environment; on a cluster it must be
        # installed on every node (see README, "Scaling out on Ray").
        ray.init(address=address, num_cpus=workers if address is None else None, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=False)
    return ray


def cluster_workers(address: str | None, gpus_per_worker: float = 0.0) -> int:
    """How many actors the cluster holds: its CPUs, or its GPUs / ``gpus_per_worker``."""
    resources = connect(address).cluster_resources()
    key = "GPU" if gpus_per_worker else "CPU"
    return max(1, int(resources.get(key, 1) / (gpus_per_worker or 1)))


class _Actor:
    def __init__(self, worker_cls: type, kwargs: dict):
        # A failing constructor would surface as Ray's ActorDiedError (and be restarted forever);
        # kept and raised by ready() instead, the caller sees the worker's own error.
        self.worker, self.error = None, None
        try:
            self.worker = worker_cls(**kwargs)
        except Exception as exc:
            self.error = exc

    def ready(self) -> bool:
        if self.error is not None:
            raise self.error
        return True

    def call(self, job):
        return self.worker(job)


class RayActors:
    """``workers`` Ray actors, built (models loaded) before the constructor returns."""

    def __init__(self, worker_cls: type, kwargs: dict, *, workers: int | None = None, address: str | None = None,
                 gpus_per_worker: float = 0.0):
        ray = connect(address, workers)
        self.ray = ray
        available = cluster_workers(address, gpus_per_worker)
        if workers and workers > available:
            # More actors than the cluster can place would wait for resources forever.
            raise ValueError(f"workers: {workers} actors asked for, but the Ray cluster holds {available} "
                             f"({'GPUs' if gpus_per_worker else 'CPUs'} / {gpus_per_worker or 1} per worker)")
        workers = workers or available
        remote = ray.remote(_Actor).options(num_cpus=1, num_gpus=gpus_per_worker, max_restarts=-1, max_task_retries=-1)
        self.actors = [remote.remote(worker_cls, kwargs) for _ in range(workers)]
        try:
            ray.get([a.ready.remote() for a in self.actors])
        except BaseException:
            self.close()
            raise

    def run(self, jobs: Sequence) -> Iterator[tuple[int, Any]]:
        # One job in flight per actor: the next goes to whichever actor finishes first, so no job
        # waits behind a long one while another actor idles (the round trip is ~1 ms a job).
        pending, todo = {}, iter(enumerate(jobs))
        for actor, (i, job) in zip(self.actors, todo):
            pending[actor.call.remote(job)] = (i, actor)
        while pending:
            (ref,), _ = self.ray.wait(list(pending), num_returns=1)
            i, actor = pending.pop(ref)
            result = self.ray.get(ref)
            following = next(todo, None)
            if following is not None:
                pending[actor.call.remote(following[1])] = (following[0], actor)
            yield i, result

    def close(self) -> None:
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
