"""Baselines write submissions in exactly the format a user's model would."""

from __future__ import annotations

from pathlib import Path

LEARNED = "learned"


CLIP_TEXT = "clip_text"


def baseline_names(task) -> list[str]:
    """Every baseline ``run_baseline`` takes for ``task``: its declared ones, ``learned`` (with a
    checkpoint) and, for retrieval, ``clip_text`` (with CLIP weights)."""
    return [*task.baselines, LEARNED] + ([CLIP_TEXT] if task.protocol == "retrieval" else [])


def run_baseline(task_name: str, baseline: str, root: Path, out_dir: Path, seed: int = 0, checkpoint: Path | None = None,
                 clip: Path | None = None) -> Path:
    """Write baseline ``baseline``'s submission for ``task_name`` into ``out_dir``.

    ``learned`` needs ``checkpoint``: a run folder of ``dyadbench train`` (or its ``best.pt``);
    ``clip_text`` (retrieval) needs CLIP weights: ``clip``, a Hugging Face CLIP folder, or one in
    ``$DYADBENCH_WEIGHTS/clip``.
    """
    from ..tasks.registry import get_task

    task = get_task(task_name)
    goals = tuple(task.options.get("goals", {"appropriate": "high"}))
    if baseline == LEARNED:
        if checkpoint is None:
            raise ValueError(f"baseline learned: give --checkpoint RUN (train one with `dyadbench train {task_name} --data ROOT --out RUN`)")
        from .learned import write_learned_baseline

        return write_learned_baseline(task, root, out_dir, checkpoint, goals)
    if baseline == CLIP_TEXT and task.protocol == "retrieval":
        from .text_retrieval import write_clip_text_baseline

        return write_clip_text_baseline(root, out_dir, clip, goals)
    if baseline not in task.baselines:
        raise ValueError(f"baseline: {baseline!r} is not declared for {task_name}; choose from {baseline_names(task)}")
    if task.protocol == "motion":
        from .motion import write_motion_baseline

        return write_motion_baseline(task, baseline, root, out_dir, seed)
    if task.protocol == "video":
        from .video import write_video_baseline

        return write_video_baseline(task, baseline, root, out_dir)
    from .retrieval import write_retrieval_baseline

    return write_retrieval_baseline(baseline, root, out_dir, seed, goals)
