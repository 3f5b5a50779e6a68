"""``dyadbench data manifest``: the canonical list of what a task scores (``datasets.manifest``).

Motion tasks read every item's arrays through the same worker ``evaluate`` uses for the ground
truth, so the manifest written here and the hash in an evaluation's report.json are one
computation. The video task lists its items' ids, frame counts and video sizes (hashing
terabytes of video would cost more than the evaluation); RealTalk lists the retrieval bank's
clips and their roles.
"""

from __future__ import annotations

from pathlib import Path

from ..datasets.manifest import manifest_doc
from ..tasks.registry import get_task


CLIPS = "clips of the retrieval bank (ids, roles, splits)"
VIDEOS = "video ids, frame counts and sizes"


def clip_records(clips) -> list[dict]:
    return [{"id": c.id, "video": c.video_id, "start": c.start, "frames": c.n_frames, "speaker": c.speaker, "split": c.split}
            for c in clips]


def video_records(items, tick=None) -> list[dict]:
    records = []
    for i, it in enumerate(items):
        records.append({"id": it.id, "frames": it.target.video_info.frames, "bytes": int(it.target.store.size(it.target.member("mp4")))})
        if tick:
            tick(i + 1, len(items))
    return records


def task_manifest(task_name: str, root: Path, *, engine: str = "local", workers: int | None = None,
                  address: str | None = None, progress=None) -> dict:
    task = get_task(task_name)
    root = Path(root)
    tick = progress or (lambda done, total: None)
    if task.dataset == "realtalk":
        from ..datasets.realtalk import RealTalk

        return manifest_doc(task.name, task.split, clip_records(RealTalk(root).clips()), content=CLIPS)
    from .protocols import _items

    excluded_ids: set = set()
    items, excluded, _ = _items(task, root, excluded_ids)
    if task.protocol == "video":
        return manifest_doc(task.name, task.split, video_records(items, tick), excluded, content=VIDEOS)
    from ..engine import default_workers, run_actors
    from .motion_stream import ITEMS_PER_WORKER, MotionWorker, _jobs

    ids = sorted(it.id for it in items)
    if workers is None and engine == "local":
        workers = max(1, min(default_workers(), len(ids) // ITEMS_PER_WORKER))
    kwargs = {"task": task.name, "root": str(root), "seed": 0, "threads": 1}
    records = []
    for _, batch in run_actors(MotionWorker, kwargs, _jobs("gt", ids, workers or 2), engine=engine, workers=workers, address=address):
        records += [r["record"] for r in batch]
        tick(len(records), len(ids))
    return manifest_doc(task.name, task.split, records, excluded)
