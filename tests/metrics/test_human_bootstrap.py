from math import comb

import numpy as np
import pytest
from scipy import stats

from dyadbench.metrics import (
    binomial_test,
    bootstrap_ci,
    bootstrap_mean_ci,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    preference_by_group,
    preference_summary,
    wilson_interval,
)


def binom_brute(k, n):
    pmf = [comb(n, i) * 0.5**n for i in range(n + 1)]
    return min(1.0, sum(p for p in pmf if p <= pmf[k] * (1 + 1e-7)))


@pytest.mark.parametrize("k,n", [(0, 1), (60, 120), (75, 120), (90, 120), (3, 30), (29, 30)])
def test_binomial_test_matches_brute_force_and_scipy(k, n):
    assert binomial_test(k, n) == pytest.approx(binom_brute(k, n), rel=1e-9)
    assert binomial_test(k, n) == pytest.approx(stats.binomtest(k, n).pvalue, rel=1e-9)


def test_wilson_interval_closed_form_and_coverage():
    k, n, z = 80, 120, stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_interval(k, n) == pytest.approx((centre - half, centre + half))
    # Coverage check by simulation at the RealTalk design size (120 judgements).
    rng = np.random.default_rng(0)
    hits = sum(lo <= 0.6 <= hi for lo, hi in (wilson_interval(rng.binomial(120, 0.6), 120) for _ in range(2000)))
    assert 0.93 <= hits / 2000 <= 0.97


def test_wilson_interval_always_contains_its_estimate_and_covers_exactly_computed():
    # every k of every n up to 200: round-off once put the k = 0 lower end at 6e-17 (> 0 = k/n)
    for n in range(1, 201):
        for k in range(n + 1):
            lo, hi = wilson_interval(k, n)
            assert 0.0 <= lo <= k / n <= hi <= 1.0, (k, n, lo, hi)
    # coverage computed exactly (binomial pmf, no simulation) at study sizes, over p in [0.3, 0.95]
    for n in (8, 30, 120):
        ps = np.linspace(0.3, 0.95, 27)
        cover = [sum(stats.binom.pmf(k, n, p) * (wilson_interval(k, n)[0] <= p <= wilson_interval(k, n)[1])
                     for k in range(n + 1)) for p in ps]
        assert 0.94 <= np.mean(cover) <= 0.96 and min(cover) >= 0.88, (n, np.mean(cover), min(cover))


def test_preference_summary_and_groups():
    choices = np.array([1] * 90 + [0] * 30)
    res = preference_summary(choices)
    assert res["rate"] == 0.75 and res["k"] == 90 and res["n"] == 120
    assert res["p_value"] < 1e-6 and res["low"] < 0.75 < res["high"]
    by = preference_by_group(choices, np.array(["r1", "r2", "r3", "r4"] * 30))
    assert sum(g["n"] for g in by.values()) == 120
    with pytest.raises(ValueError, match="0 \\(B preferred\\) or 1"):
        preference_summary([0, 2])


def test_fleiss_kappa_known_values():
    # Perfect agreement -> 1; Fleiss (1971) worked example value on a classic table.
    assert fleiss_kappa([[4, 0], [0, 4], [4, 0]]) == pytest.approx(1.0)
    table = np.array([
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ])
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=1e-3)  # the Wikipedia worked example


def test_krippendorff_alpha_brute_force_pairs():
    rng = np.random.default_rng(1)
    r = rng.integers(0, 2, (4, 30)).astype(float)
    r[0, :5] = np.nan
    # Brute force: D_o and D_e from all ordered pairable value pairs.
    pairs_o, values = [], []
    for item in r.T:
        v = item[~np.isnan(item)]
        if len(v) < 2:
            continue
        values.extend(v)
        for i in range(len(v)):
            for j in range(len(v)):
                if i != j:
                    pairs_o.append((v[i] != v[j]) / (len(v) - 1))
    n = len(values)
    d_o = sum(pairs_o) / n
    vals = np.array(values)
    d_e = sum((a != b) for i, a in enumerate(vals) for j, b in enumerate(vals) if i != j) / (n * (n - 1))
    assert krippendorff_alpha_nominal(r) == pytest.approx(1 - d_o / d_e)
    assert krippendorff_alpha_nominal(np.array([[0, 1, 0, 1], [0, 1, 0, 1.0]])) == pytest.approx(1.0)


def test_bootstrap_mean_interval_matches_normal_theory():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(400)
    res = bootstrap_mean_ci(x, n_resamples=4000)
    se = x.std(ddof=1) / np.sqrt(400)
    assert res["low"] == pytest.approx(x.mean() - 1.96 * se, abs=0.25 * se)
    assert res["high"] == pytest.approx(x.mean() + 1.96 * se, abs=0.25 * se)
    generic = bootstrap_ci(np.mean, x, n_resamples=2000)
    assert generic["value"] == pytest.approx(x.mean())
    assert generic["low"] < x.mean() < generic["high"]
    with pytest.raises(ValueError, match="arrays\\[1\\]"):
        bootstrap_ci(lambda a, b: 0.0, x, x[:3])
