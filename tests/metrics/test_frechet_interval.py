"""frechet_interval: delta-method intervals against repeated sampling and the item bootstrap."""

import importlib

import numpy as np
import pytest

from dyadbench.metrics import frechet_bootstrap, frechet_distance, frechet_interval


def gaussians(d=3):
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    return (np.zeros(d), a @ a.T + 0.5 * np.eye(d)), (np.full(d, 0.4), b @ b.T + 0.5 * np.eye(d))


def test_delta_interval_covers_the_estimators_expectation_about_95_percent():
    (m1, s1), (m2, s2) = gaussians()
    rng = np.random.default_rng(0)
    reps, n = 400, 1500
    results = [frechet_interval(rng.multivariate_normal(m1, s1, n), rng.multivariate_normal(m2, s2, n), method="delta")
               for _ in range(reps)]
    values = np.array([r["value"] for r in results])
    expectation = values.mean()
    coverage = np.mean([r["low"] <= expectation <= r["high"] for r in results])
    assert 0.92 <= coverage <= 0.98, coverage
    # the standard error is the sampling spread of the estimate
    assert np.median([r["se"] for r in results]) == pytest.approx(values.std(ddof=1), rel=0.15)
    # the finite-n bias is estimated from half samples: close to the observed one
    true_fd = frechet_distance(m1, s1, m2, s2)
    observed_bias = expectation - true_fd
    assert observed_bias > 0
    assert np.mean([r["bias"] for r in results]) == pytest.approx(observed_bias, rel=0.35)


def test_reference_sampling_widens_the_interval_of_a_constant_predictor():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(500, 4))
    x = np.tile(y.mean(0) + 1.0, (500, 1)) + 1e-9 * rng.normal(size=(500, 4))
    with_ref = frechet_interval(x, y, method="delta")
    without = frechet_interval(x, y, method="delta", include_reference=False)
    assert with_ref["high"] - with_ref["low"] > 0.05 and without["high"] - without["low"] < 1e-6
    assert with_ref["includes_reference"] and not without["includes_reference"]


def test_grouped_delta_interval_agrees_with_the_item_bootstrap():
    rng = np.random.default_rng(2)
    items, per = 40, 60
    offsets = rng.normal(0, 0.7, (items, 3))  # frames of one clip share an offset: correlated
    x = np.concatenate([o + rng.normal(size=(per, 3)) for o in offsets])
    y = np.concatenate([0.3 + rng.normal(size=(per, 3)) * 1.3 for _ in range(items)])
    groups = np.repeat(np.arange(items), per)
    delta = frechet_interval(x, y, groups=groups, method="delta", include_reference=False)
    boot = frechet_bootstrap(x, y, groups=groups, n_resamples=400, seed=0)
    assert delta["se"] == pytest.approx(boot["std"], rel=0.3)
    ungrouped = frechet_interval(x, y, method="delta", include_reference=False)
    assert delta["se"] > 1.5 * ungrouped["se"]  # frames of a clip are not independent


def test_auto_falls_back_to_the_bootstrap_where_the_delta_method_fails():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 2))
    res = frechet_interval(x, x.copy(), method="auto")
    assert res["method"] == "bootstrap" and res["value"] == pytest.approx(0.0, abs=1e-12)
    few = frechet_interval(x, x + 1, groups=np.repeat(np.arange(4), 50), method="auto")
    assert few["method"] == "bootstrap"
    with pytest.raises(ValueError, match="method"):
        frechet_interval(x, x, method="jackknife")
    with pytest.raises(ValueError, match="groups"):
        frechet_interval(x, x, groups=np.arange(3))


