import numpy as np
import pytest

from dyadbench.metrics.retrieval import median_rank, mrr
from dyadbench.metrics import (
    chance_recall_at_k,
    offset_distances,
    perceptual_l2_per_clip,
    perceptual_l2_per_frame,
    recall_at_k,
    retrieval_ranks,
    sync_confidence,
    sync_scores,
)


def brute_force_ranks(scores, gt):
    """Rank by explicit loop: position of gt when every tie is placed before it."""
    out = []
    for q in range(scores.shape[0]):
        s = scores[q, gt[q]]
        out.append(1 + sum(1 for j in range(scores.shape[1]) if j != gt[q] and scores[q, j] >= s))
    return np.array(out)


def test_ranks_match_brute_force_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, (40, 30)).astype(float)  # many ties
    gt = rng.integers(0, 30, 40)
    np.testing.assert_array_equal(retrieval_ranks(scores, gt), brute_force_ranks(scores, gt))


def test_constant_scores_rank_last_not_first():
    ranks = retrieval_ranks(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert (ranks == 10).all()


def test_random_scores_reproduce_published_chance_row():
    # RealTalk protocol: 407 eval queries, bank of 1,896; average over seeds.
    r500, r1000, med = [], [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        ranks = retrieval_ranks(rng.random((407, 1896)), rng.integers(0, 1896, 407))
        r500.append(recall_at_k(ranks, 500))
        r1000.append(recall_at_k(ranks, 1000))
        med.append(median_rank(ranks))
    assert np.mean(r500) == pytest.approx(chance_recall_at_k(500, 1896), abs=0.01)
    assert np.mean(r500) == pytest.approx(0.26, abs=0.01)
    assert np.mean(r1000) == pytest.approx(0.52, abs=0.015)
    assert np.mean(med) == pytest.approx(948, abs=25)


def test_perfect_scores_and_mrr():
    scores = np.eye(5)
    ranks = retrieval_ranks(scores, np.arange(5))
    assert (ranks == 1).all() and mrr(ranks) == 1.0 and recall_at_k(ranks, 1) == 1.0


def test_retrieval_validation():
    with pytest.raises(ValueError, match="gt_index"):
        retrieval_ranks(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="scores"):
        retrieval_ranks(np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(ValueError, match="ranks"):
        recall_at_k(np.array([0, 1]), 1)


def make_shifted_pair(shift, n=200, d=16, seed=0):
    """Audio embedding of frame t sits at t + shift (audio lags video)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n + 40, d))
    video = base[20 : 20 + n]
    audio = base[20 - shift : 20 - shift + n] + 0.05 * rng.standard_normal((n, d))
    return video, audio


@pytest.mark.parametrize("shift", [-7, 0, 3, 12])
def test_offset_search_recovers_known_shift(shift):
    video, audio = make_shifted_pair(shift)
    res = sync_confidence(video, audio, max_offset=15)
    assert res["offset"] == shift
    assert res["sync_c"] > 1.0  # a sharp minimum


def test_zero_pad_convention_matches_syncnet_python_loop():
    video, audio = make_shifted_pair(2, n=60)
    k = 15
    padded = np.vstack([np.zeros((k, 16)), audio, np.zeros((k, 16))])
    loop = np.array([[np.linalg.norm(video[i] - padded[i + j]) for j in range(2 * k + 1)] for i in range(60)]).mean(0)
    np.testing.assert_allclose(offset_distances(video, audio, edge="zero_pad"), loop, rtol=1e-12)


def test_sync_scores_definition():
    d = np.array([5.0, 4.0, 1.0, 4.5, 6.0])
    res = sync_scores(d)
    assert res == {"sync_d": 1.0, "sync_c": 4.5 - 1.0, "offset": 0}


def test_perceptual_l2_skips_missing_faces():
    p = np.array([[0.0, 0.0], [np.nan, np.nan], [3.0, 4.0]])
    g = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(perceptual_l2_per_frame(p, g), [1.0, np.nan, 5.0])
    assert perceptual_l2_per_clip(p, g) == {"value": 3.0, "valid_frames": 2, "total_frames": 3}
    with pytest.raises(ValueError, match="partly NaN"):
        perceptual_l2_per_frame(np.array([[np.nan, 0.0]]), np.array([[0.0, 0.0]]))
