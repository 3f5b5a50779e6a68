"""Motion baselines: random, mirror (copy the partner), mean motion, nearest neighbour from train.

* random: i.i.d. frames from the Gaussian fitted to the train split's ground-truth frames;
* mirror: the partner's ground truth (cropped/padded to the item's length);
* mean: the train split's mean frame, repeated;
* nearest_neighbour: the train item whose *partner* is closest (mean and std of its frames) to
  this item's partner; its target motion, tiled to the item's length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets.submission import write_motion_submission
from ..runner.items import (
    align_length,
    features,
    motion_items,
    per_frame_shapes,
    valid_mask,
)
from ..tasks.registry import Task


def _unflatten(task: Task, flat: np.ndarray) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for key, shape in per_frame_shapes(task).items():
        size = int(np.prod(shape)) if shape else 1
        out[key] = flat[:, start : start + size].reshape(len(flat), *shape)
        start += size
    return out


def _descriptor(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x.mean(0), x.std(0)])


FITTED = ("random", "mean", "nearest_neighbour")  # baselines that fit the train split (mirror fits nothing)


def write_motion_baseline(task: Task, name: str, root: Path, out_dir: Path, seed: int = 0) -> Path:
    if name not in (*FITTED, "mirror"):
        raise ValueError(f"unknown motion baseline {name!r}")
    items = motion_items(task, root)
    if name in FITTED:
        train = motion_items(task, root, split="train")
        if not train:
            raise ValueError(f"{root}: no train item of {task.name} ({name} fits the train split; a features-only download "
                             f"of one split has none: download train too, use mirror, or write a submission yourself)")
        train_x = [features(it.target, task) for it in train]
        train_frames = np.concatenate([x[valid_mask(it.target, task, len(x))] for x, it in zip(train_x, train)])
        mean = train_frames.mean(0)
        cov = np.atleast_2d(np.cov(train_frames, rowvar=False))
        train_desc = np.stack([_descriptor(features(it.partner, task)) for it in train])
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    for item in items:
        n = item.target.feature(task.feature_keys[0]).shape[0]
        if name == "random":
            gen = rng.multivariate_normal(mean, cov, size=n, method="eigh")
        elif name == "mirror":
            gen = align_length(features(item.partner, task), n)
        elif name == "mean":
            gen = np.repeat(mean[None], n, axis=0)
        elif name == "nearest_neighbour":
            nearest = int(np.argmin(np.linalg.norm(train_desc - _descriptor(features(item.partner, task)), axis=1)))
            src = train_x[nearest]
            gen = np.resize(src, (n, src.shape[1])) if len(src) < n else src[:n]
        write_motion_submission(out_dir, item.id, _unflatten(task, gen))
    return out_dir
