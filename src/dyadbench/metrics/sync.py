r"""Audio-visual synchrony from SyncNet embeddings: Sync-D, Sync-C and AV offset.

Following joonson/syncnet_python (Chung & Zisserman 2016): with video embeddings v_t and audio
embeddings a_t (one per video frame, 25 fps) and offsets o ∈ {−K..K} (K = 15),

.. math::  D(o) = \frac{1}{|T_o|}\sum_{t \in T_o} \lVert v_t - a_{t+o} \rVert_2,\qquad
           \text{Sync-D} = \min_o D(o),\quad \text{Sync-C} = \operatorname{median}_o D(o) - \min_o D(o)

and the AV offset is the minimising o: positive when the audio of frame t sits at t + o (audio
lags video). syncnet_python prints ``vshift − argmin``, which is −o in this convention. Edge convention (``edge``):

- ``"valid"`` (default): T_o = frames where a_{t+o} exists; no made-up audio.
- ``"zero_pad"``: syncnet_python's: audio embeddings are zero-padded by K at both ends and every
  frame averages over all offsets, so edge frames compare against zeros (a known bias on short
  clips); choose it to reproduce published numbers.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, same_shape

__all__ = ["offset_distances", "sync_confidence", "sync_scores"]


def offset_distances(video_emb, audio_emb, *, max_offset: int = 15, edge: str = "valid", eps: float = 0.0) -> np.ndarray:
    """Mean embedding distance D(o) for o = −max_offset..max_offset (length 2K+1).

    ``eps`` is added to every difference before the norm, ‖v − a + ε‖: syncnet_python measures with
    ``torch.nn.functional.pairwise_distance``, whose default ε is 1e-6.
    """
    v = as_float_array(video_emb, "video_emb", ndim=2)
    a = as_float_array(audio_emb, "audio_emb", ndim=2)
    same_shape(v, a, "video_emb", "audio_emb")
    k = int(max_offset)
    if k < 0:
        raise ValueError(f"max_offset: expected >= 0, got {max_offset}")
    n = v.shape[0]
    if edge == "valid":
        if n <= k:
            raise ValueError(f"video_emb: {n} frames is too short for offsets of ±{k} frames under edge='valid'")
        out = np.empty(2 * k + 1)
        for i, o in enumerate(range(-k, k + 1)):
            lo, hi = max(0, -o), min(n, n - o)
            out[i] = np.linalg.norm(v[lo:hi] - a[lo + o : hi + o] + eps, axis=1).mean()
        return out
    if edge == "zero_pad":
        padded = np.concatenate([np.zeros((k, a.shape[1])), a, np.zeros((k, a.shape[1]))])
        # Window i of frame t holds padded[t + i], i.e. offset o = i - k.
        windows = np.stack([padded[i : i + n] for i in range(2 * k + 1)], axis=1)
        return np.linalg.norm(v[:, None, :] - windows + eps, axis=2).mean(axis=0)
    raise ValueError(f"edge: expected 'valid' or 'zero_pad', got {edge!r}")


def sync_scores(distances, *, max_offset: int | None = None) -> dict:
    """Sync-D, Sync-C and the AV offset (frames) from the D(o) curve of ``offset_distances``."""
    d = as_float_array(distances, "distances", ndim=1)
    if d.size % 2 != 1:
        raise ValueError(f"distances: expected an odd length 2K+1 (offsets −K..K), got {d.size}")
    k = d.size // 2 if max_offset is None else int(max_offset)
    if d.size != 2 * k + 1:
        raise ValueError(f"distances: length {d.size} does not match max_offset={k}")
    i = int(np.argmin(d))
    return {"sync_d": float(d[i]), "sync_c": float(np.median(d) - d[i]), "offset": i - k}


def sync_confidence(video_emb, audio_emb, *, max_offset: int = 15, edge: str = "valid", eps: float = 0.0) -> dict:
    """``sync_scores(offset_distances(...))`` in one call (syncnet_python: ``edge="zero_pad", eps=1e-6``)."""
    return sync_scores(offset_distances(video_emb, audio_emb, max_offset=max_offset, edge=edge, eps=eps), max_offset=max_offset)
