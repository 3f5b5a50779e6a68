"""Balanced 2AFC designs and their statistics, checked by brute force."""

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dyadbench.datasets.errors import DatasetError
from dyadbench.humaneval.analysis import analyze
from dyadbench.humaneval.design import CATCH, balanced_design
from dyadbench.humaneval.study import read_study, system_clips


@settings(max_examples=60, deadline=None)
@given(n_items=st.integers(1, 12), n_systems=st.integers(2, 4), per_pair=st.integers(1, 5), extra=st.integers(0, 4),
       checks=st.integers(0, 3), seed=st.integers(0, 5))
def test_design_is_balanced(n_items, n_systems, per_pair, extra, checks, seed):
    items, systems = [f"i{k}" for k in range(n_items)], [f"s{k}" for k in range(n_systems)]
    n_raters = per_pair + extra
    comparisons = n_items * n_systems * (n_systems - 1) // 2
    if n_raters > comparisons * per_pair:
        with pytest.raises(ValueError, match="nothing to rate"):
            balanced_design(items, systems, raters_per_pair=per_pair, n_raters=n_raters, seed=seed)
        return
    trials = balanced_design(items, systems, raters_per_pair=per_pair, n_raters=n_raters, attention_checks=checks, seed=seed)
    main = [t for t in trials if not t.attention]
    assert len(main) == comparisons * per_pair
    by_pair = defaultdict(list)
    for t in main:
        by_pair[(t.item, t.system_a, t.system_b)].append(t)
        assert {t.left, t.right} == {t.system_a, t.system_b}
    assert len(by_pair) == comparisons
    for judgements in by_pair.values():
        assert len({t.rater for t in judgements}) == per_pair  # distinct raters
        a_left = sum(t.left == t.system_a for t in judgements)
        assert abs(a_left - (per_pair - a_left)) <= 1  # counterbalanced
    loads = Counter(t.rater for t in main)
    assert len(loads) == n_raters and max(loads.values()) - min(loads.values()) <= 1  # everyone rates, evenly
    for r in range(n_raters):
        own = sorted((t for t in trials if t.rater == r), key=lambda t: t.position)
        assert [t.position for t in own] == list(range(len(own)))
        catch = [t for t in own if t.attention]
        assert len(catch) == checks
        for t in catch:
            assert CATCH in (t.left, t.right) and t.expected == ("left" if t.right == CATCH else "right")
            assert t.position > 0  # a real pair comes first


def test_order_is_randomised_per_rater():
    trials = balanced_design([f"i{k}" for k in range(20)], ["a", "b"], raters_per_pair=4, attention_checks=0, seed=3)
    orders = [[t.item for t in trials if t.rater == r] for r in range(4)]
    assert len({tuple(o) for o in orders}) == 4 and all(sorted(o) == sorted(orders[0]) for o in orders)
    assert balanced_design([f"i{k}" for k in range(20)], ["a", "b"], raters_per_pair=4, attention_checks=0, seed=3) == trials


@pytest.mark.parametrize("kwargs, message", [
    (dict(systems=["a"]), "two or more"), (dict(systems=["a", "a"]), "distinct"), (dict(items=[]), "non-empty"),
    (dict(raters_per_pair=3, n_raters=2), "distinct raters"), (dict(attention_system="zzz"), "not one of"),
    (dict(systems=["a", CATCH]), "reserved")])
def test_bad_designs_are_refused(kwargs, message):
    args = dict(items=["x", "y"], systems=["a", "b"], raters_per_pair=2) | kwargs
    with pytest.raises(ValueError, match=message):
        balanced_design(args.pop("items"), args.pop("systems"), **args)


def test_study_folder_hides_systems_and_validates(study_dir, tmp_path):
    from conftest import make_clips

    doc = read_study(study_dir).doc
    media = {p.name for p in (study_dir / "media").iterdir()}
    assert all(len(name) == 36 and "gt" not in name and "model" not in name for name in media)  # hash.mp4
    assert {t["left_media"] + ".mp4" for t in doc["trials"]} <= media
    make_clips(tmp_path / "a", ["x", "y"], 1)
    make_clips(tmp_path / "b", ["x"], 2)
    with pytest.raises(DatasetError, match="not on the same items"):
        system_clips({"a": tmp_path / "a", "b": tmp_path / "b"})
    make_clips(tmp_path / "c", ["x", "y"], 3, frames=9)
    with pytest.raises(DatasetError, match="must match"):
        system_clips({"a": tmp_path / "a", "c": tmp_path / "c"})


def _rows(choices_a, raters, items, left):
    return [dict(rater=r, item=i, system_a="A", system_b="B", attention=False, expected=None,
                 choice="left" if lf else "right", chosen="A" if c else "B", left="A" if (lf == c) else "B")
            for c, r, i, lf in zip(choices_a, raters, items, left)]


def test_analysis_matches_brute_force():
    rng = np.random.default_rng(0)
    n_items, n_raters = 15, 4
    raters = np.tile(np.arange(n_raters), n_items)
    items = np.repeat([f"i{k}" for k in range(n_items)], n_raters)
    chose_a = (rng.random(len(items)) < 0.7).astype(int)
    left = rng.random(len(items)) < 0.5
    rows = _rows(chose_a, raters, items, left)
    rows += [dict(rater=0, item="i0", system_a="A", system_b=CATCH, attention=True, expected="left", choice="right",
                  chosen=CATCH, left="A")]  # rater 0 fails their check
    result = analyze(rows, max_failed_checks=0)
    assert result["attention"] == {"checks": 1, "failed": 1, "failure_rate": 1.0, "per_rater": {0: {"checks": 1, "failed": 1}},
                                   "max_failed_checks": 0, "excluded_raters": [0]}
    c = result["comparisons"]["A vs B"]
    kept = raters != 0
    k, n = int(chose_a[kept].sum()), int(kept.sum())
    assert (c["k"], c["n"]) == (k, n) and c["preference_a"] == k / n
    assert c["unfiltered_rate"] == pytest.approx(chose_a.mean())
    # Exact two-sided binomial P by brute force over all outcomes.
    from math import comb

    pk = [comb(n, i) / 2**n for i in range(n + 1)]
    assert c["p_value"] == pytest.approx(min(1.0, sum(p for p in pk if p <= pk[k] * (1 + 1e-7))))
    # Fleiss' κ by its definition on the items x {A, B} table of the kept raters.
    table = np.array([[chose_a[kept & (items == i)].sum(), (1 - chose_a[kept & (items == i)]).sum()] for i in np.unique(items)])
    m = table.sum(axis=1)[0]
    p_i = ((table**2).sum(axis=1) - m) / (m * (m - 1))
    p_j = table.sum(axis=0) / table.sum()
    assert c["agreement"]["fleiss_kappa"] == pytest.approx((p_i.mean() - (p_j**2).sum()) / (1 - (p_j**2).sum()))
    assert c["left_rate"] == pytest.approx(left[kept].mean())
