"""Baselines write submissions in exactly the format a user's model would."""

from __future__ import annotations

from pathlib import Path


def run_baseline(task_name: str, baseline: str, root: Path, out_dir: Path, seed: int = 0) -> Path:
    """Write baseline ``baseline``'s submission for ``task_name`` into ``out_dir``."""
    from ..tasks.registry import get_task

    task = get_task(task_name)
    if baseline not in task.baselines:
        raise ValueError(f"baseline: {baseline!r} is not declared for {task_name}; choose from {list(task.baselines)}")
    if task.protocol == "motion":
        from .motion import write_motion_baseline

        return write_motion_baseline(task, baseline, root, out_dir, seed)
    if task.protocol == "video":
        from .video import write_video_baseline

        return write_video_baseline(task, baseline, root, out_dir)
    from .retrieval import write_retrieval_baseline

    return write_retrieval_baseline(baseline, root, out_dir, seed, tuple(task.options.get("goals", {"appropriate": "high"})))
