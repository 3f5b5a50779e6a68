"""Each named convention against its reference code's recipe, re-derived here independently.

The recipes follow the reference files named in each convention (read, not copied): loops,
``np.corrcoef``, ``scipy.linalg.sqrtm`` and scikit-learn as those files use them, on small arrays.
"""

import numpy as np
import pytest
import scipy.linalg
from sklearn.cluster import KMeans

from dyadbench.metrics import motion as MM
from dyadbench.metrics.listener import fr_syn
from dyadbench.metrics.registry import ItemSet, get_metric, score
from dyadbench.metrics.sync import sync_confidence


def sqrtm_fd(x, y):
    """pytorch-fid / LM-listener / DIM: np.cov + scipy sqrtm, real part."""
    m1, m2, s1, s2 = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def clips(seed=0, n=5, t=60, d=4, samples=1):
    rng = np.random.default_rng(seed)
    ref = [rng.normal(size=(t, d)) * rng.uniform(0.5, 2, d) for _ in range(n)]
    gen = [(0.6 * r + rng.normal(0, 0.8, (samples, t, d))) for r in ref]
    part = [rng.normal(size=(t, d)) for _ in range(n)]
    return gen, ref, part, [np.ones(t, bool) for _ in range(n)]


# --- REACT ------------------------------------------------------------------------------------------

