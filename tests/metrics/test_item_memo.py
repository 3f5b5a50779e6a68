"""An item's metrics share intermediate arrays (``item_memo``): a speed-up that must never change
a number, let one metric write into another's input, or mix up two items' arrays."""

import numpy as np
import pytest

from dyadbench.metrics.aggregate import item_outputs, plan
from dyadbench.metrics.item_memo import item_scope, shared_array
from dyadbench.metrics.streaming import gaussian_sums, gaussian_sums_joined
from dyadbench.tasks.registry import get_task


def test_shared_arrays_are_computed_once_per_scope_and_read_only():
    x, y = np.arange(6.0), np.arange(6.0)
    calls = []

    def twice(a):
        return lambda: calls.append(1) or 2 * a

    outside = shared_array("double", (x,), None, twice(x))
    assert len(calls) == 1 and not outside.flags.writeable and x.flags.writeable  # the source itself stays writable
    shared_array("double", (x,), None, twice(x))
    assert len(calls) == 2  # outside a scope nothing is kept
    with item_scope():
        first = shared_array("double", (x,), None, twice(x))
        assert shared_array("double", (x,), None, twice(x)) is first and len(calls) == 3
        other = shared_array("double", (y,), None, twice(y))  # equal values, another object: its own entry
        param = shared_array("double", (x,), "p", twice(x))  # other parameters: their own entry
        assert len(calls) == 5 and other is not first and param is not first
        with pytest.raises(ValueError, match="read-only"):
            first += 1
    with item_scope():  # a new item starts empty
        shared_array("double", (x,), None, twice(x))
        assert len(calls) == 6


def test_joined_sums_take_the_tails_own_sums_bit_for_bit():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(200, 4)) + 5
    sa, sb = a.mean(0), rng.normal(size=4)
    head = gaussian_sums(a, sa)
    plain = gaussian_sums_joined(head, a - sa, b, sb)
    np.testing.assert_array_equal(gaussian_sums_joined(head, a - sa, b, sb, tail_sums=gaussian_sums(b, sb)), plain)
    with pytest.raises(ValueError, match="tail's own sums"):
        gaussian_sums_joined(head, a - sa, b, sb, tail_sums=gaussian_sums(b[:-1], sb))


@pytest.mark.parametrize("task_name", ["seamless/facial-motion", "seamless/gesture"])
def test_an_items_metrics_together_equal_each_alone(task_name):
    """Every default metric of the task scored in one scope (sharing) gives, bit for bit, what it
    gives scored alone; a metric that wrote into a shared array would raise here."""
    task = get_task(task_name)
    rng = np.random.default_rng(4)
    n, d = 400, 24 if "facial" in task_name else 3 * 51
    ref = rng.normal(size=(n, d)).cumsum(0) * 0.1
    inputs = {"generated": (ref + rng.normal(0, 0.3, ref.shape))[None], "reference": ref, "reference_samples": ref[None],
              "partner": rng.normal(size=(n, d)), "valid": rng.random(n) > 0.05,
              "onsets": np.sort(rng.uniform(0, n / task.fps, 12))}
    shared = {"mean": ref.mean(0), "std": ref.std(0) + 1e-6, "fps": task.fps, "si_clusters": 5,
              "si_centres": rng.normal(size=(5, d))}
    plans = [p for p in plan(task.metrics) if p.mode != "set"]
    together = item_outputs(plans, inputs, shared)
    scored = [name for name, o in together.items() if "error" not in o]
    assert len(scored) >= 6, together
    for p in plans:
        alone = item_outputs([p], inputs, shared)[p.name]
        assert alone.keys() == together[p.name].keys(), p.name
        for key, value in alone.items():
            if isinstance(value, str):
                assert value == together[p.name][key], p.name
            elif value is not None:
                np.testing.assert_array_equal(np.asarray(together[p.name][key]), np.asarray(value), err_msg=p.name)
