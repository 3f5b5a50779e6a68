import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

from dyadbench.metrics import (
    FrechetReference,
    RunningStats,
    fd_infinity,
    frechet_bootstrap,
    frechet_distance,
    frechet_distance_from_features,
)


def sqrtm_reference(mu1, s1, mu2, s2):
    """The classic pytorch-fid formula, written independently here."""
    covmean = sla.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_spd(rng, d, n=None):
    x = rng.standard_normal((n or 3 * d, d)) @ rng.standard_normal((d, d)) * 0.3
    return np.atleast_2d(np.cov(x, rowvar=False))


@pytest.mark.parametrize("d", [1, 4, 32, 128])
def test_matches_sqrtm_route(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    ours = frechet_distance(mu1, s1, mu2, s2)
    ref = sqrtm_reference(mu1, s1, mu2, s2)
    assert ours == pytest.approx(ref, rel=1e-6)


def test_closed_form_diagonal_gaussians():
    # For commuting (diagonal) covariances: FD = |mu1-mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2.
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    mu1, mu2 = rng.standard_normal(16), rng.standard_normal(16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_closed_form_scaled_covariance():
    # Sigma2 = c^2 Sigma1 commute: tr sqrt(S1 S2) = c tr S1, so FD = (1 - c)^2 tr S1.
    rng = np.random.default_rng(1)
    s = random_spd(rng, 20)
    c = 1.7
    assert frechet_distance(np.zeros(20), s, np.zeros(20), c * c * s) == pytest.approx((1 - c) ** 2 * np.trace(s), rel=1e-9)


def test_singular_and_rank_deficient_covariances_stay_finite_and_correct():
    rng = np.random.default_rng(2)
    d = 64
    x = rng.standard_normal((10, d))  # n < d: rank 9
    y = rng.standard_normal((12, d))
    x[:, 5] = 3.0  # a constant feature
    value = frechet_distance_from_features(x, y)
    assert np.isfinite(value) and value >= 0
    # Independent check: sqrt of eigenvalues of S1 S2 via a brute-force SVD route.
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    u1, e1, _ = np.linalg.svd(s1)
    half = u1 @ np.diag(np.sqrt(np.clip(e1, 0, None))) @ u1.T
    u2, e2, _ = np.linalg.svd(s2)
    half2 = u2 @ np.diag(np.sqrt(np.clip(e2, 0, None))) @ u2.T
    tr = np.linalg.svd(half @ half2, compute_uv=False).sum()  # nuclear norm of S1^1/2 S2^1/2
    mu = x.mean(0) - y.mean(0)
    expected = mu @ mu + np.trace(s1) + np.trace(s2) - 2 * tr
    assert value == pytest.approx(expected, rel=1e-8)


def test_identical_sets_give_exact_zero_not_negative():
    x = np.random.default_rng(3).standard_normal((50, 30))
    assert frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance_from_features(x, x) >= 0.0


def test_identical_singular_sets_give_zero():
    # n < d with a wide spread of scales: small eigenvalues must not be lost to round-off.
    rng = np.random.default_rng(11)
    x = rng.standard_normal((40, 120)) * np.logspace(-3, 2, 120)
    assert frechet_distance_from_features(x, x) == pytest.approx(0.0, abs=1e-6 * np.trace(np.cov(x, rowvar=False)))


def test_reference_reuse_equals_direct():
    rng = np.random.default_rng(4)
    y = rng.standard_normal((200, 16))
    ref = FrechetReference.from_features(y)
    for _ in range(3):
        x = rng.standard_normal((100, 16)) + 0.3
        assert ref.distance(x.mean(0), np.cov(x, rowvar=False)) == pytest.approx(frechet_distance_from_features(x, y), rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 8))
def test_properties_symmetry_nonnegativity_permutation(seed, d):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3 * d + 5, d)) * rng.uniform(0.1, 3)
    y = rng.standard_normal((2 * d + 7, d)) + rng.uniform(-1, 1)
    fxy = frechet_distance_from_features(x, y)
    assert fxy >= 0
    assert fxy == pytest.approx(frechet_distance_from_features(y, x), rel=1e-6, abs=1e-9)
    assert fxy == pytest.approx(frechet_distance_from_features(rng.permutation(x), y), rel=1e-9, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), splits=st.lists(st.integers(0, 30), min_size=1, max_size=5))