def react_tlcc_offset(pred, sp, max_lag=49):
    """REACT TLCC.py: per lag, np.corrcoef per dim of (pred shifted, speaker), mean over dims; one argmax."""
    rs = []
    for lag in range(-max_lag, max_lag + 1):
        per_dim = []
        for i in range(pred.shape[1]):
            x, y = pred[:, i], sp[:, i]
            a, b = (x[lag:], y[:-lag]) if lag > 0 else ((x[:lag], y[-lag:]) if lag < 0 else (x, y))
            per_dim.append(np.corrcoef(a, b)[0, 1])
        rs.append(np.mean(per_dim))
    return abs(len(rs) // 2 - int(np.argmax(rs)))


def test_lagged_correlations_equal_corrcoef_of_each_shifted_window():
    """Every lag, every column, against np.corrcoef of the two windows REACT's TLCC slices (the
    FFT cross-products, the window sums and the blocked transposition all in one check); a
    constant column correlates 0, not NaN."""
    from dyadbench.metrics.listener import lagged_correlations

    rng = np.random.default_rng(11)
    t, max_lag = 700, 49  # more than one 256-frame block
    x, y = rng.normal(size=(t, 4)) + 5.0, rng.normal(size=(t, 4)) - 3.0
    x[:, 1] += 0.8 * np.roll(y[:, 1], 7)
    x[:, 3] = 2.0
    lags = np.arange(-max_lag, max_lag + 1)
    got = lagged_correlations(x, y, lags)
    for k, lag in enumerate(lags):
        for i in range(3):
            a, b = (x[lag:, i], y[:t - lag, i]) if lag >= 0 else (x[:lag, i], y[-lag:, i])
            assert got[k, i] == pytest.approx(np.corrcoef(a, b)[0, 1], abs=1e-12), (lag, i)
    assert np.all(got[:, 3] == 0.0)
    assert lags[np.argmax(got[:, 1])] == 7


def test_fr_syn_averages_correlations_over_dims_before_the_best_lag():
    rng = np.random.default_rng(3)
    t = 200
    sp = rng.normal(size=(t + 20, 3))
    # dim 0 follows the speaker 2 frames late, dims 1-2 5 frames late (weaker): per-dim lags disagree
    pred = np.stack([sp[18:18 + t, 0], 0.4 * sp[15:15 + t, 1], 0.4 * sp[15:15 + t, 2]], axis=1) + rng.normal(0, 0.3, (t, 3))
    sp = sp[20:20 + t]
    ref = react_tlcc_offset(pred, sp, 10)
    assert fr_syn(sp[None], pred[None, None], max_lag=10) == ref
    per_dim = fr_syn(sp[None], pred[None, None], max_lag=10, lag_from="per_dim")
    assert per_dim != ref  # the per-dim reading (dyadbench 0.1) is a different number


def test_fr_syn_react_mp_scores_only_the_first_sample():
    rng = np.random.default_rng(4)
    sp = rng.normal(size=(80, 2))
    preds = np.stack([np.roll(sp, 1, 0), np.roll(sp, 6, 0), np.roll(sp, 9, 0)])
    all_samples = np.mean([react_tlcc_offset(p, sp, 12) for p in preds])
    assert fr_syn(sp[None], preds[None], max_lag=12) == pytest.approx(all_samples)
    assert fr_syn(sp[None], preds[None], max_lag=12, samples="first") == react_tlcc_offset(preds[0], sp, 12)


def react_ccc(y_true, y_pred):
    """REACT FRC.py concordance_correlation_coefficient: corrcoef·std·std / (var + var + Δμ² + 1e-8), mean over dims."""
    out = []
    for i in range(y_true.shape[1]):
        cor = np.corrcoef(y_true[:, i], y_pred[:, i])[0][1]
        num = 2 * cor * np.std(y_true[:, i]) * np.std(y_pred[:, i])
        den = np.var(y_true[:, i]) + np.var(y_pred[:, i]) + (y_true[:, i].mean() - y_pred[:, i].mean()) ** 2
        out.append(num / (den + 1e-8))
    return np.mean(out)


def test_fr_corr_react_sums_ccc_over_samples():
    gen, ref, part, valid = clips(samples=3)
    want = np.mean([sum(react_ccc(r, s) for s in g) for g, r in zip(gen, ref)])
    data = ItemSet([str(i) for i in range(5)], {"generated": gen, "reference": ref, "valid": valid})
    assert score("fr_corr", data, convention="react", n_boot=0)[0].value == pytest.approx(want, rel=1e-12)
    assert score("fr_corr", data, n_boot=0)[0].value == pytest.approx(want / 3, rel=1e-7)  # dyadbench: mean, no 1e-8


def test_fr_var_react_divides_by_t_minus_1():
    gen, ref, part, valid = clips(samples=2)
    stacked = np.stack(gen)  # (N, 10→2, T, D) as REACT's FRVar.py gets it
    t = stacked.shape[2]
    want = np.mean(((stacked - stacked.mean(2, keepdims=True)) ** 2).sum(2) / (t - 1))  # torch.var (unbiased)
    data = motion_set(gen, [g[0] for g in gen], part, valid)
    assert score("variance", data, convention="react", n_boot=0)[0].value == pytest.approx(want, rel=1e-12)


def tslearn_dtw(a, b):
    """tslearn.metrics.dtw: sqrt of the minimal cumulative squared Euclidean cost."""
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            acc[i, j] = ((a[i - 1] - b[j - 1]) ** 2).sum() + min(acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
    return np.sqrt(acc[-1, -1])


def test_fr_dist_react_convention():
    rng = np.random.default_rng(5)
    ref = [rng.normal(size=(12, 25)) for _ in range(2)]
    gen = [np.stack([r + rng.normal(0, 0.5, r.shape) for _ in range(2)]) for r in ref]
    want = np.mean([sum(sum(w * tslearn_dtw(s[:, a:b], r[:, a:b]) for a, b, w in ((0, 15, 1 / 15), (15, 17, 1), (17, 25, 1 / 8)))
                        for s in g) for g, r in zip(gen, ref)])
    data = ItemSet(["a", "b"], {"generated": gen, "reference": ref, "valid": [np.ones(12, bool)] * 2},
                   {"mean": np.zeros(25), "std": np.ones(25), "fps": 25.0})
    assert score("fr_dist", data, convention="react", n_boot=0)[0].value == pytest.approx(want, rel=1e-10)
    small = ItemSet(["a"], {"generated": [np.zeros((1, 12, 4))], "reference": [np.ones((12, 4))], "valid": [np.ones(12, bool)]},
                    {"mean": np.zeros(4), "std": np.ones(4), "fps": 25.0})
    with pytest.raises(ValueError, match="25-d"):
        score("fr_dist", small, convention="react", n_boot=0)


# --- LM-listener, DIM, Learning2Listen ---------------------------------------------------------

def motion_set(gen, ref, part, valid):
    return ItemSet([str(i) for i in range(len(ref))],
                   {"generated": gen, "reference": ref, "partner": part, "valid": valid, "reference_samples": [r[None] for r in ref]},
                   {"mean": np.zeros(ref[0].shape[1]), "std": np.ones(ref[0].shape[1]), "fps": 30.0, "si_clusters": 3})


def test_paired_fd_per_clip_is_lm_listener_fid2_and_differs_from_pooled():
    gen, ref, part, valid = clips(t=80)
    data = motion_set(gen, ref, part, valid)
    want = np.mean([sqrtm_fd(np.hstack([p, g[0]]), np.hstack([p, r])) for g, r, p in zip(gen, ref, part)])
    per_clip = score("paired_fd", data, convention="per_clip", n_boot=0)[0].value
    assert per_clip == pytest.approx(want, rel=1e-8)
    pooled = sqrtm_fd(np.vstack([np.hstack([p, g[0]]) for g, p in zip(gen, part)]), np.vstack([np.hstack([p, r]) for r, p in zip(ref, part)]))
    assert score("paired_fd", data, n_boot=0)[0].value == pytest.approx(pooled, rel=1e-8)
    assert abs(per_clip - pooled) > 0.1 * pooled


def test_lm_listener_l2_and_variance():
    gen, ref, part, valid = clips()
    data = motion_set(gen, ref, part, valid)
    assert score("l2", data, convention="lm-listener", n_boot=0)[0].value == pytest.approx(
        np.mean([((r - g[0]) ** 2).mean() for g, r in zip(gen, ref)]), rel=1e-12)
    res = score("variance", data, convention="lm-listener", n_boot=0)[0]
    assert res.value == pytest.approx(np.mean([np.mean(np.var(g[0], axis=0)) for g in gen]), rel=1e-12)
    assert res.reference == pytest.approx(np.mean([np.mean(np.var(r, axis=0)) for r in ref]), rel=1e-12)


def test_learning2listen_l2_skips_the_32_seed_frames():
    gen, ref, part, valid = clips(t=50)
    data = motion_set(gen, ref, part, valid)
    want = np.mean(np.linalg.norm(np.stack(ref)[:, 32:] - np.stack(gen)[:, 0, 32:], axis=-1))
    assert score("l2", data, convention="learning2listen", n_boot=0)[0].value == pytest.approx(want, rel=1e-12)


def test_dim_si_diversity_and_variance():
    rng = np.random.default_rng(6)
    centres = rng.normal(0, 6, (3, 4))
    ref = [centres[rng.integers(0, 3, 40)] + rng.normal(0, 0.3, (40, 4)) for _ in range(4)]
    gen = [(centres[rng.integers(0, 2, 40)] + rng.normal(0, 0.3, (40, 4)))[None] for _ in range(4)]
    data = motion_set(gen, ref, ref, [np.ones(40, bool)] * 4)
    # DIM calcuate_sid: KMeans(k, random_state=0, n_init='auto') on merged gt, histogram of predictions, Σ p log2(p+1e-6)
    km = KMeans(n_clusters=3, random_state=0, n_init="auto").fit(np.concatenate(ref).astype(np.float32))
    hist = np.bincount(km.predict(np.concatenate([g[0] for g in gen]).astype(np.float32)), minlength=3) / 160
    want = -sum(h * np.log2(h + 1e-6) for h in hist)
    assert score("si_diversity", data, convention="dim", n_boot=0)[0].value == pytest.approx(want, rel=1e-12)
    # DIM's printed var: np.var over the flattened frames of all clips
    res = score("variance_pooled", data, n_boot=0)[0]
    assert res.value == pytest.approx(np.var(np.concatenate([g[0] for g in gen]).reshape(-1)), rel=1e-12)
    assert res.reference == pytest.approx(np.var(np.concatenate(ref).reshape(-1)), rel=1e-12)


def test_si_diversity_restarts_keep_the_best_inertia():
    """On clustered data one k-means++ seeding can merge clusters; 10 restarts keep the lowest inertia."""
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 10, (8, 3))
    frames = centres[rng.integers(0, 8, 400)] + rng.normal(0, 0.2, (400, 3))
    best = min(KMeans(n_clusters=8, random_state=s, n_init=1).fit(frames).inertia_ for s in range(10))
    centres = MM._kmeans_centres(frames, 8, 0, 10)
    inertia = ((frames[:, None, :] - centres[None]) ** 2).sum(-1).min(1).sum()
    assert inertia <= best * (1 + 1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nearest_centres_is_scikit_learn_predict(dtype):
    """SI-diversity keeps only the fitted centres; their labels must be KMeans.predict's, row for row,
    in the fit's dtype, across the product's row blocks (more rows than one block)."""
    rng = np.random.default_rng(11)
    frames = (rng.normal(0, 3, (12, 16))[rng.integers(0, 12, 9_000)] + rng.normal(size=(9_000, 16))).astype(dtype)
    model = KMeans(n_clusters=12, random_state=0, n_init=2).fit(frames[:3_000])
    assert model.cluster_centers_.dtype == dtype
    labels = MM.nearest_centres(frames, model.cluster_centers_)
    assert len(frames) > MM._LABEL_ROWS and np.array_equal(labels, model.predict(frames))
    # a frame equidistant from two centres takes the first, as predict does
    centres = np.array([[1.0, 0.0], [-1.0, 0.0]], dtype)
    assert MM.nearest_centres(np.zeros((1, 2), dtype), centres)[0] == 0
    with pytest.raises(ValueError, match="nearest_centres"):
        MM.nearest_centres(frames[:, :3], model.cluster_centers_)


# --- syncnet_python ------------------------------------------------------------------------------

def syncnet_calc_pdist(feat1, feat2, vshift=15):
    """SyncNetInstance.calc_pdist: audio features zero-padded by vshift; torch pairwise_distance (ε = 1e-6)."""
    pad = np.vstack([np.zeros((vshift, feat2.shape[1])), feat2, np.zeros((vshift, feat2.shape[1]))])
    return [np.linalg.norm(feat1[i] - pad[i:i + 2 * vshift + 1] + 1e-6, axis=1) for i in range(len(feat1))]


def test_sync_syncnet_python_convention():
    rng = np.random.default_rng(8)
    v = rng.normal(size=(50, 16))
    a = np.roll(v, 3, axis=0) + rng.normal(0, 0.3, (50, 16))
    mdist = np.mean(np.stack(syncnet_calc_pdist(v, a), 1), 1)
    minval, minidx = mdist.min(), int(np.argmin(mdist))
    data = ItemSet(["x"], {"sync_video_emb": [v], "sync_audio_emb": [a]})
    parts = {r.name: r for r in score("sync", data, n_boot=0)}
    assert set(parts) == {"sync_c", "sync_d"} and parts["sync_c"].part_of == "sync"
    assert parts["sync_d"].value == pytest.approx(minval, rel=1e-12)
    assert parts["sync_c"].value == pytest.approx(np.median(mdist) - minval, rel=1e-12)
    # syncnet prints offset = vshift − argmin; ours is argmin − vshift (audio lags video when positive)
    assert sync_confidence(v, a, edge="zero_pad", eps=1e-6)["offset"] == -(15 - minidx)
    # Wav2Lip's LSE-D / LSE-C (its scores_LSE run the same recipe inside syncnet_python): the same numbers, named
    assert parts["sync_d"].extra["also_known_as"] == "LSE-D" and parts["sync_c"].extra["also_known_as"] == "LSE-C"


def test_every_convention_names_its_reference_and_a_known_default():
    for name in ("fr_syn", "fr_corr", "variance", "paired_fd", "si_diversity", "l2", "sync"):
        spec = get_metric(name)
        assert spec.default in spec.conventions
        assert any(c.reference != "dyadbench" for c in spec.conventions.values()), name


def test_fr_div_is_react_s_mse_and_refuses_single_samples():
    gen, ref, part, valid = clips(samples=3, t=20)
    # REACT S_MSE.py: torch.cdist² summed over sample pairs / (M (M−1) · T·D), mean over items
    want = np.mean([sum(((g[i] - g[j]) ** 2).sum() for i in range(3) for j in range(3)) / (3 * 2 * g[0].size) for g in gen])
    assert score("fr_div", motion_set(gen, ref, part, valid), n_boot=0)[0].value == pytest.approx(want, rel=1e-12)
    single = motion_set([g[:1] for g in gen], ref, part, valid)
    with pytest.raises(ValueError, match="at least 2 samples"):
        score("fr_div", single, n_boot=0)


def test_si_diversity_fits_once_and_on_a_bounded_seeded_sample():
    rng = np.random.default_rng(9)
    ref = [rng.normal(size=(300, 4)) for _ in range(6)]
    gen = [(r + rng.normal(0, 0.5, r.shape))[None] for r in ref]
    args = dict(generated=gen, reference=ref, valid=[np.ones(300, bool)] * 6, mean=np.zeros(4), std=np.ones(4), n_clusters=5)
    full = MM.si_diversity_set(**args)
    assert MM.si_diversity_set(**args, fit_frames=10_000) == full  # a bound above the frames changes nothing
    MM._KMEANS_MEMO.clear()
    sampled = MM.si_diversity_set(**args, fit_frames=500)
    data = ItemSet([str(i) for i in range(6)], {"generated": gen, "reference": ref, "valid": args["valid"]},
                   {"mean": args["mean"], "std": args["std"], "si_clusters": 5})
    res = score("si_diversity", data, convention="dim", n_boot=20)[0]
    assert len(MM._KMEANS_MEMO) == 2  # the engine fitted once more (DIM's settings), its interval reused that fit
    dyad = score("si_diversity", data, n_boot=0)[0]  # the default convention fits at most 20,000 frames: all 1,800
    assert dyad.value == pytest.approx(full, rel=1e-12) and res.low <= res.value <= res.high
    fitted = next(iter(MM._KMEANS_MEMO.values()))
    assert fitted.shape == (5, 4) and 0 < sampled <= np.log2(5) + 1e-9
