r"""Motion metrics over evaluation items: the functions the registry calls for the motion tasks.

Each item (one generated participant) brings ``generated`` (S, N, D) — S samples of N frames —,
``reference`` (N, D) ground truth, ``partner`` (N, D) the other participant aligned to it, and
``valid`` (N,) the release's validity mask (invalid frames are left out). Shared inputs:
``mean``/``std`` (per-dim statistics of the valid ground-truth frames, for the conventions that
standardize) and ``fps``.

Per-item functions (``*_item``) return one number per item; the engine averages them over items
(the per-clip convention of LM-listener, DIM and REACT). Set-level functions (``*_set``) pool the
valid frames of all items, computed as ``*_finish(Σ items *_item_stats)`` so that the streamed
evaluation sums the same statistics item by item. Intervals are the engine's
(``metrics.aggregate``), not these functions'. The family functions they call (``frechet``,
``listener``, ``gesture``) hold the formulas.
"""

from __future__ import annotations

import numpy as np

from .gesture import beat_consistency, diversity_pairs, kinematic_beats
from .listener import (
    REACT_DIM_GROUPS,
    dtw_distance,
    dtw_distances,
    fr_corr,
    fr_dist,
    fr_div,
    fr_syn,
    l2_error,
    mse,
    temporal_variance,
)
from .item_memo import shared_array
from .motion_fd import NO_VALUE, _first, _pooled, _samples
from .streaming import FrameSample, item_sample


def standardization_stats(reference, valid) -> tuple[np.ndarray, np.ndarray]:
    """Per-dim mean and std (floored at 1e-6) of the valid ground-truth frames of all items."""
    frames = np.concatenate([np.asarray(r)[np.asarray(v)] for r, v in zip(reference, valid)])
    if len(frames) == 0:
        raise ValueError("reference: no valid ground-truth frame in any item")
    return frames.mean(0), np.maximum(frames.std(0), 1e-6)


def _z(x: np.ndarray, mean, std, standardize: bool = True) -> np.ndarray:
    if not standardize:
        return x
    z = np.subtract(x, mean)
    z /= std  # in place: (x − mean) / std without a second array
    return z


def _z_valid(x, valid, mean, std, standardize: bool = True, *, first: bool = False) -> np.ndarray:
    """``x``'s valid frames (of sample 0 with ``first``), standardized: one read-only array per item
    whichever of its metrics asks first (``item_memo``)."""
    return shared_array("valid frames, standardized", (x, valid, mean, std), (standardize, first),
                        lambda: _z((_first(x) if first else np.asarray(x))[np.asarray(valid)], mean, std, standardize))


def cross_sample_variance_item_stats(generated, valid) -> np.ndarray:
    """``[Σ var, count]`` of one item: the variance across its M samples (``np.var`` over the
    samples axis, ÷M) of every value of every valid frame, and how many values were summed."""
    g = np.asarray(generated)
    if g.shape[0] < 2:
        raise ValueError(f"cross_sample_variance: needs at least 2 samples per item (submit (M, N, D) arrays), "
                         f"got {g.shape[0]}")
    var = np.var(g[:, np.asarray(valid)], axis=0)
    return np.array([var.sum(), var.size], np.float64)


def cross_sample_variance_finish(stats) -> float:
    return float(stats[0] / stats[1]) if stats[1] else NO_VALUE


def cross_sample_variance_set(generated, valid) -> float:
    """Audio2Photoreal's "cross var": ``np.var`` over the samples axis, mean over every value of
    every valid frame of every item (pooled, so longer items weigh more, as its equal-length clips do)."""
    return cross_sample_variance_finish(sum(cross_sample_variance_item_stats(g, v) for g, v in zip(generated, valid)))


# --- errors and variance -----------------------------------------------------------------------

def l2_item(generated, reference, valid, mean, std, *, skip_frames: int = 0, standardize: bool = True) -> float:
    """Mean per-frame ‖p_t − g_t‖₂ of one clip (Learning2Listen: standardized, after a 32-frame seed)."""
    if skip_frames:
        valid = np.asarray(valid).copy()
        valid[:skip_frames] = False
    if not np.any(valid):
        return NO_VALUE
    return l2_error(_z_valid(generated, valid, mean, std, standardize, first=True),
                    _z_valid(reference, valid, mean, std, standardize))


def mse_item(generated, reference, valid) -> float:
    """Mean squared error of one clip on raw features (what LM-listener and DIM print as "l2"/"mse")."""
    v = np.asarray(valid)
    return mse(_first(generated)[v], np.asarray(reference)[v]) if v.any() else NO_VALUE


