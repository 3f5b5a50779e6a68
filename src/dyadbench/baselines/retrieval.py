"""Retrieval baselines on RealTalk, each writing one score matrix per goal (appropriate, rude):
random scores (goal-blind), a speaker-frame nearest neighbour, and an affect-mirroring baseline.

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


def write_retrieval_baseline(name: str, root: Path, out_dir: Path, seed: int = 0,
                             goals: tuple[str, ...] = ("appropriate", "rude")) -> Path:
    """Scores for every goal (``scores_<goal>``); ``goals[0]`` is the appropriate (reference) goal."""
    rt = RealTalk(root)
    queries, bank, train = rt.split("eval"), rt.split("bank"), rt.split("train")
    rng = np.random.default_rng(seed)
    if name == "random":  # goal-blind: an independent draw per goal
        scores = {g: rng.random((len(queries), len(bank))) for g in goals}
    elif name == "speaker_nearest_neighbour":  # the predicted listener first for "appropriate", last for the others
        fit = speaker_nn_scores(queries, bank, train)
        scores = {g: fit if i == 0 else -fit for i, g in enumerate(goals)}
    elif name == "affect":
        scores = {g: affect_scores(queries, bank, train, mirror=(i == 0)) for i, g in enumerate(goals)}
    else:
        raise ValueError(f"unknown retrieval baseline {name!r}")
    return write_retrieval_submission(out_dir, scores, [c.id for c in queries], [c.id for c in bank])


def _affect(motion: np.ndarray) -> np.ndarray:
    """A clip's mean EMOCA expression (frames without a face left out)."""
    m = motion[:, :50]
    ok = np.isfinite(m).all(axis=1)
    return m[ok].mean(0) if ok.any() else np.zeros(50)


def affect_scores(queries, bank, train, *, mirror: bool) -> np.ndarray:
    """Goal → target listener affect, scored against each bank listener's mean EMOCA expression.

    ``mirror`` (an appropriate listener): the target is the speaker's own standardized mean
    expression — listeners tend to mirror the speaker's affect. Otherwise (a rude listener): the
    opposite affect, the speaker's expression reflected through the train listeners' mean. Bank
    listeners score minus their distance to the target (standardized by train listener statistics).
    """
    if not train:
        raise ValueError("affect needs train clips (listener expression statistics)")
    lis = np.stack([_affect(c.listener_motion()) for c in train])
    spk = np.stack([_affect(c.speaker_motion()) for c in train])
    lmu, lsd, smu, ssd = lis.mean(0), lis.std(0) + 1e-6, spk.mean(0), spk.std(0) + 1e-6
    bank_z = np.stack([(_affect(c.listener_motion()) - lmu) / lsd for c in bank])
    target = np.stack([(_affect(q.speaker_motion()) - smu) / ssd for q in queries])
    if not mirror:
        target = -target
    return -np.linalg.norm(bank_z[None] - target[:, None], axis=2)


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
