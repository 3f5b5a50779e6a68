"""The Ray engine: Ray Data streams the jobs (shards, or any picklable work items) through a pool
of actors, each built once per worker, on a local Ray instance or an existing cluster.

Fault tolerance comes from Ray Data's actor pool: its actors are created with
``max_restarts=-1`` and ``max_task_retries=-1``, so when a worker process dies (killed, OOM,
node lost) the actor is restarted and the job it was running is run again. A job must therefore
be idempotent; shard extraction is (atomic cache writes, a completion record written last), so
a retried shard is neither lost nor counted twice.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


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
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False  # the CLI draws its own Rich progress bar
        ctx.print_on_execution_start = False
    return ray


class _RayActor:
    """Ray Data callable class: unpickles one job per row, returns the pickled result."""

    def __init__(self, worker_cls: type, kwargs: dict):
        self.worker = worker_cls(**kwargs)

    def __call__(self, batch: dict) -> dict:
        results = [pickle.dumps(self.worker(pickle.loads(job)), protocol=5) for job in batch["job"]]
        return {"index": np.asarray(batch["index"]), "result": np.asarray(results, dtype=object)}


def run_ray_actors(worker_cls: type, kwargs: dict, jobs: Sequence, *, workers: int | None = None,
                   address: str | None = None, gpus_per_worker: float = 0.0) -> Iterator[tuple[int, Any]]:
    if not jobs:
        return
    ray = connect(address, workers)
    import ray.data

    if workers is None:
        resources = ray.cluster_resources()
        key = "GPU" if gpus_per_worker else "CPU"
        workers = max(1, int(resources.get(key, 1) / (gpus_per_worker or 1)))
    items = [{"index": i, "job": pickle.dumps(job, protocol=5)} for i, job in enumerate(jobs)]
    # One block per job, so jobs spread over the actors instead of queueing behind one.
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    out = ds.map_batches(_RayActor, fn_constructor_kwargs={"worker_cls": worker_cls, "kwargs": kwargs},
                         batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(workers, len(jobs))), num_cpus=1, num_gpus=gpus_per_worker,
                         batch_format="numpy")
    for row in out.iter_rows():
        yield int(row["index"]), pickle.loads(row["result"])
