"""The random-pair diversity's bootstrap: pairs reweighted by their items' resample counts
(``metrics.bootstrap.pair_replicates``) instead of recomputing the diversity on every resampled set."""

import numpy as np
import pytest

from dyadbench.metrics import motion as MM
from dyadbench.metrics.aggregate import recentred
from dyadbench.metrics.bootstrap import pair_replicates


def _items(seed, n_items=40, frames=120, d=12):
    rng = np.random.default_rng(seed)
    gens = [rng.normal(size=(1, frames, d)) * rng.uniform(0.5, 2.0) + rng.normal(scale=0.7, size=d) for _ in range(n_items)]
    valid = [rng.uniform(size=frames) < 0.9 for _ in range(n_items)]
    return gens, valid, np.zeros(d), np.full(d, 1.3)


def test_pair_terms_are_the_pairs_diversity_averages():
    gens, valid, mean, std = _items(0)
    d, ia, ib = MM.diversity_terms(gens, valid, mean, std)
    assert d.mean() == MM.diversity_set(gens, valid, mean, std)  # the same numbers, bit for bit
    # Each pair's ends are valid frames of the items it names: its distance is one of theirs.
    for k in range(0, len(d), 997):
        a = gens[ia[k]][0][valid[ia[k]]] / std
        b = gens[ib[k]][0][valid[ib[k]]] / std
        dist = np.linalg.norm(a[:, None] - b[None], axis=-1)
        assert np.isclose(dist, d[k], rtol=1e-12, atol=0).any()


def test_replicates_are_pair_means_weighted_by_item_counts():
    """One replicate written out: w = items' multinomial counts, c = pairs' counts (same draws)."""
    d = np.array([1.0, 2.0, 4.0, 8.0])
    ia, ib = np.array([0, 0, 1, 2]), np.array([1, 2, 2, 2])
    rng = np.random.default_rng(5)
    w = np.bincount(rng.integers(0, 3, 3), minlength=3)
    c = np.bincount(rng.integers(0, 4, 4), minlength=4)
    weights = [c[k] * w[ia[k]] * w[ib[k]] for k in range(4)]
    expected = sum(wk * dk for wk, dk in zip(weights, d)) / sum(weights) if sum(weights) else np.nan
    got = pair_replicates(d, ia, ib, 3, 1, 5)[0]
    assert got == pytest.approx(expected, rel=1e-15) or (np.isnan(got) and np.isnan(expected))


def test_pair_replicates_spread_like_the_recomputed_item_bootstrap():
    """The claim the shortcut rests on: on the same items its replicates spread as the plain item
    bootstrap's do (which recomputes the diversity on each resampled set; ~40x slower)."""
    gens, valid, mean, std = _items(1)
    value = MM.diversity_set(gens, valid, mean, std)
    fast = pair_replicates(*MM.diversity_terms(gens, valid, mean, std), len(gens), 300, 0)
    rng = np.random.default_rng(0)
    slow = []
    for _ in range(300):
        pick = rng.integers(0, len(gens), len(gens))
        slow.append(MM.diversity_set([gens[i] for i in pick], [valid[i] for i in pick], mean, std))
    assert np.std(fast) == pytest.approx(np.std(slow), rel=0.2)
    lo, hi, _ = recentred(fast, value, 0.95)
    assert lo < value < hi
    lo_s, hi_s, _ = recentred(np.array(slow), value, 0.95)
    assert hi - lo == pytest.approx(hi_s - lo_s, rel=0.25)


def test_no_item_drawn_gives_no_replicate_rather_than_a_number():
    reps = pair_replicates(np.array([1.0]), np.array([0]), np.array([1]), 2, 50, 0)
    drawn_both = np.isfinite(reps)
    assert drawn_both.any() and not drawn_both.all()  # a resample without item 0 or 1 has no pair
    assert np.all(reps[drawn_both] == 1.0)
