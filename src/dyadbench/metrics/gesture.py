r"""Gesture metrics: raw-space Fréchet variants, beat consistency, diversity.

Audio2Photoreal (Ng et al. 2024) reports, on raw per-frame poses x_t:
  * FD_g ("static"): Fréchet distance on the frames x_t themselves (registered: ``fgd``);
  * FD_k ("kinetic"): Fréchet distance on frame differences x_{t+1} − x_t (its ``utils/eval.py``
    has no fps factor; registered: ``fd_kinetic``, whose default takes velocities per second,
    fps² times larger, and whose ``audio2photoreal`` convention A2P's differences);
  * diversity: mean ‖x_a − x_b‖₂ over random frame pairs (10,000 by default);
  * variance: temporal variance (see ``listener.temporal_variance``).

Beat consistency (BEAT, Liu et al. 2022, after Bailando's BeatAlign): with kinematic beats B_m
(local minima of mean joint speed) and audio beats B_a (onsets), both in seconds,

.. math::  BC = \frac{1}{|B_m|}\sum_{t \in B_m} \exp\Bigl(-\frac{\min_{s \in B_a}(t - s)^2}{2σ^2}\Bigr)

with σ = 0.1 s by default (``direction="audio_to_motion"`` swaps the roles, as in Bailando).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, resolve_rng

__all__ = ["beat_consistency", "diversity_pairs", "kinematic_beats", "random_pair_diversity", "velocities"]


def _sequences(x, name: str) -> np.ndarray:
    arr = as_float_array(x, name, ndim=(2, 3))
    return arr[None] if arr.ndim == 2 else arr


def velocities(motion, *, fps: float | None = 30.0) -> np.ndarray:
    """Frame-to-frame velocities (units per second; plain frame differences with ``fps=None``) of
    (T, D) or (N, T, D) motion."""
    m = _sequences(motion, "motion")
    if m.shape[1] < 2:
        raise ValueError(f"motion: velocities need at least 2 frames, got {m.shape[1]}")
    if fps is not None and fps <= 0:
        raise ValueError(f"fps: expected > 0 or None, got {fps}")
    d = np.diff(m, axis=1)
    return d if fps is None else d * float(fps)


def random_pair_diversity(frames, *, n_pairs: int = 10_000, seed=0, pairs: str = "distinct") -> float:
    """Mean Euclidean distance between ``n_pairs`` random pairs of frames.

    ``pairs="distinct"``: each pair of two different frames. ``pairs="audio2photoreal"``: as
    Audio2Photoreal's ``calculate_diversity`` (utils/eval.py) draws them — the first frames and
    the second frames each ``n_pairs`` indices without replacement (so more than ``n_pairs``
    frames are needed; a pair may be one frame twice); seeded here, where A2P's draws are not."""
    f = as_float_array(frames, "frames", ndim=(2, 3))
    f = f.reshape(-1, f.shape[-1])
    a, b = diversity_pairs(f.shape[0], n_pairs=n_pairs, seed=seed, pairs=pairs)
    return float(np.linalg.norm(f[a] - f[b], axis=1).mean())


def diversity_pairs(n: int, *, n_pairs: int = 10_000, seed=0, pairs: str = "distinct") -> tuple[np.ndarray, np.ndarray]:
    """The frame indices (a, b) ``random_pair_diversity`` draws among ``n`` frames: a set-level
    computation can gather just these rows instead of pooling every frame."""
    if n < 2:
        raise ValueError(f"frames: needs at least 2 frames, got {n}")
    if pairs == "audio2photoreal":
        if n <= n_pairs:
            raise ValueError(f"frames: Audio2Photoreal's diversity draws {n_pairs} frames without replacement, "
                             f"needs more than that, got {n}")
        rng = resolve_rng(seed)
        return rng.choice(n, int(n_pairs), replace=False), rng.choice(n, int(n_pairs), replace=False)
    if pairs == "distinct":
        return random_pair_indices(n, n_pairs, seed)
    raise ValueError(f"pairs: expected 'distinct' or 'audio2photoreal', got {pairs!r}")


def random_pair_indices(n: int, n_pairs: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` random pairs (a, b) of distinct indices in [0, n): the pairs ``random_pair_diversity`` uses."""
    rng = resolve_rng(seed)
    a = rng.integers(0, n, int(n_pairs))
    return a, (a + rng.integers(1, n, int(n_pairs))) % n  # b != a


def kinematic_beats(joints, *, fps: float = 30.0, order: int = 3, min_speed_drop: float = 0.0) -> np.ndarray:
    """Times (s) of local minima of mean joint speed: (T, J, C) joints or (T, D) flat poses.

    ``order`` is the half-width in frames of the minimum's neighbourhood (scipy argrelextrema).
    """
    j = as_float_array(joints, "joints", ndim=(2, 3))
    if j.shape[0] < 2 * order + 2:
        raise ValueError(f"joints: needs at least {2 * order + 2} frames, got {j.shape[0]}")
    flat = j.reshape(j.shape[0], -1, j.shape[-1]) if j.ndim == 3 else j[:, :, None]
    speed = np.linalg.norm(np.diff(flat, axis=0), axis=-1).mean(axis=1) * fps
    from scipy.signal import argrelextrema  # here: scipy.signal costs ~1.4 s to import, and only gesture needs it

    minima = argrelextrema(speed, np.less, order=int(order))[0]
    if min_speed_drop > 0:
        minima = minima[speed.max() - speed[minima] >= min_speed_drop]
    return (minima + 1) / float(fps)  # speed[k] is the velocity between frames k and k+1


def beat_consistency(motion_beats, audio_beats, *, sigma: float = 0.1, direction: str = "motion_to_audio") -> float:
    """Beat consistency score in [0, 1]; see the module docstring."""
    m = as_float_array(motion_beats, "motion_beats", ndim=1, allow_empty=True)
    a = as_float_array(audio_beats, "audio_beats", ndim=1, allow_empty=True)
    if sigma <= 0:
        raise ValueError(f"sigma: expected > 0, got {sigma}")
    if direction == "audio_to_motion":
        m, a = a, m
    elif direction != "motion_to_audio":
        raise ValueError(f"direction: expected 'motion_to_audio' or 'audio_to_motion', got {direction!r}")
    if m.size == 0 or a.size == 0:
        raise ValueError("motion_beats/audio_beats: beat consistency needs at least one beat on each side")
    nearest = np.min(np.abs(m[:, None] - a[None, :]), axis=1)
    return float(np.mean(np.exp(-(nearest**2) / (2.0 * sigma**2))))
