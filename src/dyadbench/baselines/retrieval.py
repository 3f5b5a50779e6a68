"""Retrieval baselines on RealTalk: random scores, and a speaker-frame nearest neighbour.

``speaker_nearest_neighbour`` (Learning2Listen-style): every frame of the query's speaker motion
(EMOCA expression ‖ pose, standardized) finds its nearest speaker frame among train clips; the
listener frame that co-occurred with it forms a predicted listener trajectory; bank listeners are
scored by minus the mean per-frame distance to that trajectory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from ..datasets.realtalk import RealTalk
from ..datasets.submission import write_retrieval_submission


def write_retrieval_baseline(name: str, root: Path, out_dir: Path, seed: int = 0) -> Path:
    rt = RealTalk(root)
    queries, bank, train = rt.split("eval"), rt.split("bank"), rt.split("train")
    if name == "random":
        scores = np.random.default_rng(seed).random((len(queries), len(bank)))
    elif name == "speaker_nearest_neighbour":
        scores = speaker_nn_scores(queries, bank, train)
    else:
        raise ValueError(f"unknown retrieval baseline {name!r}")
    return write_retrieval_submission(out_dir, scores, [c.id for c in queries], [c.id for c in bank])


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, 0.0)


def speaker_nn_scores(queries, bank, train) -> np.ndarray:
    if not train:
        raise ValueError("speaker_nearest_neighbour needs train clips")
    spk = np.concatenate([_finite(c.speaker_motion()) for c in train])
    lis = np.concatenate([_finite(c.listener_motion()) for c in train])
    mu, sd = spk.mean(0), spk.std(0) + 1e-6
    lmu, lsd = lis.mean(0), lis.std(0) + 1e-6
    tree = cKDTree((spk - mu) / sd)
    bank_lis = np.stack([(_finite(c.listener_motion()) - lmu) / lsd for c in bank])  # (B, T, D)
    scores = np.empty((len(queries), len(bank)))
    for qi, q in enumerate(queries):
        _, idx = tree.query((_finite(q.speaker_motion()) - mu) / sd)
        predicted = (lis[idx] - lmu) / lsd  # (T, D)
        scores[qi] = -np.linalg.norm(bank_lis - predicted[None], axis=2).mean(axis=1)
    return scores
