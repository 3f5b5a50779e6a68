r"""Fréchet distance family: FD, FD\ :sub:`∞`, streaming statistics (FFD, FGD, FID are the registered metrics on it).

The Fréchet (2-Wasserstein) distance between Gaussians N(μ₁, Σ₁) and N(μ₂, Σ₂) is

.. math::  d^2 = \lVert μ_1 - μ_2 \rVert^2 + \operatorname{tr}Σ_1 + \operatorname{tr}Σ_2
                 - 2\,\operatorname{tr}\bigl((Σ_1 Σ_2)^{1/2}\bigr)

(Dowson & Landau 1982; Heusel et al. 2017 for FID). ``tr((Σ₁Σ₂)^{1/2})`` is the sum of the square
roots of the eigenvalues of Σ₁Σ₂. With any factor Σ₁ = L Lᵀ, the symmetric PSD matrix Lᵀ Σ₂ L is
similar to Σ₂ Σ₁ and has the same spectrum, so we need one Cholesky (or, for singular Σ₁, one
symmetric eigendecomposition) and one symmetric eigenvalue solve — no general matrix square root.
That is ~13x faster than ``scipy.linalg.sqrtm`` at d = 2048 and never produces complex numbers
(the SciPy 1.11–1.12 ``sqrtm`` bug) or NaN on rank-deficient covariances. The linear algebra
(factors, the refinement of round-off-level eigenvalues) is in ``_frechet_linalg``. Negative round-off
eigenvalues are clipped to 0 and the result is clipped at 0 (FD(x, x) = 0, never −1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._frechet_linalg import psd_factor, trace_sqrt_product
from ._validation import as_float_array, resolve_rng, same_dim

__all__ = [
    "FID_FEATURE_DIM",
    "FrechetReference",
    "RunningStats",
    "fd_infinity",
    "frechet_bootstrap",
    "frechet_distance",
    "frechet_distance_from_features",
]

FID_FEATURE_DIM = 2048  # pool3 of the TF-ported Inception-v3


def _max_asymmetry(sigma: np.ndarray, block: int = 256) -> float:
    """max |S − Sᵀ| by row blocks of the upper triangle: half the work of ``S - S.T`` and each
    transposed block stays in cache (47 → 22 ms at d = 2048)."""
    worst = 0.0
    for i in range(0, len(sigma), block):
        rows = sigma[i : i + block, i:]
        worst = max(worst, float(np.max(np.abs(rows - sigma[i:, i : i + block].T))))
    return worst


def _check_gaussian(mu, sigma, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = as_float_array(mu, f"mu{name}", ndim=1)
    sigma = as_float_array(sigma, f"sigma{name}", ndim=2)
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise ValueError(f"sigma{name}: expected shape ({d}, {d}) to match mu{name}, got {sigma.shape}")
    asym = _max_asymmetry(sigma) if d else 0.0
    if asym > 1e-6 * max(1.0, float(np.max(np.abs(sigma)))):
        raise ValueError(f"sigma{name}: is not symmetric (max |S - S^T| = {asym:.3g}); pass a covariance matrix")
    return mu, sigma


@dataclass(frozen=True)
class FrechetReference:
    """Precomputed reference statistics and factorization, reusable across many submissions.

    ``FrechetReference.from_stats(mu, sigma).distance(mu_gen, sigma_gen)`` equals
    ``frechet_distance(mu_gen, sigma_gen, mu, sigma)`` but skips re-factorizing ``sigma``.
    """

    mu: np.ndarray
    sigma: np.ndarray
    factor: np.ndarray
    triangular: bool
    trace: float

    @classmethod
    def from_stats(cls, mu, sigma) -> FrechetReference:
        return cls._from_checked(*_check_gaussian(mu, sigma, "_ref"))

    @classmethod
    def _from_checked(cls, mu: np.ndarray, sigma: np.ndarray) -> FrechetReference:
        factor, triangular = psd_factor(sigma)
        return cls(mu, sigma, np.ascontiguousarray(factor), triangular, float(np.trace(sigma)))

    @classmethod
    def from_features(cls, features) -> FrechetReference:
        stats = RunningStats.from_array(features, name="features")
        return cls.from_stats(stats.mean, stats.cov)

    def distance(self, mu, sigma, *, exact: bool = True) -> float:
        """FD to N(mu, sigma). ``exact=False`` skips the singular-value refinement for
        rank-deficient inputs (round-off of order sqrt(eps)·tr; used for bootstrap replicates,
        whose spread, not level, is used)."""
        mu, sigma = _check_gaussian(mu, sigma, "")
        if mu.shape != self.mu.shape:
            raise ValueError(f"mu has dimension {mu.shape[0]} but the reference has {self.mu.shape[0]}")
        return self._distance_checked(mu, sigma, exact)

    def _distance_checked(self, mu: np.ndarray, sigma: np.ndarray, exact: bool) -> float:
        diff = mu - self.mu
        offset = float(diff @ diff + np.trace(sigma) + self.trace)
        value = offset - 2.0 * trace_sqrt_product(self.factor, self.triangular, sigma, exact, offset)
        return max(value, 0.0)


def frechet_distance(mu1, sigma1, mu2, sigma2, *, exact: bool = True) -> float:
    r"""Exact Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); see the module docstring.

    Finite and non-negative for any symmetric PSD inputs, singular ones included. ``exact=False``
    (bootstrap replicates) skips the refinement of near-zero eigen-directions (``distance``).
    """
    mu1, sigma1 = _check_gaussian(mu1, sigma1, "1")
    mu2, sigma2 = _check_gaussian(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(f"mu1 has dimension {mu1.shape[0]} but mu2 has {mu2.shape[0]}")
    return FrechetReference._from_checked(mu2, sigma2)._distance_checked(mu1, sigma1, exact)


class RunningStats:
    """Streaming mean and covariance in float64; chunked, mergeable, serializable.

    Keeps ``n``, the mean and the centered scatter matrix ``M = Σ (x - mean)(x - mean)ᵀ``.
    Chunks and partial statistics combine with the exact pairwise update of Chan, Golub & LeVeque
    (1979): for parts A, B with δ = mean_B − mean_A,
    ``M = M_A + M_B + δδᵀ · n_A n_B / (n_A + n_B)``. So statistics computed by parallel workers
    and merged equal those of one pass over all rows (to round-off).
    """

    def __init__(self, dim: int):
        if int(dim) < 1:
            raise ValueError(f"dim: expected a positive integer, got {dim}")
        self.dim = int(dim)
        self.n = 0
        self._mean = np.zeros(self.dim)
        self._scatter = np.zeros((self.dim, self.dim))

    @classmethod
    def from_array(cls, x, name: str = "x") -> RunningStats:
        x = as_float_array(x, name, ndim=2, min_rows=2)
        return cls(x.shape[1]).update(x, name=name)

    def update(self, x, name: str = "x") -> RunningStats:
        x = as_float_array(x, name, ndim=2, allow_empty=True)
        if x.shape[0] == 0:
            return self
        if x.shape[1] != self.dim:
            raise ValueError(f"{name}: expected {self.dim} features per row, got {x.shape[1]}")
        mean = x.mean(axis=0)
        centered = x - mean
        return self._combine(x.shape[0], mean, centered.T @ centered)

    def merge(self, other: RunningStats) -> RunningStats:
        if not isinstance(other, RunningStats) or other.dim != self.dim:
            raise ValueError(f"other: expected RunningStats of dim {self.dim}")
        if other.n:
            self._combine(other.n, other._mean, other._scatter)
        return self

    def _combine(self, n_b: int, mean_b: np.ndarray, scatter_b: np.ndarray) -> RunningStats:
        n_a = self.n
        n = n_a + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._scatter = self._scatter + scatter_b + np.outer(delta, delta) * (n_a * n_b / n)
        self.n = n
        return self

    @property
    def mean(self) -> np.ndarray:
        if self.n == 0:
            raise ValueError("RunningStats: no rows seen yet")
        return self._mean.copy()

    @property
    def cov(self) -> np.ndarray:
        """Unbiased sample covariance (ddof = 1), as ``np.cov(x, rowvar=False)``."""
        if self.n < 2:
            raise ValueError(f"RunningStats: covariance needs at least 2 rows, got {self.n}")
        return self._scatter / (self.n - 1)

    def to_state(self) -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez`` or pickling across processes)."""
        return {"n": np.asarray(self.n, dtype=np.int64), "mean": self._mean.copy(), "scatter": self._scatter.copy()}

    @classmethod
    def from_state(cls, state) -> RunningStats:
        mean = as_float_array(state["mean"], "state['mean']", ndim=1)
        scatter = as_float_array(state["scatter"], "state['scatter']", ndim=2)
        if scatter.shape != (mean.shape[0],) * 2:
            raise ValueError(f"state['scatter']: expected {(mean.shape[0],) * 2}, got {scatter.shape}")
        out = cls(mean.shape[0])
        out.n, out._mean, out._scatter = int(state["n"]), mean, scatter
        return out


