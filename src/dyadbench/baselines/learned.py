"""The learned baselines: a trained run (``dyadbench train``) turned into an ordinary submission.

* motion tasks: the model predicts the target's motion over the whole item in one call (it is
  fully convolutional) from the partner's motion and the target's audio, denormalised with the
  train split's statistics;
* RealTalk (Learning2Listen-style: speaker motion and audio -> listener motion): the predicted
  listener scores every bank listener by minus the mean distance (normalised EMOCA units, frames
  where both have a face) to the prediction. The appropriate goal ranks the closest first; the
  other goals (a rude listener) rank it last, as the speaker nearest-neighbour baseline does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..datasets.submission import write_motion_submission, write_retrieval_submission
from ..tasks.registry import Task
from ..training.models import Normalizer, TemporalConvNet
from ..training.trainer import load_checkpoint
from ..training.windows import ItemArrays, ItemSource


def predict(model: TemporalConvNet, norm: Normalizer, item: ItemArrays) -> np.ndarray:
    """(n, D) normalised prediction of the item's target motion."""
    with torch.no_grad():
        x = norm.inputs(torch.from_numpy(item.partner)[None], torch.from_numpy(item.partner_valid)[None],
                        torch.from_numpy(item.target_audio)[None])
        return model(x)[0].numpy().astype(np.float64)


def write_learned_baseline(task: Task, root: Path, out_dir: Path, checkpoint: Path,
                           goals: tuple[str, ...] = ("appropriate", "rude")) -> Path:
    model, norm, _ = load_checkpoint(checkpoint, task.name)
    out_dir = Path(out_dir)
    if task.protocol == "motion":
        from .motion import _unflatten

        src = ItemSource(task, root, task.split)
        for i in range(len(src)):
            item = src.load(i)
            write_motion_submission(out_dir, item.item_id, _unflatten(task, norm.motion(predict(model, norm, item))))
        return out_dir
    if task.protocol != "retrieval":
        raise ValueError(f"{task.name}: no learned baseline for the {task.protocol} protocol")
    queries, bank = ItemSource(task, root, "eval"), ItemSource(task, root, "bank")
    bank_items = [bank.load(i) for i in range(len(bank))]
    bank_z = np.stack([(b.target - norm.motion_mean) / norm.motion_std for b in bank_items])  # (B, T, D) listeners
    bank_ok = np.stack([b.target_valid for b in bank_items]).astype(np.float64)  # (B, T)
    scores = np.empty((len(queries), len(bank)))
    for qi in range(len(queries)):
        pred = predict(model, norm, queries.load(qi))  # (T, D) the predicted listener
        dist = np.linalg.norm(bank_z - pred[None, : bank_z.shape[1]], axis=2)  # (B, T)
        scores[qi] = -(dist * bank_ok).sum(1) / np.maximum(bank_ok.sum(1), 1.0)
    by_goal = {g: scores if i == 0 else -scores for i, g in enumerate(goals)}
    return write_retrieval_submission(out_dir, by_goal, queries.ids(), bank.ids())
