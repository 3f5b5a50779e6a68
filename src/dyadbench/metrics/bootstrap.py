r"""Bootstrap confidence intervals (Efron & Tibshirani 1993, percentile method).

For a statistic θ of n independent units (clips, raters, items) the bootstrap draws B resamples of
the units with replacement, recomputes θ*_b on each and reports the (α/2, 1 − α/2) empirical
quantiles of {θ*_b} as the interval, with α = 1 − confidence. Units are resampled whole: pass
per-clip values, never per-frame values of a few clips, or the interval is too narrow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validation import as_float_array, check_probability, resolve_rng

__all__ = ["bootstrap_ci", "bootstrap_mean_ci", "pair_replicates", "percentile_interval"]


def percentile_interval(samples, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap replicates ``samples``."""
    samples = as_float_array(samples, "samples", ndim=1)
    alpha = 1.0 - check_probability(confidence, "confidence")
    low, high = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed=0,
) -> dict:
    """Percentile bootstrap of ``statistic(*arrays)`` resampling rows of all arrays jointly.

    Arrays must share their first dimension (the unit). Returns
    ``{"value", "low", "high", "std", "n_resamples", "confidence"}``.
    """
    if not arrays:
        raise ValueError("arrays: pass at least one array of per-unit values")
    arrays = [np.asarray(a) for a in arrays]
    n = arrays[0].shape[0]
    for i, a in enumerate(arrays):
        if a.shape[0] != n:
            raise ValueError(f"arrays[{i}]: has {a.shape[0]} units but arrays[0] has {n}")
    if n < 2:
        raise ValueError(f"arrays: a bootstrap needs at least 2 units, got {n}")
    if int(n_resamples) < 2:
        raise ValueError(f"n_resamples: expected at least 2, got {n_resamples}")
    rng = resolve_rng(seed)
    value = float(statistic(*arrays))
    reps = np.empty(int(n_resamples))
    for b in range(int(n_resamples)):
        idx = rng.integers(0, n, n)
        reps[b] = statistic(*(a[idx] for a in arrays))
    low, high = percentile_interval(reps, confidence)
    return {
        "value": value,
        "low": low,
        "high": high,
        "std": float(reps.std(ddof=1)),
        "n_resamples": int(n_resamples),
        "confidence": confidence,
    }


def bootstrap_mean_ci(values, *, n_resamples: int = 1000, confidence: float = 0.95, seed=0) -> dict:
    """Bootstrap interval of the mean of per-unit ``values`` (vectorised: one matrix of draws)."""
    values = as_float_array(values, "values", ndim=1, min_rows=2)
    rng = resolve_rng(seed)
    n = values.shape[0]
    reps = values[rng.integers(0, n, (int(n_resamples), n))].mean(axis=1)
    low, high = percentile_interval(reps, confidence)
    return {
        "value": float(values.mean()),
        "low": low,
        "high": high,
        "std": float(reps.std(ddof=1)),
        "n_resamples": int(n_resamples),
        "confidence": confidence,
    }


def pair_replicates(distances, items_a, items_b, n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap replicates of a mean over random pairs of frames without recomputing it: a resample
    of the items (multinomial counts w) makes a pair of frames from items i and j w_i·w_j times as
    likely, so the replicate is the pairs' distances averaged with weights w_i·w_j; the pairs are
    resampled too, so the replicates keep the spread that drawing a finite number of pairs adds."""
    d = np.asarray(distances, np.float64)
    ia, ib = np.asarray(items_a, np.int64), np.asarray(items_b, np.int64)
    rng = np.random.default_rng(seed)
    reps = np.full(n_boot, np.nan)
    for r in range(n_boot):
        w = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items).astype(np.float64)
        c = np.bincount(rng.integers(0, len(d), len(d)), minlength=len(d)).astype(np.float64)
        weight = c * w[ia] * w[ib]
        total = weight.sum()
        if total > 0:
            reps[r] = weight @ d / total
    return reps
