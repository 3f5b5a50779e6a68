import numpy as np
import pytest

from dyadbench.metrics import fd_kinetic, frechet_distance_from_features, paired_fd, si_diversity
from dyadbench.metrics.gesture import beat_consistency, kinematic_beats, random_pair_diversity
from dyadbench.metrics.listener import (
    ccc,
    dtw_distance,
    fr_corr,
    fr_dist,
    fr_div,
    fr_dvs,
    fr_syn,
    fr_var,
    l2_error,
    mse,
    temporal_variance,
)


def dtw_brute(a, b):
    """Textbook O(nm) recursion with explicit loops (tslearn convention)."""
    n, m = len(a), len(b)
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = np.sum((a[i - 1] - b[j - 1]) ** 2)
            acc[i, j] = c + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return np.sqrt(acc[n, m])


def test_dtw_matches_brute_force():
    rng = np.random.default_rng(0)
    for n, m in [(1, 1), (5, 9), (17, 12)]:
        a, b = rng.standard_normal((n, 3)), rng.standard_normal((m, 3))
        assert dtw_distance(a, b) == pytest.approx(dtw_brute(a, b), rel=1e-12)
    x = rng.standard_normal((10, 2))
    assert dtw_distance(x, np.repeat(x, 2, axis=0)) == pytest.approx(0.0)  # time-warp invariant


def test_batched_dtw_equals_the_brute_force_pair_by_pair_across_batches():
    from dyadbench.metrics.listener import DTW_BATCH, dtw_distances

    rng = np.random.default_rng(1)
    s = DTW_BATCH + 3  # more pairs than one recursion takes: split in batches, results in order
    a, b = rng.standard_normal((s, 7, 2)), rng.standard_normal((s, 5, 2))
    got = dtw_distances(a, b)
    assert got.shape == (s,)
    assert got == pytest.approx([dtw_brute(a[k], b[k]) for k in range(s)], rel=1e-12)


def test_ccc_against_formula_and_perfect_agreement():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((100, 3)), rng.standard_normal((100, 3))
    for d in range(3):
        a, b = x[:, d], y[:, d]
        expected = 2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
        assert ccc(x, y)[d] == pytest.approx(expected)
    np.testing.assert_allclose(ccc(x, x), 1.0)
    assert ccc(x, x + 1.0).max() < 1.0  # a shift is penalised, unlike Pearson


def test_l2_and_mse_conventions():
    p = np.zeros((2, 40, 4))
    g = np.full((2, 40, 4), 1.0)
    assert l2_error(p, g) == pytest.approx(2.0)  # ||(1,1,1,1)|| = 2
    assert mse(p, g) == pytest.approx(1.0)
    g2 = g.copy()
    g2[:, :32] = 100.0
    assert l2_error(p, g2, skip_frames=32) == pytest.approx(2.0)


def test_variance_and_si_diversity():
    rng = np.random.default_rng(2)
    m = rng.standard_normal((3, 500, 4)) * 2
    assert temporal_variance(m) == pytest.approx(4.0, rel=0.1)
    assert temporal_variance(m, reduce_dims="sum") == pytest.approx(16.0, rel=0.1)
    gt = rng.standard_normal((2000, 2))
    # the registered metric (clusters fitted on the ground truth), through the engine
    assert si_diversity(generated=[np.zeros((2000, 2))], reference=[gt], si_clusters=8).value == pytest.approx(0.0)
    spread = si_diversity(generated=[gt], reference=[gt], si_clusters=8).value
    assert 2.0 < spread <= 3.0  # at most log2(8)


def test_paired_fd_is_fd_on_concatenation_and_rewards_coupling():
    rng = np.random.default_rng(3)
    s = rng.standard_normal((400, 3))
    listener = s + 0.1 * rng.standard_normal((400, 3))  # reacts to the speaker
    expected = frechet_distance_from_features(np.hstack([s, listener]), np.hstack([s, listener]))
    assert paired_fd(generated=[listener], reference=[listener], partner=[s]).value == pytest.approx(expected, abs=1e-9)
    shuffled = listener[rng.permutation(400)]  # same marginal, coupling destroyed
    assert paired_fd(generated=[shuffled], reference=[listener], partner=[s]).value > 1.0


