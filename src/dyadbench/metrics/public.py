"""``dyadbench.metrics.<name>``: every registered metric as a function of arrays, through the one engine.

``dyadbench.metrics.ffd(generated=[...], reference=[...])`` is ``registry.score("ffd", ItemSet(...))``:
the registered convention's function (chosen by name, ``convention=``), its interval and its
linearisation, equal to what ``evaluate`` reports on the same items. Keyword arguments given as
lists (one entry per item) are per-item inputs; anything else is shared by all items. Items are
named ``ids`` (default ``"0"``, ``"1"``, ...: resampling and frame samples are seeded by item id).
A per-item ``generated`` of shape (N, D) is one sample, (M, N, D) M samples; ``valid`` defaults
to every frame.
"""

from __future__ import annotations

import numpy as np

from .registry import ItemSet, MetricResult, get_metric, list_metrics, score


def _items(kwargs: dict) -> tuple[dict, dict]:
    items = {k: list(v) for k, v in kwargs.items() if isinstance(v, (list, tuple))}
    shared = {k: v for k, v in kwargs.items() if k not in items}
    if not items:
        raise ValueError("pass per-item inputs as lists, one entry per item (e.g. generated=[item0, item1, ...])")
    n = {len(v) for v in items.values()}
    if len(n) != 1:
        raise ValueError(f"per-item inputs have different numbers of items: { {k: len(v) for k, v in items.items()} }")
    if "generated" in items:
        items["generated"] = [np.asarray(g)[None] if np.asarray(g).ndim == 2 else np.asarray(g) for g in items["generated"]]
        items.setdefault("valid", [np.ones(g.shape[1], bool) for g in items["generated"]])
    return items, shared


def metric_function(name: str):
    spec = get_metric(name)

    def run(*, convention: str | None = None, ids=None, n_boot: int = 200, seed: int = 0, confidence: float = 0.95,
            **inputs) -> MetricResult | list[MetricResult]:
        items, shared = _items(inputs)
        n = len(next(iter(items.values())))
        shared.setdefault("fps", 30.0)
        data = ItemSet([str(i) for i in range(n)] if ids is None else [str(i) for i in ids], items, shared)
        results = score(name, data, convention=convention, n_boot=n_boot, seed=seed, confidence=confidence)
        return results if spec.parts else results[0]

    run.__name__ = run.__qualname__ = name
    conventions = ", ".join(f"{c!r}{' (default)' if c == spec.default else ''}" for c in spec.conventions)
    run.__doc__ = (f"{spec.description} ({spec.direction} is better).\n\nConventions: {conventions}; inputs: "
                   f"{', '.join(sorted(set(spec.consumes.values())))}. Returns a ``MetricResult`` (value, low, high, "
                   "interval method); see ``dyadbench.metrics.public``.")
    return run


FUNCTIONS = {spec.name: metric_function(spec.name) for spec in list_metrics()}