def frechet_distance_from_features(x, y) -> float:
    """FD between the Gaussians fitted to rows of ``x`` (generated) and ``y`` (reference)."""
    sx = RunningStats.from_array(x, "x")
    sy = RunningStats.from_array(y, "y")
    if sx.dim != sy.dim:
        raise ValueError(f"x has {sx.dim} features per row but y has {sy.dim}")
    return frechet_distance(sx.mean, sx.cov, sy.mean, sy.cov)


def frechet_bootstrap(x, y, *, n_resamples: int = 200, confidence: float = 0.95, seed=0, groups=None) -> dict:
    """Point estimate and bootstrap interval of FD(x, y) at the given sample size.

    The generated set ``x`` is resampled with replacement; the reference ``y`` is the fixed
    target distribution (as in FID practice), so its factorization is computed once. With
    ``groups`` (one label per row of ``x``, e.g. the clip each frame came from) whole groups are
    resampled — the right unit when frames of one clip are correlated, which frame resampling
    ignores (its interval is then too narrow). Each resample's mean and covariance come from
    per-row or per-group weighted sums, never copying ``x``.

    FD is not a smooth mean: a resample holds only ~63 % distinct rows (or groups), which inflates
    every replicate (by ~d²/n, large at d = 2048), so the raw percentile interval can miss the
    point estimate entirely. We therefore report the replicates' central spread re-centred on the
    point estimate, ``[v − (m − q_lo), v + (q_hi − m)]`` with m the replicates' median, and expose
    the resampling bias ``mean(θ*) − v`` as ``bootstrap_bias``.
    Returns ``{"value", "low", "high", "std", "bootstrap_bias", "n_resamples", "confidence", "unit"}``.
    """
    from .bootstrap import percentile_interval

    x = as_float_array(x, "x", ndim=2, min_rows=2)
    ref = FrechetReference.from_features(y)
    same_dim(x, ref.mu[None, :], "x", "y")
    rng = resolve_rng(seed)
    value = ref.distance(x.mean(0), np.atleast_2d(np.cov(x, rowvar=False)))
    centre = x.mean(0)
    xc = x - centre  # raw second moments of centred data stay accurate in float64
    if groups is None:
        labels = np.arange(x.shape[0])
    else:
        labels = np.asarray(groups)
        if labels.shape != (x.shape[0],):
            raise ValueError(f"groups: expected one label per row of x ({x.shape[0]}), got shape {labels.shape}")
    uniq, inverse = np.unique(labels, return_inverse=True)
    g = len(uniq)
    if g < 2:
        raise ValueError("groups: a bootstrap needs at least 2 groups")
    counts = np.bincount(inverse, minlength=g).astype(np.float64)
    if groups is None:
        sums, seconds = xc, None  # per-row: weighted products below
    else:
        sums = np.zeros((g, x.shape[1]))
        np.add.at(sums, inverse, xc)
        seconds = np.stack([xc[inverse == k].T @ xc[inverse == k] for k in range(g)])
    samples = np.empty(int(n_resamples))
    for i in range(int(n_resamples)):
        w = rng.multinomial(g, np.full(g, 1.0 / g)).astype(np.float64)
        n = float(w @ counts)
        mean_c = (w @ sums) / n
        second = (xc.T * w) @ xc if seconds is None else np.tensordot(w, seconds, axes=1)
        cov = (second - n * np.outer(mean_c, mean_c)) / (n - 1)
        samples[i] = ref.distance(mean_c + centre, 0.5 * (cov + cov.T), exact=False)
    q_lo, q_hi = percentile_interval(samples, confidence)
    median = float(np.median(samples))
    return {
        "value": value,
        "low": max(0.0, value - (median - q_lo)),
        "high": value + (q_hi - median),
        "std": float(samples.std(ddof=1)),
        "bootstrap_bias": float(samples.mean() - value),
        "n_resamples": int(n_resamples),
        "confidence": confidence,
        "unit": "rows" if groups is None else "groups",
    }


