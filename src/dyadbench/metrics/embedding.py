r"""Perceptual distance between predicted and true listeners in a face-embedding space.

RealTalk (Geng et al. 2023) reports the L2 distance between embeddings of predicted and
ground-truth listener frames in the spaces of face models (VGG-Face, FaceNet, FaceNet-512,
DeepFace). For per-frame embeddings P_t, G_t ∈ ℝ^D of one clip:

.. math::  d_t = \lVert P_t - G_t \rVert_2, \qquad d_{clip} = \frac{1}{|V|}\sum_{t \in V} d_t

with V the frames where both embeddings exist (a face was found); the benchmark value is the
mean over clips. Frames with no face are passed as NaN rows and excluded, and counted.
"""

from __future__ import annotations

import numpy as np

from ._validation import same_shape

__all__ = ["perceptual_l2_item", "perceptual_l2_per_clip", "perceptual_l2_per_frame"]


def _embeddings(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name}: expected (frames, dim) embeddings, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError(f"{name}: contains inf values")
    partial = np.isnan(arr).any(axis=1) & ~np.isnan(arr).all(axis=1)
    if partial.any():
        raise ValueError(f"{name}: rows {np.flatnonzero(partial)[:5].tolist()} are partly NaN; a missing face is an all-NaN row")
    return arr


def perceptual_l2_per_frame(predicted, reference) -> np.ndarray:
    """Per-frame L2 distance; NaN where either frame has no embedding (all-NaN row)."""
    p = _embeddings(predicted, "predicted")
    g = _embeddings(reference, "reference")
    same_shape(p, g, "predicted", "reference")
    return np.linalg.norm(p - g, axis=1)


def perceptual_l2_per_clip(predicted, reference, *, min_valid_frames: int = 1) -> dict:
    """Mean per-frame distance over frames where both embeddings exist.

    Returns ``{"value", "valid_frames", "total_frames"}``; ``value`` is NaN (and flagged by
    ``valid_frames``) when fewer than ``min_valid_frames`` frames are valid.
    """
    d = perceptual_l2_per_frame(predicted, reference)
    valid = ~np.isnan(d)
    n_valid = int(valid.sum())
    value = float(d[valid].mean()) if n_valid >= max(1, min_valid_frames) else float("nan")
    return {"value": value, "valid_frames": n_valid, "total_frames": int(d.size)}




def perceptual_l2_item(predicted, reference) -> float:
    """``perceptual_l2_per_clip(...)["value"]``: one query's distance (NaN when no frame has a face)."""
    return perceptual_l2_per_clip(predicted, reference)["value"]
