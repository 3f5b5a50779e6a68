"""The public door to the metric registry: ``score(name, items)`` and the declarations.

A task names metrics; a protocol gathers each item's inputs and the one engine
(``metrics.aggregate``) scores them with the registered function of the chosen convention — the
same function the tests check against each reference code. ``report.json`` entries carry the
function's dotted name, so every number is one hop from its code. ``score`` is that engine on an
in-memory ``ItemSet``: value, interval and linearisation equal ``evaluate``'s on the same items.
"""

from __future__ import annotations

import numpy as np

from .aggregate import ALL, SAMPLE_FRAMES, Aggregator, Planned, fit_sample_size, item_outputs, plan, prepare
from .motion import standardization_stats
from .spec import (
    DIRECTIONS,
    INTERVALS,
    METRICS,
    Convention,
    ItemSet,
    MetricResult,
    MetricSpec,
    Streaming,
    get_metric,
    list_metrics,
    register_metric,
)
from .streaming import FrameSample, item_sample

__all__ = ["DIRECTIONS", "INTERVALS", "METRICS", "Convention", "ItemSet", "MetricResult", "MetricSpec", "Streaming",
           "get_metric", "list_metrics", "register_metric", "score"]


def score(name: str, data: ItemSet, idx=None, *, convention: str | None = None, n_boot: int = 200, seed: int = 0,
          confidence: float = 0.95) -> list[MetricResult]:
    """Score metric ``name`` on items ``idx`` of ``data`` (default: all); one result per output (part).

    Raises ``ValueError`` when the convention cannot score an item (its function's message)."""
    return score_items(plan([name], {name: convention} if convention else None), data, idx, n_boot=n_boot, seed=seed,
                       confidence=confidence)


def score_items(plans: list[Planned], data: ItemSet, idx=None, *, n_boot: int = 200, seed: int = 0,
                confidence: float = 0.95, key=ALL) -> list[MetricResult]:
    """Score ``plans`` on items ``idx`` of ``data`` through the same ``item_outputs``, frame sample
    and ``Aggregator`` as ``evaluate``: the in-process door. Item outputs and fitted shared inputs
    are memoised on ``data``, so slices reuse them."""
    idx = list(range(len(data.ids))) if idx is None else list(idx)
    shared = dict(data.shared)
    if "mean" not in shared and "reference" in data.items and "valid" in data.items:
        # the ground truth's per-dim statistics (standardized conventions; the Fréchet sums' shift), as evaluate's
        tag = ("standardization",)
        if tag not in data._memo:
            data._memo[tag] = standardization_stats(data.items["reference"], data.items["valid"])
        shared["mean"], shared["std"] = data._memo[tag]
    k_fit = fit_sample_size(plans, SAMPLE_FRAMES)
    if k_fit:
        tag = ("prepared", tuple((p.name, p.conv_name) for p in plans), seed)
        if tag not in data._memo:
            gt = FrameSample(k_fit)
            for i, item_id in enumerate(data.ids):
                inputs = data.item_inputs(i)
                gt.add(item_id, *item_sample(item_id, seed, np.asarray(inputs["valid"]), {"reference": inputs["reference"]}, k_fit))
            ref = gt.rows.get("reference", np.empty((0, len(shared["mean"]))))
            data._memo[tag] = prepare(plans, ref, shared)
        shared.update(data._memo[tag])
    agg = Aggregator(plans, n_boot=n_boot, slice_boot=n_boot, seed=seed, confidence=confidence)
    for i in idx:
        item_id = data.ids[i]
        inputs = data.item_inputs(i)
        tag = ("outputs", tuple((p.name, p.conv_name) for p in plans), i, seed)
        if tag not in data._memo:
            data._memo[tag] = item_outputs(plans, inputs, shared)
        agg.add(item_id, [], data._memo[tag], inputs)
        if agg.sample is not None:
            agg.add_sample(item_id, *item_sample(item_id, seed, np.asarray(inputs["valid"]), inputs, agg.sample_frames))
    out = []
    for p in plans:
        if p.name in agg.errors:
            raise ValueError(agg.errors[p.name])
        out += agg.result_objects(p, ALL, shared)
    return out