def fd_infinity(x, y, *, num_points: int = 15, min_fraction: float = 0.2, seed=0) -> dict:
    r"""Effectively unbiased FD\ :sub:`∞` (Chong & Forsyth, CVPR 2020).

    FD estimated from N generated samples is biased upward roughly as ``FD_N = FD_∞ + k / N``.
    We evaluate FD on random subsets of ``x`` at ``num_points`` sizes N evenly spaced from
    ``min_fraction·n`` to ``n`` (the reference ``y`` fixed), fit a line in 1/N by least squares and
    return its intercept. Returns ``{"fd_inf", "slope", "sizes", "values"}``.
    """
    x = as_float_array(x, "x", ndim=2, min_rows=4)
    ref = FrechetReference.from_features(y)
    same_dim(x, ref.mu[None, :], "x", "y")
    rng = resolve_rng(seed)
    n = x.shape[0]
    sizes = np.unique(np.linspace(max(2, int(min_fraction * n)), n, int(num_points)).astype(int))
    if sizes.size < 2:
        raise ValueError(f"x: too few rows ({n}) for an extrapolation over sample sizes")
    values = []
    for size in sizes:
        sub = x[rng.permutation(n)[:size]]
        values.append(ref.distance(sub.mean(0), np.atleast_2d(np.cov(sub, rowvar=False))))
    slope, intercept = np.polyfit(1.0 / sizes, np.asarray(values), 1)
    return {"fd_inf": float(intercept), "slope": float(slope), "sizes": sizes, "values": np.asarray(values)}
