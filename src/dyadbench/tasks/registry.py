"""Benchmark tasks are declarations: dataset split, submission format, features, metrics, baselines.

The runner knows three protocols — ``motion`` (per-item arrays), ``video`` (per-item mp4, features
extracted by us) and ``retrieval`` (a score matrix) — so a new task over another feature space,
split or metric list is one ``register(Task(...))`` call and needs no runner code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Task:
    name: str
    dataset: str  # "seamless" | "realtalk"
    protocol: str  # "motion" | "video" | "retrieval"
    split: str
    description: str
    # motion: released npz keys concatenated (per frame, flattened) into the task's feature space
    feature_keys: tuple[str, ...] = ()
    valid_key: str | None = None  # released per-frame validity mask respected in metrics
    metrics: tuple[str, ...] = ()
    baselines: tuple[str, ...] = ()
    fps: float = 30.0
    si_clusters: int = 40
    options: dict = field(default_factory=dict)

    def declaration(self) -> dict:
        return asdict(self)


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add a task; refuses an unknown protocol, an unregistered metric name or a name already taken."""
    from ..metrics.registry import get_metric

    if task.protocol not in ("motion", "video", "retrieval"):
        raise ValueError(f"task {task.name}: unknown protocol {task.protocol!r}")
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is already registered")
    if not task.metrics:
        raise ValueError(f"task {task.name}: declares no metrics")
    for name in task.metrics:
        try:
            get_metric(name)
        except KeyError as exc:
            raise ValueError(f"task {task.name}: {exc.args[0]}") from None
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    _load_builtin()
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; available: {sorted(TASKS)}")
    return TASKS[name]


def list_tasks() -> list[Task]:
    _load_builtin()
    return [TASKS[k] for k in sorted(TASKS)]


def _load_builtin() -> None:
    from . import builtin  # noqa: F401 - registers the built-in tasks