def test_react_metrics_against_brute_force():
    rng = np.random.default_rng(4)
    S, M, T, D = 3, 4, 12, 25
    preds = rng.standard_normal((S, M, T, D))
    neighbours = [rng.standard_normal((2, T, D)) for _ in range(S)]
    # FRDiv: explicit double loop over pairs.
    exp_div = np.mean([
        sum(np.sum((preds[s, i] - preds[s, j]) ** 2) for i in range(M) for j in range(M) if i != j) / (M * (M - 1) * T * D)
        for s in range(S)
    ])
    assert fr_div(preds) == pytest.approx(exp_div)
    exp_dvs = np.mean([
        sum(np.sum((preds[a, k] - preds[b, k]) ** 2) for a in range(S) for b in range(S) if a != b) / (S * (S - 1) * T * D)
        for k in range(M)
    ])
    assert fr_dvs(preds) == pytest.approx(exp_dvs)
    # REACT FRVar: torch.var, unbiased (T − 1)
    assert fr_var(preds) == pytest.approx(np.mean([preds[s, m, :, d].var(ddof=1) for s in range(S) for m in range(M) for d in range(D)]))
    # FRCorr with a neighbour equal to a prediction: that sample scores CCC = 1.
    neighbours[0][0] = preds[0, 0]
    exp_corr = np.mean([
        np.mean([max(ccc(preds[s, m], nb).mean() for nb in neighbours[s]) for m in range(M)]) for s in range(S)
    ])
    assert fr_corr(preds, neighbours) == pytest.approx(exp_corr)
    groups_w = [(slice(0, 15), 1 / 15), (slice(15, 17), 1.0), (slice(17, 25), 1 / 8)]
    exp_dist = np.mean([
        sum(min(sum(w * dtw_brute(preds[s, m][:, g], nb[:, g]) for g, w in groups_w) for nb in neighbours[s]) for m in range(M))
        for s in range(S)
    ])
    assert fr_dist(preds, neighbours) == pytest.approx(exp_dist)


def test_fr_syn_finds_known_lag_for_every_sample():
    rng = np.random.default_rng(5)
    T, lag = 200, 6
    speaker = rng.standard_normal((1, T + lag, 2))
    # Listener follows the speaker `lag` frames later, in every sample.
    preds = np.stack([speaker[:, :T]] * 3, axis=1)
    speaker_now = speaker[:, lag : lag + T]
    assert fr_syn(speaker_now, preds, max_lag=20) == pytest.approx(lag)


def test_kinetic_fd_and_diversity():
    rng = np.random.default_rng(6)
    gen = np.cumsum(rng.standard_normal((4, 100, 3)), axis=1)
    assert fd_kinetic(generated=list(gen), reference=list(gen)).value == pytest.approx(0.0, abs=1e-9)
    assert fd_kinetic(generated=list(gen * 2), reference=list(gen)).value > 1.0
    f = rng.standard_normal((5000, 3))
    # E|x - y| for independent N(0, I_3) pairs: 2 * Gamma(2)/Gamma(1.5) = 4/sqrt(pi).
    assert random_pair_diversity(f, n_pairs=20000) == pytest.approx(4 / np.sqrt(np.pi), rel=0.03)


def test_beat_consistency_and_kinematic_beats():
    fps = 30
    t = np.arange(300) / fps
    # Speed |sin(pi t)| has minima at integer seconds.
    pos = np.cumsum(np.abs(np.sin(np.pi * t)))[:, None] / fps
    beats = kinematic_beats(pos, fps=fps)
    assert np.allclose(beats, np.round(beats), atol=2 / fps)
    assert beat_consistency(beats, np.round(beats)) > 0.9
    assert beat_consistency(beats, np.round(beats) + 0.5) < 0.01
    assert beat_consistency([1.0], [1.1], sigma=0.1) == pytest.approx(np.exp(-0.5))
    with pytest.raises(ValueError, match="at least one beat"):
        beat_consistency([], [1.0])


@pytest.mark.parametrize("samples,pairs,standardize", [("first", "distinct", True), ("first", "distinct", False),
                                                        ("all", "audio2photoreal", False), ("all", "distinct", True)])
def test_diversity_set_gathers_the_rows_pooling_would_pair(samples, pairs, standardize):
    """diversity_set never builds the pool: equal to pooling every valid frame (items in order,
    samples then frames), standardizing, and drawing the same pairs."""
    from dyadbench.metrics.gesture import random_pair_diversity
    from dyadbench.metrics.motion import diversity_set

    rng = np.random.default_rng(7)
    gen = [rng.normal(i, 1 + i, (3, n, 5)) for i, n in enumerate((400, 900, 1300, 50))]
    valid = [rng.random(g.shape[1]) > 0.2 for g in gen]
    mean, std = rng.normal(0, 1, 5), rng.uniform(0.5, 2, 5)
    pool = np.concatenate([(g[:1] if samples == "first" else g)[:, v].reshape(-1, 5) for g, v in zip(gen, valid)])
    pool = (pool - mean) / std if standardize else pool
    want = random_pair_diversity(pool, n_pairs=2000, seed=3, pairs=pairs)
    got = diversity_set(gen, valid, mean, std, n_pairs=2000, seed=3, standardize=standardize, samples=samples, pairs=pairs)
    assert got == pytest.approx(want, rel=1e-12)