def variance_item(generated, valid, mean, std, *, standardize: bool = True, ddof: int = 0,
                  samples: str = "first") -> float:
    """Temporal variance of one clip, averaged over dims (and over samples with ``samples="all"``).

    ``ddof=1`` with ``samples="all"`` on raw features is REACT's FRVar; ``ddof=0`` on raw features
    LM-listener's "var".
    """
    v = np.asarray(valid)
    g = np.asarray(generated)
    g = g if samples == "all" else g[:1]
    if v.sum() < 2:
        return NO_VALUE
    if samples != "all":
        return temporal_variance(_z_valid(generated, valid, mean, std, standardize, first=True), ddof=ddof)
    return float(np.mean([temporal_variance(_z(s[v], mean, std, standardize), ddof=ddof) for s in g]))


def variance_pooled_set(generated, valid) -> float:
    """DIM's printed variance: ``np.var`` over every value of every valid frame of every item (raw)."""
    frames, _ = _pooled([_first(g) for g in generated], valid)
    return float(np.var(frames))


# --- diversity -----------------------------------------------------------------------------------

_KMEANS_MEMO: dict = {}  # the set's value and its interval fit the same clusters: fit once


def _kmeans_centres(frames: np.ndarray, n_clusters: int, seed: int, n_init) -> np.ndarray:
    import hashlib

    from sklearn.cluster import KMeans

    key = (hashlib.blake2b(np.ascontiguousarray(frames).tobytes(), digest_size=16).hexdigest(), frames.dtype.str,
           n_clusters, seed, n_init)
    if key not in _KMEANS_MEMO:
        if len(_KMEANS_MEMO) >= 8:
            _KMEANS_MEMO.pop(next(iter(_KMEANS_MEMO)))
        _KMEANS_MEMO[key] = KMeans(n_clusters=n_clusters, random_state=seed, n_init=n_init).fit(frames).cluster_centers_
    return _KMEANS_MEMO[key]


_LABEL_ROWS = 4096  # rows per product: bounded memory whatever the item's length


def nearest_centres(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of each row's nearest centre: scikit-learn's ``KMeans.predict`` convention, argmin over
    c of ‖c‖² − 2 x·c (the row's own norm dropped; the first centre on a tie), in the centres' dtype.

    With only the fitted centres to keep, the clusters are plain arrays: cached with the ground
    truth's other data-only values, sent to workers without pickling a fitted estimator."""
    c = np.asarray(centres)
    x = np.asarray(x, c.dtype)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"nearest_centres: frames {x.shape} and centres {c.shape}: expected (n, d) and (k, d)")
    norms = (c * c).sum(1)
    labels = np.empty(len(x), np.intp)
    for lo in range(0, len(x), _LABEL_ROWS):
        scores = x[lo:lo + _LABEL_ROWS] @ c.T
        scores *= -2.0
        scores += norms
        labels[lo:lo + _LABEL_ROWS] = scores.argmin(1)
    return labels


def _entropy_bits(counts: np.ndarray, log_eps: float) -> float:
    p = counts / counts.sum()
    if log_eps:
        return float(-(p * np.log2(p + log_eps)).sum())  # DIM: every bin, log2(p + 1e-6)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def si_fit(frames, mean, std, n_clusters: int = 40, *, standardize: bool = True, random_state: int = 0, n_init=10,
           dtype=np.float64, fit_frames: int | None = None, **_) -> dict:
    """Fit the k-means clusters of SI-diversity on ground-truth frames (raw rows; at most
    ``fit_frames`` of them, taken from the front: pass them in sample order). Rows are sorted
    lexicographically first, so the fit depends on the set of frames, not on their order."""
    frames = np.asarray(frames, np.float64)
    if fit_frames and len(frames) > fit_frames:
        frames = frames[: int(fit_frames)]
    if len(frames) == 0:
        raise ValueError("si_diversity: no valid ground-truth frame to fit clusters on")
    z = _z(frames, mean, std, standardize).astype(dtype)
    z = z[np.lexsort(z.T[::-1])]
    return {"si_centres": _kmeans_centres(z, int(min(n_clusters, len(z))), random_state, n_init), "si_fit_frames": len(z)}


