"""Audio2Photoreal's ``utils/eval.py`` (facebookresearch/audio2photoreal @ 449761e), re-derived.

Its ``main()`` reshapes the predictions to (samples, clips, dims, frames) and the ground truth the
same way (the ground truth is stored once per sample), then: ``cross var`` = np.var over the
samples axis, mean; ``var_k`` = np.var over frames, mean; ``fid_g`` = FD (np.cov, scipy sqrtm) of
every frame of every sample against every ground-truth frame; ``fid_k`` = the same on
``x[..., 1:] - x[..., :-1]``, plain frame differences within each clip (no fps factor).
"""

import numpy as np
import pytest
import scipy.linalg

from dyadbench.metrics.registry import ItemSet, score


def a2p_fd(gt_rows, pred_rows):
    """calculate_activation_statistics + calculate_frechet_distance, argument order as main() calls it."""
    mu1, s1 = gt_rows.mean(0), np.cov(gt_rows, rowvar=False)
    mu2, s2 = pred_rows.mean(0), np.cov(pred_rows, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1.dot(s2)).real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def a2p_layout(samples=3, clips=4, frames=50, dims=5, seed=0):
    """Predictions and ground truth as main() holds them: (samples, clips, dims, frames)."""
    rng = np.random.default_rng(seed)
    gt = np.cumsum(rng.normal(size=(clips, dims, frames)), axis=-1) * rng.uniform(0.5, 2, (1, dims, 1))
    pred = 0.7 * gt[None] + np.cumsum(rng.normal(0, 0.6, (samples, clips, dims, frames)), axis=-1)
    return pred, np.broadcast_to(gt, pred.shape)


def as_items(pred, gt):
    """The same arrays as dyadbench items: generated (M, N, D), reference (N, D), all frames valid."""
    m, c, d, t = pred.shape
    gen = [pred[:, i].transpose(0, 2, 1) for i in range(c)]
    ref = [gt[0, i].T for i in range(c)]
    return ItemSet([f"clip{i}" for i in range(c)],
                   {"generated": gen, "reference": ref, "valid": [np.ones(t, bool)] * c,
                    "reference_samples": [r[None] for r in ref]},
                   {"mean": np.zeros(d), "std": np.ones(d), "fps": 30.0})


def rows(x):
    """main()'s ``transpose((0, 1, 3, 2)).reshape(-1, dims)``."""
    return x.transpose((0, 1, 3, 2)).reshape(-1, x.shape[2])


def test_fid_k_takes_plain_frame_differences_of_every_sample():
    pred, gt = a2p_layout()
    want = a2p_fd(rows(gt[..., 1:] - gt[..., :-1]), rows(pred[..., 1:] - pred[..., :-1]))
    got = score("fd_kinetic", as_items(pred, gt), convention="audio2photoreal", n_boot=0)[0]
    assert got.value == pytest.approx(want, rel=1e-9)
    assert "audio2photoreal" in got.reference_code


def test_default_fd_kinetic_is_per_second_and_exactly_fps_squared_times_a2p_for_one_sample():
    pred, gt = a2p_layout(samples=1)
    data = as_items(pred, gt)
    a2p = a2p_fd(rows(gt[..., 1:] - gt[..., :-1]), rows(pred[..., 1:] - pred[..., :-1]))
    per_second = score("fd_kinetic", data, n_boot=0)[0]
    assert per_second.convention == "pooled"
    assert per_second.value == pytest.approx(900 * a2p, rel=1e-9)  # 30 Hz: (frame differences × 30)²
    assert "audio2photoreal" not in per_second.reference_code  # it does not claim to be A2P's number


def test_fid_g_pools_every_sample_against_the_ground_truth_repeated():
    pred, gt = a2p_layout()
    want = a2p_fd(rows(gt), rows(pred))
    data = as_items(pred, gt)
    assert score("fgd", data, convention="audio2photoreal", n_boot=0)[0].value == pytest.approx(want, rel=1e-9)
    # the one-sample form scores sample 0 only, and equals A2P on a one-sample submission
    first = score("fgd", data, n_boot=0)[0].value
    assert first == pytest.approx(a2p_fd(rows(gt[:1]), rows(pred[:1])), rel=1e-9)
    assert abs(first - want) > 1e-3 * want


def test_cross_sample_variance_and_var_k():
    pred, gt = a2p_layout()
    data = as_items(pred, gt)
    cross = np.var(pred.reshape((pred.shape[0], -1)), axis=0).mean()
    assert score("cross_sample_variance", data, n_boot=0)[0].value == pytest.approx(cross, rel=1e-12)
    var_k = np.var(pred, axis=-1).mean()
    assert score("variance", data, convention="audio2photoreal", n_boot=0)[0].value == pytest.approx(var_k, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 samples"):
        score("cross_sample_variance", as_items(pred[:1], gt[:1]), n_boot=0)


def test_a2p_conventions_respect_invalid_frames_and_have_intervals():
    pred, gt = a2p_layout(clips=12, frames=40)
    data = as_items(pred, gt)
    data.items["valid"] = [np.r_[np.ones(30, bool), np.zeros(10, bool)]] * 12
    cut = pred[..., :30], gt[..., :30]
    want = a2p_fd(rows(cut[1][..., 1:] - cut[1][..., :-1]), rows(cut[0][..., 1:] - cut[0][..., :-1]))
    res = score("fd_kinetic", data, convention="audio2photoreal", n_boot=50)[0]
    assert res.value == pytest.approx(want, rel=1e-9)
    assert res.low is not None and res.high > res.low


def test_public_function_is_the_registered_convention_through_the_engine():
    from dyadbench.metrics import fd_kinetic

    pred, gt = a2p_layout(samples=3, clips=12)
    data = as_items(pred, gt)
    a2p = a2p_fd(rows(gt[..., 1:] - gt[..., :-1]), rows(pred[..., 1:] - pred[..., :-1]))
    got = fd_kinetic(generated=data.items["generated"], reference=data.items["reference"], ids=data.ids,
                     convention="audio2photoreal", n_boot=50)
    want = score("fd_kinetic", data, convention="audio2photoreal", n_boot=50)[0]
    assert got.value == pytest.approx(a2p, rel=1e-9)
    assert (got.value, got.low, got.high) == (want.value, want.low, want.high)
    per_second = fd_kinetic(generated=data.items["generated"], reference=data.items["reference"], fps=25.0)
    assert per_second.value == pytest.approx(625 * score("fd_kinetic", data, convention="pooled", n_boot=0)[0].value / 900,
                                             rel=1e-9)


def test_var_g_pools_every_sample_and_draws_each_side_without_replacement():
    from dyadbench.metrics import motion as MM

    pred, gt = a2p_layout(samples=3, clips=8, frames=600)
    data = as_items(pred, gt)
    pooled = np.concatenate([g.reshape(-1, g.shape[-1]) for g in data.items["generated"]])  # items, samples, frames
    rng = np.random.default_rng(5)
    first, second = rng.choice(len(pooled), 10_000, replace=False), rng.choice(len(pooled), 10_000, replace=False)
    want = np.linalg.norm(pooled[first] - pooled[second], axis=1).mean()  # calculate_diversity(...).mean()
    got = MM.diversity_set(data.items["generated"], data.items["valid"], np.zeros(5), np.ones(5), seed=5,
                           standardize=False, samples="all", pairs="audio2photoreal")
    assert got == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="more than"):  # A2P asserts more frames than pairs
        MM.diversity_set(data.items["generated"][:1], data.items["valid"][:1], np.zeros(5), np.ones(5), standardize=False,
                         samples="first", pairs="audio2photoreal")
