"""Task declarations bind: every number in report.json is the registered function on the item inputs."""

import importlib

import numpy as np
import pytest

from dyadbench.baselines import run_baseline
from dyadbench.runner import evaluate
from dyadbench.metrics.registry import (
    Convention,
    MetricSpec,
    get_metric,
    register_metric,
)
from dyadbench.runner.items import align_length, features, motion_items, valid_mask
from dyadbench.runner.protocols import declared_outputs
from dyadbench.tasks.registry import Task, get_task, list_tasks, register


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_register_refuses_unknown_metrics_and_duplicate_names():
    with pytest.raises(ValueError, match="unknown metric 'nosuch'"):
        register(Task("x/unknown-metric", "seamless", "motion", "test", "", metrics=("ffd", "nosuch")))
    existing = get_task("seamless/facial-motion")
    with pytest.raises(ValueError, match="already registered"):
        register(existing)
    with pytest.raises(ValueError, match="already registered"):
        register_metric(MetricSpec("ffd", "", "lower", {}, {"a": Convention(len, False, "")}, "a"))
    with pytest.raises(ValueError, match="default convention"):
        MetricSpec("new", "", "lower", {}, {"a": Convention(len, False, "")}, "b")


def test_every_builtin_task_declares_registered_metrics():
    for task in list_tasks():
        for name in task.metrics:
            assert get_metric(name).name == name


@pytest.fixture(scope="module")
def random_report(seamless_root, tmp_path_factory):
    sub = tmp_path_factory.mktemp("random")
    run_baseline("seamless/facial-motion", "random", seamless_root, sub, seed=3)
    return sub, evaluate("seamless/facial-motion", seamless_root, sub, n_boot=0, slice_boot=0)


def test_report_values_are_the_registered_functions_on_the_same_inputs(seamless_root, random_report):
    """One hop: report.json names the function; calling it on inputs gathered here gives the number."""
    sub, report = random_report
    task = get_task("seamless/facial-motion")
    items = motion_items(task, seamless_root)
    ref = [features(it.target, task) for it in items]
    with np.load(sub / f"{items[0].id}.npz") as z:
        assert not np.allclose(z["movement:expression"], ref[0][: len(z["movement:expression"])])  # not a copy
    gen = []
    for it in items:
        with np.load(sub / f"{it.id}.npz") as z:
            g = z["movement:expression"].astype(np.float64)
            gen.append(g[None] if g.ndim == 2 else g)
    valid = [valid_mask(it.target, task, len(r)) for it, r in zip(items, ref)]
    part = [align_length(features(it.partner, task), len(r)) for it, r in zip(items, ref)]
    frames = np.concatenate([r[v] for r, v in zip(ref, valid)])
    inputs = {"generated": gen, "reference": ref, "valid": valid, "partner": part, "mean": frames.mean(0),
              "std": np.maximum(frames.std(0), 1e-6), "fps": 30.0, "n_clusters": task.si_clusters}
    checked = 0
    for name, entry in report["metrics"].items():
        fn = resolve(entry["function"])
        conv = get_metric(name).conventions[entry["convention"]]
        spec = get_metric(name)
        args = [a for a in spec.consumes if a in fn.__code__.co_varnames[: fn.__code__.co_argcount + fn.__code__.co_kwonlyargcount]]
        if conv.per_item:
            per = [fn(**{a: (inputs[a][i] if isinstance(inputs[a], list) else inputs[a]) for a in args}, **conv.params)
                   for i in range(len(items))]
            want = float(np.nanmean(per))
        else:
            want = fn(**{a: inputs[a] for a in args}, **conv.params)
        assert entry["value"] == pytest.approx(want, rel=1e-10, abs=1e-12), name
        checked += 1
    assert checked == len(task.metrics) - len(report["skipped"])
    assert "at least 2 samples" in report["skipped"]["fr_div"]  # one sample per item: said, not silently dropped


@pytest.mark.parametrize("task_name", ["seamless/facial-motion", "seamless/gesture", "realtalk/listener-retrieval"])
def test_every_declared_metric_is_reported_or_skipped_with_a_reason(seamless_root, realtalk_root, tmp_path, task_name):
    task = get_task(task_name)
    root = realtalk_root if task.dataset == "realtalk" else seamless_root
    run_baseline(task_name, task.baselines[0], root, tmp_path / "sub")
    report = evaluate(task_name, root, tmp_path / "sub", n_boot=10, slice_boot=0)
    for name, outputs in declared_outputs(task).items():
        assert name in report["skipped"] or all(o in report["metrics"] for o in outputs), name
        if name in report["skipped"]:
            assert report["skipped"][name]  # a reason, never empty
    assert set(report["conventions"]) == set(task.metrics)


def test_a_chosen_convention_is_used_and_a_wrong_one_refused(seamless_root, random_report):
    sub, default = random_report
    chosen = evaluate("seamless/facial-motion", seamless_root, sub, n_boot=0, slice_boot=0, conventions={"l2": "lm-listener"})
    assert chosen["metrics"]["l2"]["convention"] == "lm-listener" and chosen["conventions"]["l2"] == "lm-listener"
    assert chosen["metrics"]["l2"]["value"] != default["metrics"]["l2"]["value"]
    with pytest.raises(ValueError, match="unknown; l2 has"):
        evaluate("seamless/facial-motion", seamless_root, sub, n_boot=0, slice_boot=0, conventions={"l2": "nope"})
    with pytest.raises(ValueError, match="has no metric 'fid'"):
        evaluate("seamless/facial-motion", seamless_root, sub, n_boot=0, slice_boot=0, conventions={"fid": "pooled"})
