"""One scoring engine: ``evaluate``, ``registry.score`` and ``dyadbench.metrics.<name>`` give the same value
and interval on the same items, and every interval contains its estimate (headline and slices,
every baseline of both motion tasks)."""

import numpy as np
import pytest

import dyadbench.metrics as M
from dyadbench.baselines import run_baseline
from dyadbench.datasets.sample.seamless_sample import write_seamless_sample
from dyadbench.datasets.submission import read_motion_item
from dyadbench.runner import evaluate
from dyadbench.metrics.registry import ItemSet, score
from dyadbench.runner.items import align_length, features, motion_items, per_frame_shapes, valid_mask
from dyadbench.tasks.registry import get_task

MOTION_TASKS = ("seamless/facial-motion", "seamless/gesture")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Enough items (12 per task) for the delta method, features only."""
    root = tmp_path_factory.mktemp("engine")
    write_seamless_sample(root, dyads=6, seconds=4.0, seed=11, layout="files", video=False, splits=("train", "test"))
    return root


@pytest.fixture(scope="module")
def reports(root, tmp_path_factory):
    out = {}
    for task in MOTION_TASKS:
        for baseline in get_task(task).baselines:
            sub = tmp_path_factory.mktemp(f"{baseline}")
            run_baseline(task, baseline, root, sub)
            out[(task, baseline)] = (sub, evaluate(task, root, sub, n_boot=40, slice_boot=20, system=baseline))
    return out


def _entries(report):
    yield "all", report["metrics"]
    for col, groups in report["slices"].items():
        for value, entry in groups.items():
            yield f"{col}={value}", entry["metrics"]


def test_every_interval_contains_its_estimate(reports):
    checked = 0
    for (task, baseline), (_, report) in reports.items():
        for where, metrics in _entries(report):
            for name, m in metrics.items():
                if m.get("low") is None:
                    continue
                assert m["low"] <= m["value"] <= m["high"], (task, baseline, where, name, m["value"], m["low"], m["high"])
                assert m["interval_method"], (task, name)
                checked += 1
    assert checked > 200
    # the Fréchet family takes the delta method on the headline of a non-degenerate system
    ffd = reports[("seamless/facial-motion", "random")][1]["metrics"]["ffd"]
    assert ffd["interval_method"].startswith("delta method") and ffd["bias"] > 0 and "value_unbiased" in ffd


def _item_set(task_name, root, submission):
    task = get_task(task_name)
    items = sorted(motion_items(task, root), key=lambda it: it.id)
    gen, ref, part, valid = [], [], [], []
    for it in items:
        r = features(it.target, task)
        ref.append(r)
        valid.append(valid_mask(it.target, task, len(r)))
        part.append(align_length(features(it.partner, task), len(r)))
        gen.append(read_motion_item(submission / f"{it.id}.npz", task.feature_keys, per_frame_shapes(task), len(r)))
    return [it.id for it in items], {"generated": gen, "reference": ref, "partner": part, "valid": valid}


@pytest.mark.parametrize("baseline", ["random", "mean"])
def test_registry_public_function_and_evaluate_agree(root, reports, baseline):
    task_name = "seamless/facial-motion"
    sub, report = reports[(task_name, baseline)]
    ids, items = _item_set(task_name, root, sub)
    from dyadbench.metrics.motion import standardization_stats

    mean, std = standardization_stats(items["reference"], items["valid"])
    shared = {"mean": mean, "std": std, "fps": 30.0, "si_clusters": get_task(task_name).si_clusters}
    data = ItemSet(ids, items, shared)
    compared = 0
    for name, m in report["metrics"].items():
        if name not in get_task(task_name).metrics:
            continue
        via_score = score(name, data, n_boot=40)[0]
        via_public = getattr(M, name)(**items, ids=ids, n_boot=40, si_clusters=shared["si_clusters"])
        for got in (via_score, via_public):
            for key in ("value", "low", "high"):
                want, have = m[key], getattr(got, key)
                # 1e-9 relative, or the value's own stated round-off (a Fréchet distance with a singular
                # covariance, as the constant mean baseline's, is known to about τ = λ_max·d·ε)
                tol = max(1e-12, m.get("tolerance") or 0.0)
                assert (want is None and have is None) or have == pytest.approx(want, rel=1e-9, abs=tol), (name, key)
            assert got.extra.get("interval_method") == m.get("interval_method"), name
        compared += 1
    assert compared >= 9


def test_paired_difference_to_random_excludes_zero_where_a_system_is_clearly_better(reports):
    from dyadbench.metrics.compare import paired_difference
    from dyadbench.report.paired import per_item_linear

    mean = reports[("seamless/facial-motion", "mean")][1]
    random = reports[("seamless/facial-motion", "random")][1]
    # the mean pose is closer frame by frame (L2), but a constant has no spread: its FFD is worse
    d = paired_difference(per_item_linear(mean, "l2"), per_item_linear(random, "l2"))
    assert d["difference"] < 0 and d["excludes_zero"] and d["method"].startswith("paired delta method"), d
    d = paired_difference(per_item_linear(mean, "ffd"), per_item_linear(random, "ffd"))
    assert d["difference"] > 0 and d["low"] <= d["difference"] <= d["high"]
    # pairing removes what the two systems share (here the reference's sampling): narrower than unpaired
    se = lambda r: r["metrics"]["ffd"]["se"]
    assert d["high"] - d["low"] < 2 * 2.13 * float(np.hypot(se(mean), se(random)))
    same = paired_difference(per_item_linear(random, "l2"), per_item_linear(random, "l2"))
    assert same["difference"] == 0 and same["low"] == same["high"] == 0  # the same system: no noise left