def si_item_stats(generated, valid, mean, std, si_centres, *, standardize: bool = True, dtype=np.float64) -> np.ndarray:
    """One item's histogram of valid generated frames (sample 0) over the fitted clusters."""
    g = _z_valid(generated, valid, mean, std, standardize, first=True).astype(dtype, copy=False)
    k = len(si_centres)
    return np.bincount(nearest_centres(g, si_centres), minlength=k).astype(np.float64) if len(g) else np.zeros(k)


def si_finish(stats, *, log_eps: float = 0.0) -> float:
    return _entropy_bits(np.asarray(stats, np.float64), log_eps) if np.sum(stats) else NO_VALUE


def _si_counts(generated, reference, valid, mean, std, n_clusters, standardize, seed, n_init, dtype, fit_frames=None,
               ids=None):
    frames, _ = _pooled(reference, valid)
    if fit_frames and len(frames) > fit_frames:
        # The engine's seeded bottom-k sample of ground-truth frames (``streaming.item_sample``, items
        # named ``ids``, default "0", "1", ...): k-means cost stops growing with frames.
        sample = FrameSample(int(fit_frames))
        for i, (r, v) in enumerate(zip(reference, valid)):
            sample.add(str(i) if ids is None else ids[i], *item_sample(str(i) if ids is None else ids[i], seed, v,
                                                                         {"reference": r}, int(fit_frames)))
        frames = sample.rows["reference"]
    model = si_fit(frames, mean, std, n_clusters, standardize=standardize, random_state=seed, n_init=n_init, dtype=dtype)
    counts = [si_item_stats(g, v, mean, std, model["si_centres"], standardize=standardize, dtype=dtype)
              for g, v in zip(generated, valid)]
    return np.stack(counts), len(model["si_centres"])


def si_diversity_set(generated, reference, valid, mean, std, n_clusters: int = 40, *, standardize: bool = True,
                     random_state: int = 0, n_init=10, log_eps: float = 0.0, dtype=np.float64,
                     fit_frames: int | None = None, ids=None) -> float:
    r"""SI-diversity: entropy (bits) of generated frames' histogram over k-means clusters of the
    ground truth, :math:`H = -\sum_c p_c \log_2 p_c` (scikit-learn ``KMeans``; ``n_init`` restarts,
    the lowest inertia kept). DIM's convention: raw features, ``n_init="auto"``, ``random_state=0``,
    float32, :math:`-\sum_c p_c \log_2(p_c + 10^{-6})`. ``fit_frames`` fits the clusters on the
    engine's seeded sample of at most that many ground-truth frames (items named ``ids``; every
    frame is still assigned).

    Computed as ``si_finish(Σ_i si_item_stats(item_i))`` after ``si_fit``: the functions the
    streaming evaluation calls item by item."""
    counts, _ = _si_counts(generated, reference, valid, mean, std, n_clusters, standardize, random_state, n_init, dtype,
                           fit_frames, ids)
    return si_finish(counts.sum(0), log_eps=log_eps)


def diversity_set(generated, valid, mean, std, *, n_pairs: int = 10_000, seed: int = 0, standardize: bool = True,
                  samples: str = "first", pairs: str = "distinct") -> float:
    """Mean distance of random pairs of pooled (standardized) frames of sample 0, or of every
    sample (``samples="all"``, Audio2Photoreal's var_g pools all samples' frames)."""
    distances, _, _ = diversity_terms(generated, valid, mean, std, n_pairs=n_pairs, seed=seed, standardize=standardize,
                                      samples=samples, pairs=pairs)
    return float(distances.mean()) if len(distances) else NO_VALUE


