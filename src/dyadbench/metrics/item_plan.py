"""Each item's contribution, computed where the item is read (a worker, or this process): the
metrics' plan (which convention, which mode) and the one argument binder.

``item_outputs`` gives one item's per-item values and additive statistics for every planned
metric; ``metrics.aggregate.Aggregator`` (the one scoring engine) folds them into values,
intervals and slices. Kept apart so a worker imports what it computes, not the engine.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

import numpy as np

from .item_memo import item_scope
from .spec import Convention, MetricSpec, get_metric

REFERENCE_PART = ".reference_part"  # key suffix of a metric's data-only statistics among the known refs


@dataclass(frozen=True)
class Planned:
    name: str
    spec: MetricSpec
    conv_name: str
    conv: Convention

    @property
    def mode(self) -> str:
        if self.conv.per_item:
            return "item"
        return "sums" if self.conv.stream is not None else "set"

    @property
    def sampled(self) -> bool:
        """A ``set`` convention on frames (it consumes the validity mask): scored on the seeded frame sample."""
        return self.mode == "set" and "valid" in self.spec.consumes.values()


def plan(metric_names, conventions: dict | None = None) -> list[Planned]:
    out = []
    for name in metric_names:
        spec = get_metric(name)
        conv_name = (conventions or {}).get(name) or spec.default
        if conv_name not in spec.conventions:
            raise ValueError(f"metric {name}: unknown convention {conv_name!r}; choose from {sorted(spec.conventions)}")
        out.append(Planned(name, spec, conv_name, spec.conventions[conv_name]))
    return out


def call_by_name(fn, spec: MetricSpec, inputs: dict, shared: dict, params: dict, renames=None):
    """Call ``fn`` with the arguments it names: params first, then inputs (through the spec's
    ``consumes`` map and ``renames``), then shared inputs. The one argument binder."""
    kwargs, var_kw = {}, False
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
            continue
        if p.kind is p.VAR_POSITIONAL:
            continue
        if p.name in params:
            kwargs[p.name] = params[p.name]
            continue
        key = spec.consumes.get(p.name, p.name)
        key = (renames or {}).get(key, key)
        if key in inputs:
            kwargs[p.name] = inputs[key]
        elif key in shared:
            kwargs[p.name] = shared[key]
        elif p.default is p.empty:
            raise KeyError(f"metric {spec.name}: the protocol gave no input {key!r}")
    if var_kw:
        kwargs.update({k: v for k, v in params.items() if k not in kwargs})
    return fn(**kwargs)


def prepare(plans: list[Planned], reference_frames: np.ndarray, shared: dict) -> dict:
    """Shared inputs fitted on a sample of ground-truth frames (e.g. SI-diversity's clusters)."""
    out = {}
    for p in plans:
        if p.mode == "sums" and p.conv.stream.prepare is not None:
            out.update(call_by_name(p.conv.stream.prepare, p.spec, {"frames": reference_frames}, shared, dict(p.conv.params)))
    return out


def fit_sample_size(plans: list[Planned], default: int) -> int:
    """Ground-truth frames to keep for the plans' fits (0 when none fits anything)."""
    fits = [p for p in plans if p.mode == "sums" and p.conv.stream.prepare is not None]
    return max([int(p.conv.params.get("fit_frames") or default) for p in fits], default=0)


def item_outputs(plans: list[Planned], inputs: dict, shared: dict, seconds: dict | None = None,
                 known_refs: dict | None = None) -> dict:
    """One item's contribution to every metric (computed in a worker): a value (``item``), additive
    statistics (``sums``), or nothing (``set``); ``{"error": why}`` when the metric cannot score it.
    ``seconds`` (optional) accumulates each metric's time: where an evaluation's time goes.
    ``known_refs``: the ground truth's own values (``ref``/``ref_stats``) by metric name, and the
    data-only parts of statistics (``Streaming.reference_part``) by metric name + ``REFERENCE_PART``,
    from an earlier evaluation of the same data — they depend on the data alone, so they are not
    recomputed. A part computed here is returned under the metric's ``"reference_part"``.
    The item's metrics share their common intermediate arrays (``item_memo``)."""
    with item_scope():
        return _item_outputs(plans, inputs, shared, seconds, known_refs or {})


def _item_outputs(plans: list[Planned], inputs: dict, shared: dict, seconds: dict | None, known_refs: dict) -> dict:
    out = {}
    for p in plans:
        if p.mode == "set":
            continue
        t0 = time.perf_counter()
        refs = p.spec.reference_inputs
        params = dict(p.conv.params)
        fn = p.conv.fn if p.mode == "item" else p.conv.stream.item_stats
        key = ("ref", "value") if p.mode == "item" else ("ref_stats", "stats")
        part_fn, new_part = p.conv.stream.reference_part if p.mode == "sums" else None, None
        try:
            if part_fn is not None:
                part = known_refs.get(p.name + REFERENCE_PART)
                if part is None:
                    part = new_part = call_by_name(part_fn, p.spec, inputs, shared, params)
                params["reference_part"] = part
            value = call_by_name(fn, p.spec, inputs, shared, params)
            if not refs:
                ref = None
            elif p.name in known_refs:
                ref = known_refs[p.name]
            else:
                ref = call_by_name(fn, p.spec, inputs, shared, params, refs)
            out[p.name] = {key[1]: value, key[0]: ref}
            if new_part is not None:  # for the caller to keep (the streamed evaluation caches it per item and data)
                out[p.name]["reference_part"] = new_part
        except ValueError as exc:
            out[p.name] = {"error": str(exc)}
        if seconds is not None:
            seconds[p.name] = seconds.get(p.name, 0.0) + time.perf_counter() - t0
    return out


def plan_signature(plans: list[Planned]) -> str:
    """What the ground truth's own values depend on besides the data: each metric's convention."""
    return ";".join(f"{p.name}={p.conv_name}:{p.conv.fn.__module__}.{p.conv.fn.__qualname__}:"
                    f"{sorted((k, repr(v)) for k, v in p.conv.params.items())}" for p in plans)
