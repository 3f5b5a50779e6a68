r"""Statistics of two-alternative forced-choice (2AFC) human studies.

Each judgement is 1 when system A was preferred, 0 when B was. With k preferences for A out of n:

* preference rate p̂ = k / n;
* exact two-sided binomial test of H₀: p = p₀ (default ½): the P-value sums P(X = i) over every
  outcome i with P(X = i) ≤ P(X = k)·(1 + 10⁻⁷) (the "minimum likelihood" rule of R's binom.test
  and SciPy's ``binomtest``);
* Wilson score interval (Wilson 1927), with z = Φ⁻¹(1 − α/2):
  (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n);
* agreement: Fleiss' κ (Fleiss 1971) over items × categories count tables, and Krippendorff's α
  for nominal data with missing ratings (Krippendorff 2011): α = 1 − D_o / D_e from the
  coincidence matrix.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_probability

__all__ = [
    "binomial_test",
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "preference_by_group",
    "preference_summary",
    "wilson_interval",
]


def _choices(choices) -> np.ndarray:
    c = np.asarray(choices)
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"choices: expected a non-empty 1-d array of 0/1 judgements, got shape {c.shape}")
    if not np.isin(c, (0, 1)).all():
        raise ValueError("choices: every judgement must be 0 (B preferred) or 1 (A preferred)")
    return c.astype(np.int64)


def _counts(k: int, n: int) -> tuple[int, int]:
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"k, n: expected 0 <= k <= n and n >= 1, got k={k}, n={n}")
    return k, n


def binomial_test(k: int, n: int, p: float = 0.5) -> float:
    """Exact two-sided binomial test P-value (minimum-likelihood rule)."""
    k, n = _counts(k, n)
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p}")
    from scipy import stats  # here, not at import: scipy.stats takes ~1 s to import

    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    return float(min(1.0, pmf[pmf <= pmf[k] * (1.0 + 1e-7)].sum()))


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    k, n = _counts(k, n)
    from scipy import stats

    z = stats.norm.ppf(1.0 - (1.0 - check_probability(confidence, "confidence")) / 2.0)
    phat = k / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    # At k = 0 (k = n) the exact lower (upper) end is 0 (1); in floating point centre − half came
    # out as 6e-17 (and 1 − 1e-16 at k = n): an interval that excluded its own estimate.
    low = 0.0 if k == 0 else min(phat, max(0.0, centre - half))
    high = 1.0 if k == n else max(phat, min(1.0, centre + half))
    return float(low), float(high)


def preference_summary(choices, *, confidence: float = 0.95, p0: float = 0.5) -> dict:
    """k, n, preference rate for A, Wilson interval and exact binomial P-value."""
    c = _choices(choices)
    k, n = int(c.sum()), int(c.size)
    low, high = wilson_interval(k, n, confidence)
    return {"k": k, "n": n, "rate": k / n, "low": low, "high": high, "p_value": binomial_test(k, n, p0)}


def preference_by_group(choices, groups, *, confidence: float = 0.95) -> dict:
    """``preference_summary`` per group label (per rater, per item, per speaker, ...)."""
    c = _choices(choices)
    g = np.asarray(groups)
    if g.shape != c.shape:
        raise ValueError(f"groups: expected one label per judgement ({c.shape}), got shape {g.shape}")
    return {label.item() if hasattr(label, "item") else label: preference_summary(c[g == label], confidence=confidence)
            for label in np.unique(g)}


def fleiss_kappa(counts) -> float:
    """Fleiss' κ from an (items, categories) table of how many raters chose each category.

    Every item must have the same number of raters m ≥ 2. κ = (P̄ − P̄_e) / (1 − P̄_e), with
    P_i = (Σ_j n_ij² − m) / (m(m − 1)), P̄ their mean and P̄_e = Σ_j p_j², p_j = Σ_i n_ij / (N m).
    """
    t = np.asarray(counts, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 2:
        raise ValueError(f"counts: expected (items, categories>=2) counts, got shape {t.shape}")
    if (t < 0).any() or not np.allclose(t, np.round(t)):
        raise ValueError("counts: expected non-negative integer counts")
    m = t.sum(axis=1)
    if not np.all(m == m[0]) or m[0] < 2:
        raise ValueError(f"counts: every item needs the same number (>= 2) of raters, got {np.unique(m).tolist()}")
    m = m[0]
    p_i = ((t * t).sum(axis=1) - m) / (m * (m - 1))
    p_j = t.sum(axis=0) / t.sum()
    p_bar, p_e = p_i.mean(), float((p_j * p_j).sum())
    if np.isclose(p_e, 1.0):
        raise ValueError("counts: every rating falls in one category; kappa is undefined")
    return float((p_bar - p_e) / (1.0 - p_e))


def krippendorff_alpha_nominal(ratings) -> float:
    """Krippendorff's α (nominal) from a (raters, items) array; NaN marks a missing rating.

    Items with fewer than two ratings are not pairable and are ignored.
    """
    r = np.asarray(ratings, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"ratings: expected (raters, items), got shape {r.shape}")
    values = np.unique(r[~np.isnan(r)])
    if values.size < 2:
        raise ValueError("ratings: need at least two distinct values for alpha")
    index = {v: i for i, v in enumerate(values)}
    coincidence = np.zeros((values.size, values.size))
    for item in r.T:
        present = item[~np.isnan(item)]
        m_u = present.size
        if m_u < 2:
            continue
        codes = np.array([index[v] for v in present])
        counts = np.bincount(codes, minlength=values.size).astype(np.float64)
        # Ordered pairs of different raters: n_c n_k for c != k, n_c (n_c - 1) on the diagonal.
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (m_u - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n == 0:
        raise ValueError("ratings: no item has two or more ratings")
    observed = coincidence.sum() - np.trace(coincidence)
    expected = (n * n - (n_c * n_c).sum()) / (n - 1)
    return float(1.0 - observed / expected)
