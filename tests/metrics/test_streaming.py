"""Streaming building blocks: additive sums equal the pooled computation; Poisson replicates and
frame samples do not depend on the order or partition in which items arrive."""

import numpy as np
import pytest

from dyadbench.metrics import motion as MM
from dyadbench.metrics.frechet import frechet_distance_from_features
from dyadbench.metrics.streaming import (
    FrameSample,
    ReplicateSums,
    bottom_k,
    frame_priorities,
    gaussian_from_sums,
    gaussian_sums,
    poisson_weights,
)


def test_gaussian_sums_recover_mean_and_covariance_without_cancellation():
    rng = np.random.default_rng(0)
    x = 1e4 + rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))  # a large offset: naive Σxxᵀ would lose ~8 digits
    n, mean, cov = gaussian_from_sums(gaussian_sums(x[:200], x.mean(0)) + gaussian_sums(x[200:], x.mean(0)), x.mean(0))
    assert n == 500
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-13)
    np.testing.assert_allclose(cov, np.cov(x.T), rtol=1e-9, atol=1e-12)


def test_fd_from_item_sums_equals_fd_of_pooled_frames():
    rng = np.random.default_rng(1)
    gen = [rng.normal(size=(1, n, 5)) + 0.3 for n in (40, 55, 31)]
    ref = [rng.normal(size=(n, 5)) for n in (40, 55, 31)]
    valid = [rng.random(len(r)) > 0.2 for r in ref]
    pooled_gen = np.concatenate([g[0][v] for g, v in zip(gen, valid)])
    pooled_ref = np.concatenate([r[v] for r, v in zip(ref, valid)])
    want = frechet_distance_from_features(pooled_gen, pooled_ref)
    assert MM.fd_set(gen, ref, valid) == pytest.approx(want, rel=1e-10)
    shift = rng.normal(size=5)  # any shift gives the same distance
    stats = sum(MM.fd_item_stats(g, r, v, shift) for g, r, v in zip(gen, ref, valid))
    assert MM.fd_finish(stats, shift) == pytest.approx(want, rel=1e-10)


def test_poisson_replicates_do_not_depend_on_arrival_order():
    rng = np.random.default_rng(2)
    ids = [f"item{i}" for i in range(70)]
    stats = {i: rng.normal(size=4) for i in ids}
    a, b = ReplicateSums(4, 50, seed=3, batch=8), ReplicateSums(4, 50, seed=3, batch=5)
    for i in ids:
        a.add(i, stats[i])
    for i in rng.permutation(ids):
        b.add(str(i), stats[str(i)])
    np.testing.assert_allclose(a.replicate_sums(), b.replicate_sums(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.total, sum(stats.values()), rtol=1e-12)
    # replicate b is Σ w_ib t_i with the item's own weights, whatever else is in the group
    w = np.stack([poisson_weights(i, 3, 50) for i in ids], axis=1)
    np.testing.assert_allclose(a.replicate_sums(), w @ np.stack([stats[i] for i in ids]), rtol=1e-12, atol=1e-12)
    assert not np.array_equal(poisson_weights("item0", 3, 50), poisson_weights("item0", 4, 50))  # the seed matters


def test_a_small_group_keeps_items_not_replicates():
    acc = ReplicateSums(1000, 200, seed=0)
    for i in range(10):
        acc.add(f"i{i}", np.ones(1000))
    assert acc._replicates is None  # 10 vectors held, not 200
    assert acc.replicate_sums().shape == (200, 1000) and acc._replicates is None


def test_frame_sample_is_the_global_bottom_k_for_any_order_and_partition():
    rng = np.random.default_rng(4)
    lengths = {f"clip{i}": int(n) for i, n in enumerate(rng.integers(5, 60, 12))}
    rows = {i: rng.normal(size=(n, 3)) for i, n in lengths.items()}

    def sampled(order, per_item_k):
        s = FrameSample(40)
        for i in order:
            pri = frame_priorities(i, 7, lengths[i])
            keep = bottom_k(pri, per_item_k)
            s.add(i, pri[keep], {"x": rows[i][keep]}, lengths[i])
        return s

    a, b = sampled(list(lengths), 40), sampled(list(rng.permutation(list(lengths))), 1000)
    np.testing.assert_array_equal(a.priorities, b.priorities)
    np.testing.assert_array_equal(a.rows["x"], b.rows["x"])
    assert a.frames_seen == b.frames_seen == sum(lengths.values())
    every = np.concatenate([frame_priorities(i, 7, n) for i, n in lengths.items()])
    np.testing.assert_array_equal(a.priorities, np.sort(every)[:40])