def test_one_eigendecomposition_gives_both_transport_maps(monkeypatch):
    fi = importlib.import_module("dyadbench.metrics.frechet_interval")  # the package exports a function of that name

    (_, s1), (_, s2) = gaussians(d=6)
    a1, a2 = fi._half_maps(s1, s2, both=True)
    t = a1 @ a1.T
    np.testing.assert_allclose(t, t.T, atol=1e-12)
    np.testing.assert_allclose(t @ s1 @ t, s2, rtol=1e-10, atol=1e-10)  # T pushes N(0, Σ₁) onto N(0, Σ₂)
    np.testing.assert_allclose(a2 @ a2.T, np.linalg.inv(t), rtol=1e-9, atol=1e-10)
    # the same interval as each side factorizing its own covariance
    rng = np.random.default_rng(4)
    x, y = rng.multivariate_normal(np.zeros(6), s1, 800), rng.multivariate_normal(np.full(6, 0.4), s2, 700)
    shared = frechet_interval(x, y, method="delta", bias=False)
    monkeypatch.setattr(fi, "_SHARED_MIN_RATIO", np.inf)
    per_side = frechet_interval(x, y, method="delta", bias=False)
    assert shared["se"] == pytest.approx(per_side["se"], rel=1e-9)


def test_the_t_quantile_is_scipy_stats_own():
    """The intervals' t quantile comes from scipy.special (scipy.stats takes ~1 s to import in
    every worker); it must be t.ppf's number exactly, and refuse what t.ppf would answer NaN to."""
    from scipy.stats import t

    from dyadbench.metrics._quantiles import t_quantile

    for df in (1, 2, 3, 9, 29, 49, 447, 615, 10**5, 2.5):
        for q in (0.5, 0.9, 0.95, 0.975, 0.995, 0.9995):
            assert t_quantile(q, df) == float(t.ppf(q, df)), (q, df)
    for q, df in ((0.0, 5), (1.0, 5), (0.95, 0)):
        with pytest.raises(ValueError, match="t quantile"):
            t_quantile(q, df)


def _item_sums(rng, items=40, per=30, d=3):
    """Per-item ``[generated | reference]`` Gaussian sums (one shift, 0) and the rows they came from."""
    from dyadbench.metrics.streaming import gaussian_sums

    offsets = rng.normal(0, 0.6, (items, d))
    x = [o + rng.normal(size=(per, d)) for o in offsets]
    y = [0.3 + o + 1.2 * rng.normal(size=(per, d)) for o in offsets]
    rows = np.stack([np.concatenate([gaussian_sums(a, 0.0), gaussian_sums(b, 0.0)]) for a, b in zip(x, y)])
    return x, y, rows


def test_delta_from_item_sums_is_the_row_level_delta_with_items_as_units():
    from dyadbench.metrics.frechet_interval import frechet_delta_from_sums

    x, y, rows = _item_sums(np.random.default_rng(5))
    ids = [f"item{i:02d}" for i in range(len(rows))]
    chunks = lambda: ((ids[k:k + 7], rows[k:k + 7]) for k in range(0, len(ids), 7))
    got = frechet_delta_from_sums(chunks, rows.shape[1] // 2)
    groups = np.repeat(np.arange(len(x)), len(x[0]))
    want = frechet_interval(np.concatenate(x), np.concatenate(y), groups=groups, y_groups=groups, method="delta")
    for k in ("value", "se", "low", "high"):
        assert got[k] == pytest.approx(want[k], rel=1e-9)
    assert list(got["influence"]) == ids
    assert np.allclose(list(got["influence"].values()), list(want["influence"].values()), rtol=1e-9, atol=1e-15)


def test_delta_from_item_sums_holds_no_more_than_two_chunks_at_once():
    """Memory must not grow with items: each chunk of rows is let go before the one after next
    is read (the consumer's loop variable holds the previous one while the next is made)."""
    import weakref

    from dyadbench.metrics.frechet_interval import frechet_delta_from_sums

    _, _, rows = _item_sums(np.random.default_rng(6), items=60)
    alive, most = set(), [0]

    def chunks():
        for k in range(0, len(rows), 4):
            chunk = rows[k:k + 4].copy()
            alive.add(k)
            weakref.finalize(chunk, alive.discard, k)
            most[0] = max(most[0], len(alive))
            yield [f"i{j}" for j in range(k, k + len(chunk))], chunk

    frechet_delta_from_sums(chunks, rows.shape[1] // 2)
    assert most[0] <= 2, f"{most[0]} chunks of item statistics alive at once (of {len(rows) // 4})"