def test_running_stats_merge_equals_one_pass(seed, splits):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((sum(splits) + 2, 5)) * 10 + 100  # offset tests numerical stability
    parts, start = [], 0
    for size in splits + [x.shape[0] - sum(splits)]:
        parts.append(RunningStats(5).update(x[start : start + size]))
        start += size
    merged = parts[0]
    for p in parts[1:]:
        merged.merge(p)
    assert merged.n == x.shape[0]
    np.testing.assert_allclose(merged.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(merged.cov, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-9)
    restored = RunningStats.from_state(merged.to_state())
    np.testing.assert_array_equal(restored.cov, merged.cov)


def test_bootstrap_interval_contains_value_and_shrinks_with_n():
    rng = np.random.default_rng(5)
    y = rng.standard_normal((400, 4))
    small = frechet_bootstrap(rng.standard_normal((50, 4)) + 0.5, y, n_resamples=100)
    large = frechet_bootstrap(rng.standard_normal((800, 4)) + 0.5, y, n_resamples=100)
    for res in (small, large):
        assert res["low"] <= res["value"] <= res["high"]
    assert (large["high"] - large["low"]) < (small["high"] - small["low"])


def test_bootstrap_interval_covers_estimate_when_resampling_inflates_fd():
    # d close to n: duplicated rows inflate every replicate far above the point estimate.
    rng = np.random.default_rng(7)
    d = 48
    x, y = rng.standard_normal((120, d)) + 0.2, rng.standard_normal((2000, d))
    res = frechet_bootstrap(x, y, n_resamples=60)
    assert res["bootstrap_bias"] > res["high"] - res["low"]  # the raw percentile interval would miss
    assert res["low"] <= res["value"] <= res["high"]
    # The width should match the real sampling spread of FD at this n (independent draws).
    draws = [frechet_distance_from_features(rng.standard_normal((120, d)) + 0.2, y) for _ in range(60)]
    assert 0.3 < (res["high"] - res["low"]) / (np.quantile(draws, 0.975) - np.quantile(draws, 0.025)) < 3.0


def test_fd_infinity_removes_small_sample_bias():
    # Same distribution: FD_N is biased upward by ~k/N; FD_inf extrapolates close to 0.
    rng = np.random.default_rng(6)
    d = 16
    x, y = rng.standard_normal((600, d)), rng.standard_normal((20000, d))
    fd_n = frechet_distance_from_features(x[:150], y)
    res = fd_infinity(x, y, num_points=10)
    assert abs(res["fd_inf"]) < 0.5 * fd_n
    assert res["slope"] > 0


def test_validation_names_arguments():
    with pytest.raises(ValueError, match="sigma1"):
        frechet_distance(np.zeros(3), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance_from_features(np.array([[np.nan, 1.0], [1.0, 2.0], [0, 0]]), np.ones((3, 2)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        frechet_distance_from_features(np.ones((1, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="not symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))


def test_group_bootstrap_is_wider_when_frames_within_a_group_are_correlated():
    rng = np.random.default_rng(8)
    # 12 clips of 50 frames: each clip sits at its own offset, so frames are not independent.
    offsets = rng.standard_normal((12, 1, 3))
    x = (offsets + 0.2 * rng.standard_normal((12, 50, 3))).reshape(-1, 3)
    groups = np.repeat(np.arange(12), 50)
    y = rng.standard_normal((3000, 3))
    by_frame = frechet_bootstrap(x, y, n_resamples=200)
    by_clip = frechet_bootstrap(x, y, n_resamples=200, groups=groups)
    assert by_clip["value"] == by_frame["value"]
    assert (by_clip["high"] - by_clip["low"]) > 2 * (by_frame["high"] - by_frame["low"])
    assert by_clip["unit"] == "groups" and by_clip["low"] <= by_clip["value"] <= by_clip["high"]


def test_group_bootstrap_weights_match_explicit_resample():
    # One resample drawn by hand equals the weighted-moment formula used inside.
    rng = np.random.default_rng(9)
    x = rng.standard_normal((30, 4))
    groups = np.repeat(np.arange(6), 5)
    chosen = np.array([0, 0, 3, 5, 5, 5])
    explicit = np.concatenate([x[groups == k] for k in chosen])
    ref = FrechetReference.from_features(rng.standard_normal((200, 4)))
    w = np.bincount(chosen, minlength=6).astype(float)
    xc = x - x.mean(0)
    sums = np.stack([xc[groups == k].sum(0) for k in range(6)])
    seconds = np.stack([xc[groups == k].T @ xc[groups == k] for k in range(6)])
    n = w @ np.full(6, 5.0)
    mean_c = w @ sums / n
    cov = (np.tensordot(w, seconds, axes=1) - n * np.outer(mean_c, mean_c)) / (n - 1)
    assert ref.distance(mean_c + x.mean(0), cov) == pytest.approx(
        ref.distance(explicit.mean(0), np.cov(explicit, rowvar=False)), rel=1e-10)


def graded_covariance(rng, d, decades):
    """A random rotation of eigenvalues spread over ``decades`` orders of magnitude: full rank,
    Cholesky succeeds, but Σ₁Σ₂ has eigenvalues below the rank tolerance (as Inception features do)."""
    u, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = (u * np.logspace(0, -decades, d)) @ u.T
    return 0.5 * (s + s.T)


def nuclear_norm_route(mu1, s1, mu2, s2):
    """tr((Σ₁Σ₂)^½) = ‖L₁ᵀL₂‖_* (Σᵢ = LᵢLᵢᵀ): singular values from a full SVD, accurate at their own scale."""
    l1, l2 = np.linalg.cholesky(s1), np.linalg.cholesky(s2)
    tr = np.linalg.svd(l1.T @ l2, compute_uv=False).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr)


def test_block_inverse_iteration_finds_the_smallest_singular_values_of_the_factor_product():
    from dyadbench.metrics._frechet_linalg import _smallest_singular_values

    rng = np.random.default_rng(7)
    low, low_other = (np.linalg.cholesky(graded_covariance(rng, 96, 11)) for _ in range(2))
    b = low_other.T @ low
    expected = np.sort(np.linalg.svd(b, compute_uv=False))[:4]
    got = _smallest_singular_values(low, low_other, 4, change_tol=1e-16)
    assert got is not None
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13 * np.linalg.norm(b, 2))
    assert np.all(got > 0) and np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("decades", [10, 12])
def test_ill_conditioned_fd_is_refined_by_inverse_iteration_and_equals_the_nuclear_norm_route(decades, monkeypatch):
    import dyadbench.metrics._frechet_linalg as frechet

    rng = np.random.default_rng(decades)
    d = 64
    s1, s2 = graded_covariance(rng, d, decades), graded_covariance(rng, d, decades)
    mu1, mu2 = np.zeros(d), np.full(d, 1e-3)
    calls = []
    real = frechet._smallest_singular_values
    monkeypatch.setattr(frechet, "_smallest_singular_values", lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    value = frechet_distance(mu1, s1, mu2, s2)
    assert len(calls) == 1 and calls[0] is not None  # refined, through the triangular factors
    assert value == pytest.approx(nuclear_norm_route(mu1, s1, mu2, s2), rel=1e-12)


def test_refinement_falls_back_to_eigenvectors_when_inverse_iteration_does_not_converge(monkeypatch):
    import dyadbench.metrics._frechet_linalg as frechet

    rng = np.random.default_rng(3)
    s1, s2 = graded_covariance(rng, 64, 12), graded_covariance(rng, 64, 12)
    mu1, mu2 = np.zeros(64), np.full(64, 1e-3)
    monkeypatch.setattr(frechet, "_INVERSE_ITERATIONS", 1)  # one step cannot show convergence
    assert frechet._smallest_singular_values(np.linalg.cholesky(s2), np.linalg.cholesky(s1), 3, 0.0) is None
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(nuclear_norm_route(mu1, s1, mu2, s2), rel=1e-12)


def test_asymmetric_covariance_is_refused_whatever_block_holds_the_asymmetry():
    rng = np.random.default_rng(5)
    s = random_spd(rng, 300)
    for i, j in ((0, 1), (299, 3), (10, 290)):
        bad = s.copy()
        bad[i, j] += 1.0
        with pytest.raises(ValueError, match="sigma1: is not symmetric"):
            frechet_distance(np.zeros(300), bad, np.zeros(300), s)
