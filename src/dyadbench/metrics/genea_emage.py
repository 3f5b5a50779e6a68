r"""Gesture metrics of GENEA's numerical evaluations and of EMAGE's evaluation tools.

Both compute on joint *positions* (GENEA: 3D joint coordinates exported from BVH; EMAGE: SMPL-X
joints after forward kinematics). The Seamless release ships SMPL-H axis-angle parameters and no
body model may be shipped here, so these functions apply each recipe to the task's features read
as consecutive 3-value groups (one per joint: 21 body + 2 x 15 hand joints, radians); the numbers
follow the reference code's arithmetic exactly on whatever array they are given.

* GENEA (``Svito-zar/genea_numerical_evaluations``): ``calk_jerk_or_acceleration.py`` — per file,
  the n-th frame difference (n = 3 jerk, n = 2 acceleration), its norm per joint, averaged over
  frames, scaled by fps^n; the printed number is the mean over files of the mean over joints.
  ``calc_histogram.py`` + ``hellinger_distance.py`` — per-joint speeds (first difference norm x
  fps), one histogram with unit bins on [0, 59] summed over joints and files, then
  Hellinger(ground truth, generated) = sqrt(1 − Σ sqrt(p q)) of the normalised histograms.
  Its ``[:, 2:]`` (dropping two leading values of its position files, "hips which are fixed")
  is the ``drop_leading`` parameter.
* EMAGE (``PantoMatrix/PantoMatrix`` ``emage_evaltools/mertic.py``, class ``L1div``): per file,
  Σ |x − mean over the file's frames| over frames and values; the reported value is the sum over
  files divided by the total number of frames.

Invalid frames are left out: a difference counts only when every frame it spans is valid.
"""

from __future__ import annotations

import numpy as np

from .streaming import known_or_computed

NO_VALUE = float("nan")
GENEA_BINS = np.arange(0, 59 + 1, 1)  # calc_histogram.py: np.arange(0, 59 + width, width), width = 1


def _joints(x: np.ndarray, drop_leading: int = 0, dim: int = 3) -> np.ndarray:
    """(T, J, dim) from (T, D) after dropping ``drop_leading`` leading values (GENEA's ``[:, 2:]``)."""
    x = np.asarray(x, np.float64)
    x = x.reshape(len(x), -1)[:, drop_leading:]
    joints = x.shape[1] // dim
    return x[:, : joints * dim].reshape(len(x), joints, dim)


def _difference_norms(x, valid, n: int, fps: float, drop_leading: int = 0) -> np.ndarray:
    """(T − n, J) norms of the n-th frame difference per joint, x fps^n, rows spanning an invalid frame dropped."""
    j = _joints(x, drop_leading)
    v = np.asarray(valid, bool)
    if len(j) <= n:
        return np.zeros((0, j.shape[1]))
    ok = np.ones(len(j) - n, bool)
    for k in range(n + 1):
        ok &= v[k: len(j) - n + k]
    d = np.diff(j, n=n, axis=0)
    d *= d
    squares = d[..., 0] + d[..., 1]  # the sum norm() takes over the 3 values, in its order, without its strided reduce
    squares += d[..., 2]
    return np.sqrt(squares)[ok] * float(fps) ** n


def mean_derivative_item(generated, valid, fps, *, order: int = 3) -> float:
    """GENEA's average jerk (order 3) or acceleration (order 2) of one item (sample 0): mean over
    joints of the per-joint mean norm of the order-th difference, x fps^order."""
    norms = _difference_norms(np.asarray(generated)[0], valid, order, fps)
    return float(norms.mean(axis=0).mean()) if len(norms) else NO_VALUE


def speed_histogram(x, valid, fps, *, drop_leading: int = 0) -> np.ndarray:
    """Counts of per-joint speeds (first-difference norm x fps) in GENEA's unit bins on [0, 59],
    summed over joints (speeds at or above 59 fall outside, as ``np.histogram`` leaves them)."""
    speeds = _difference_norms(x, valid, 1, fps, drop_leading)
    # GENEA_BINS are equal unit bins: numpy's equal-bin route (no sort), the same edges and counts
    return np.histogram(speeds.ravel(), bins=len(GENEA_BINS) - 1, range=(GENEA_BINS[0], GENEA_BINS[-1]))[0].astype(np.float64)


def speed_hellinger_reference_counts(reference, valid, fps, *, drop_leading: int = 0) -> np.ndarray:
    """The ground truth's speed counts of one item: the half of ``speed_hellinger_item_stats``
    that depends on the dataset alone (``Streaming.reference_part``)."""
    return speed_histogram(reference, valid, fps, drop_leading=drop_leading)


def speed_hellinger_item_stats(generated, reference, valid, fps, *, drop_leading: int = 0, reference_part=None) -> np.ndarray:
    """``[generated counts, ground-truth counts]`` of one item (additive over items);
    ``reference_part``: the ground truth's counts when already known."""
    gen = speed_histogram(np.asarray(generated)[0], valid, fps, drop_leading=drop_leading)
    ref = known_or_computed(reference_part, lambda: speed_hellinger_reference_counts(reference, valid, fps, drop_leading=drop_leading),
                            len(gen), "the ground truth's speed counts")
    return np.concatenate([gen, ref])


def hellinger(hist_a, hist_b) -> float:
    """sqrt(1 − Σ sqrt(p q)) of the two histograms normalised to sum 1 (hellinger_distance.py)."""
    a, b = np.asarray(hist_a, np.float64), np.asarray(hist_b, np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        return NO_VALUE
    return float(np.sqrt(max(0.0, 1.0 - np.sum(np.sqrt(a / a.sum() * (b / b.sum()))))))


def speed_hellinger_finish(stats) -> float:
    half = len(stats) // 2
    return hellinger(stats[half:], stats[:half])


def speed_hellinger_set(generated, reference, valid, fps, *, drop_leading: int = 0) -> float:
    return speed_hellinger_finish(sum(speed_hellinger_item_stats(g, r, v, fps, drop_leading=drop_leading)
                                      for g, r, v in zip(generated, reference, valid)))


def l1div_item_stats(generated, valid) -> np.ndarray:
    """``[Σ |x − mean|, frames]`` of one item's valid frames (sample 0): EMAGE's L1div.compute."""
    x = np.asarray(generated, np.float64)[0][np.asarray(valid, bool)]
    x = x.reshape(len(x), -1)
    if not len(x):
        return np.zeros(2)
    return np.array([np.abs(x - x.mean(axis=0)).sum(), len(x)], np.float64)


def l1div_finish(stats) -> float:
    return float(stats[0] / stats[1]) if stats[1] else NO_VALUE


def l1div_set(generated, valid) -> float:
    """EMAGE's L1div.avg(): Σ over items of Σ |x − item mean|, divided by the total frames."""
    return l1div_finish(sum(l1div_item_stats(g, v) for g, v in zip(generated, valid)))
