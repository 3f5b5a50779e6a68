"""Video baselines: mirror (the partner's video) and ground truth (an upper bound / sanity check)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..runner.items import motion_items
from ..tasks.registry import Task


def write_video_baseline(task: Task, name: str, root: Path, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in motion_items(task, root):
        source = {"mirror": item.partner, "ground_truth": item.target}.get(name)
        if source is None:
            raise ValueError(f"unknown video baseline {name!r}")
        path = source.store.path(source.member("mp4"))
        target = out_dir / f"{item.id}.mp4"
        if path is not None:
            shutil.copyfile(path, target)
        else:
            target.write_bytes(source.read_bytes("mp4"))
    return out_dir