def diversity_terms(generated, valid, mean, std, *, n_pairs: int = 10_000, seed: int = 0, standardize: bool = True,
                    samples: str = "first", pairs: str = "distinct") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``diversity_set``'s pairs: each pair's distance and the items its two frames belong to.

    The pool (items in order; within an item its samples, then its valid frames) is never built:
    the pairs are drawn by pool position and only those rows gathered, and standardizing a
    difference is dividing it by ``std`` (the mean cancels)."""
    items = [(_samples(g, samples), np.flatnonzero(np.asarray(v))) for g, v in zip(generated, valid)]
    sizes = np.array([s.shape[0] * len(idx) for s, idx in items], dtype=np.int64)
    total = int(sizes.sum())
    if total < 2:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = diversity_pairs(total, n_pairs=n_pairs, seed=seed, pairs=pairs)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.concatenate([a, b])  # both ends of every pair in one pass over the items
    owner = np.searchsorted(starts, pos, side="right") - 1
    order = np.argsort(owner, kind="stable")  # positions grouped by item
    bounds = np.searchsorted(owner[order], np.arange(len(items) + 1))
    rows = np.empty((len(pos), len(mean)))
    for i in np.flatnonzero(np.diff(bounds)):
        at = order[bounds[i]:bounds[i + 1]]
        sample_rows, idx = items[i]
        local = pos[at] - starts[i]
        if sample_rows.shape[0] == 1:  # one sample: np.take on its rows, faster than a two-index gather
            rows[at] = np.take(sample_rows[0], idx[local], axis=0)
        else:
            rows[at] = sample_rows[local // len(idx), idx[local % len(idx)]]
    diff = rows[: len(a)] - rows[len(a) :]
    if standardize:
        diff = diff / std
    return np.linalg.norm(diff, axis=1), owner[: len(a)], owner[len(a):]


# --- REACT-style appropriateness and synchrony ---------------------------------------------------

def fr_corr_item(generated, reference, valid, *, sample_reduce: str = "mean", eps: float = 0.0) -> float:
    """FRCorr of one item with its own ground truth as the one appropriate listener.

    REACT: CCC per dim (+1e-8 in the denominator), mean over dims, **summed** over the samples.
    """
    v = np.asarray(valid)
    if v.sum() < 2:
        return NO_VALUE
    return fr_corr(np.asarray(generated)[None][:, :, v], [np.asarray(reference)[v]], sample_reduce=sample_reduce, eps=eps)


def fr_dist_item(generated, reference, valid, mean, std, fps, *, segment_s: float | None = 10.0,
                 standardize: bool = True, react_groups: bool = False, sample_reduce: str = "mean") -> float:
    """FRDist of one item: DTW to its own ground truth.

    dyadbench: sample 0, standardized, DTW / dims on consecutive ``segment_s`` segments (DTW is
    quadratic in length), averaged. REACT: whole sequences, raw 25-d features, DTW per group
    weighted 1/15 (AUs) + 1 (V/A) + 1/8 (expressions), summed over samples.
    """
    ref = _z_valid(reference, valid, mean, std, standardize)
    if len(ref) < 2:
        return NO_VALUE
    if react_groups:
        if ref.shape[1] != 25:
            raise ValueError(f"fr_dist (REACT convention): needs REACT's 25-d frames, got {ref.shape[1]} dims")
        gen = np.asarray(generated)[:, np.asarray(valid)]
        return fr_dist(_z(gen, mean, std, standardize)[None], [ref], groups=REACT_DIM_GROUPS, sample_reduce=sample_reduce)
    a = _z_valid(generated, valid, mean, std, standardize, first=True)
    seg = len(a) if segment_s is None else max(2, int(segment_s * fps))
    full = len(a) // seg  # equal segments in one batched DTW, then the shorter tail (if ≥ 2 frames)
    dists = list(dtw_distances(a[:full * seg].reshape(full, seg, -1), ref[:full * seg].reshape(full, seg, -1))) if full else []
    if len(a) - full * seg > 1:
        dists.append(dtw_distance(a[full * seg:], ref[full * seg:]))
    return float(np.mean(dists) / a.shape[1])


def fr_div_item(generated, valid) -> float:
    """FRDiv of one item: diversity among its M ≥ 2 samples (REACT's S-MSE, ``compute_s_mse``)."""
    g = np.asarray(generated)
    if g.shape[0] < 2:
        raise ValueError(f"fr_div: needs at least 2 samples per item (submit (M, N, D) arrays), got {g.shape[0]}")
    return fr_div(g[None][:, :, np.asarray(valid)])


def fr_syn_item(generated, partner, *, max_lag: int = 49, lag_from: str = "mean_over_dims", samples: str = "all") -> float:
    """FRSyn (REACT TLCC) of one item, the partner as the speaker; |best lag| in frames."""
    g = np.asarray(generated)
    lag = int(min(max_lag, g.shape[1] - 3))
    return fr_syn(np.asarray(partner)[None], g[None], max_lag=lag, lag_from=lag_from, samples=samples)


def beat_consistency_item(generated, onsets, fps, *, sigma: float = 0.1) -> float:
    """Beat consistency of one item: kinematic beats of sample 0 against the target's audio onsets."""
    if len(onsets) == 0:
        return NO_VALUE
    beats = kinematic_beats(_first(generated), fps=fps)
    return beat_consistency(beats, onsets, sigma=sigma) if len(beats) else 0.0


def detection_rate_item(detected) -> float:
    """Share of frames in which a face was found."""
    return float(np.mean(detected))
