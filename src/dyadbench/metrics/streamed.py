"""Scoring item by item: what a worker computes per item, and how the parent combines items.

The same registered conventions as ``registry.score``, in three modes:

* ``item`` (per-item conventions): the item's value is computed once; a group's value is the mean
  over its items and the interval a bootstrap of that mean (items sorted by id, so the result does
  not depend on arrival order).
* ``sums`` (set-level conventions with a ``Streaming`` form): the item's additive statistics are
  kept as one row per item (``rows``: in memory, or on disk — ``storage.SpillRows``); a group's
  value is ``finish(Σ t_i)`` and its interval comes from Poisson bootstrap replicates folded
  from its rows in item-id order when the group is reported (``streaming.replicate_sums``), one
  group at a time: memory is one group's replicates, not every group's.
* ``sample`` (other set-level conventions): the convention's own function on a seeded bottom-k
  sample of valid frames (``streaming.FrameSample``), its interval resampling the sampled items;
  the sample size is reported with the value.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .bootstrap import percentile_interval
from .registry import (
    Convention,
    ItemSet,
    MetricResult,
    MetricSpec,
    _finite,
    _mean_interval,
    get_metric,
    score,
)
from .streaming import FrameSample, MemoryRows, replicate_sums

ALL = "all"
FRAME_AXIS_INPUTS = ("generated", "reference", "partner", "valid")  # inputs a frame sample keeps (valid frames only)


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
        return "sums" if self.conv.stream is not None else "sample"


def plan(metric_names, conventions: dict | None = None) -> list[Planned]:
    out = []
    for name in metric_names:
        spec = get_metric(name)
        conv_name = (conventions or {}).get(name) or spec.default
        out.append(Planned(name, spec, conv_name, spec.conventions[conv_name]))
    return out


def call_by_name(fn, spec: MetricSpec, inputs: dict, shared: dict, params: dict, renames=None):
    """Call ``fn`` with the arguments it names: params first, then inputs (through the spec's
    ``consumes`` map and ``renames``), then shared inputs."""
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


def item_outputs(plans: list[Planned], inputs: dict, shared: dict) -> dict:
    """One item's contribution to every metric (computed in a worker): a value (``item``), additive
    statistics (``sums``), or nothing (``sample``); ``{"error": why}`` when the metric cannot score it."""
    out = {}
    for p in plans:
        if p.mode == "sample":
            continue
        refs = p.spec.reference_inputs
        try:
            if p.mode == "item":
                fn = p.conv.fn
                out[p.name] = {"value": call_by_name(fn, p.spec, inputs, shared, dict(p.conv.params)),
                               "ref": call_by_name(fn, p.spec, inputs, shared, dict(p.conv.params), refs) if refs else None}
            else:
                fn = p.conv.stream.item_stats
                out[p.name] = {"stats": call_by_name(fn, p.spec, inputs, shared, dict(p.conv.params)),
                               "ref_stats": call_by_name(fn, p.spec, inputs, shared, dict(p.conv.params), refs) if refs else None}
        except ValueError as exc:
            out[p.name] = {"error": str(exc)}
    return out


def frame_rows(inputs: dict, keep: np.ndarray) -> dict:
    """The rows of a frame sample: frames ``keep`` of each frame-aligned input ((M, N, D) on axis 1)."""
    rows = {}
    for key in FRAME_AXIS_INPUTS:
        if key in inputs:
            x = np.asarray(inputs[key])
            rows[key] = np.moveaxis(x, 1, 0)[keep] if x.ndim == 3 else x[keep]
    return rows


class StreamCombiner:
    """Folds item outputs into per-group results; groups are ``"all"`` and ``(column, value)``."""

    def __init__(self, plans: list[Planned], *, n_boot: int, slice_boot: int, seed: int, confidence: float = 0.95,
                 sample_frames: int = 20_000, rows=None):
        self.plans, self.seed, self.confidence = plans, seed, confidence
        self.n_boot, self.slice_boot = int(n_boot), int(slice_boot)
        self.values: dict[str, dict] = {}
        self.members: dict = defaultdict(list)
        self.rows = rows if rows is not None else MemoryRows()
        self.with_stats: dict[str, set] = defaultdict(set)
        self.ref_sums: dict = {}
        self.errors: dict[str, str] = {}
        self.notes: dict = {}
        self.sample = FrameSample(sample_frames) if any(p.mode == "sample" for p in plans) else None

    def add(self, item_id: str, groups: list, outputs: dict) -> None:
        keys = [ALL, *groups]
        for key in keys:
            self.members[key].append(item_id)
        self.values[item_id] = {}
        for p in self.plans:
            got = outputs.get(p.name)
            if got is None:
                continue
            if "error" in got:
                self.errors.setdefault(p.name, got["error"])
            elif p.mode == "item":
                self.values[item_id][p.name] = (got["value"], got["ref"])
            else:
                self.rows.append(p.name, item_id, got["stats"])
                self.with_stats[p.name].add(item_id)
                for key in keys:
                    if got["ref_stats"] is not None:
                        self.ref_sums[(key, p.name)] = self.ref_sums.get((key, p.name), 0) + np.asarray(got["ref_stats"])

    def results(self, key, shared: dict) -> dict:
        """Report dicts keyed by output name for group ``key`` (metrics with an error are left out)."""
        out = {}
        for p in self.plans:
            if p.name in self.errors:
                continue
            if p.mode == "item":
                results = self._item_results(p, key)
            elif p.mode == "sums":
                results = self._sum_results(p, key, shared)
            else:
                results = self._sample_results(p, key, shared)
            for r in results:
                out[r.name] = r.to_dict()
        return out

    def _base(self, p: Planned, shared: dict, key) -> dict:
        notes = p.spec.annotate(shared) if p.spec.annotate else {}
        return dict(convention=p.conv_name, function=p.conv.function, reference_code=p.conv.reference, unit=p.spec.unit,
                    extra={**notes, **self.notes.get(p.name, {})}), (self.n_boot if key == ALL else self.slice_boot)

    def _item_results(self, p: Planned, key) -> list[MetricResult]:
        base, n_boot = self._base(p, {}, key)
        ids = sorted(self.members[key])
        pairs = [self.values[i][p.name] for i in ids if p.name in self.values[i]]
        results = []
        for part, direction in (p.spec.parts.items() if p.spec.parts else [(p.name, p.spec.direction)]):
            pick = (lambda v: None if v is None else v[part]) if p.spec.parts else (lambda v: v)
            v, missing = _finite([pick(a) for a, _ in pairs])
            refs = _finite([pick(r) for _, r in pairs])[0] if p.spec.reference_inputs else np.empty(0)
            value, low, high = _mean_interval(v, n_boot, self.seed, self.confidence)
            extra = {**base["extra"], **({"items_without_value": missing} if missing else {})}
            results.append(MetricResult(part, value, low, high, n=len(v), direction=direction,
                                        part_of=p.name if p.spec.parts else None,
                                        reference=float(refs.mean()) if len(refs) else None,
                                        **{**base, "extra": extra}))
        return results

    def _sum_results(self, p: Planned, key, shared: dict) -> list[MetricResult]:
        base, n_boot = self._base(p, shared, key)
        ids = sorted(i for i in self.members[key] if i in self.with_stats[p.name])
        if not ids:
            return []
        fn = p.conv.stream.finish
        finish = lambda stats, **extra: call_by_name(fn, p.spec, {"stats": stats}, shared, {**p.conv.params, **extra})
        total, reps, n_items = replicate_sums(self.rows.chunks(p.name, ids), self.seed, n_boot, self.rows.size(p.name))
        value = finish(total)
        low = high = None
        if n_items >= 2 and len(reps):
            # Replicates feed percentiles: the fast route of the Fréchet finish is precise enough for them.
            fast = {"exact": False} if "exact" in inspect.signature(fn).parameters else {}
            values = np.array([finish(r, **fast) for r in reps], float)
            values = values[np.isfinite(values)]
            if len(values) >= 2:
                low, high = percentile_interval(values, self.confidence)
        ref = finish(self.ref_sums[(key, p.name)]) if (key, p.name) in self.ref_sums else None
        value = float(value) if value is not None and np.isfinite(value) else None
        base["extra"] = {**base["extra"], "interval_method": f"Poisson bootstrap over items ({len(reps)} replicates)",
                         "computed_as": f"{_dotted(p.conv.stream.finish)}(Σ items {_dotted(p.conv.stream.item_stats)})"}
        return [MetricResult(p.name, value, low, high, n=n_items, direction=p.spec.direction,
                             reference=None if ref is None or not np.isfinite(ref) else float(ref), **base)]

    def add_sample(self, item_id: str, priorities: np.ndarray, rows: dict, frames_seen: int) -> None:
        self.sample.add(item_id, priorities, rows, frames_seen)

    def _sample_results(self, p: Planned, key, shared: dict) -> list[MetricResult]:
        members = set(self.members[key])
        ids = sorted({i for i in self.sample.items if i in members})
        if not ids:
            return []
        items: dict[str, list] = defaultdict(list)
        for item_id in ids:
            pick = self.sample.items == item_id
            for k, v in self.sample.rows.items():
                x = v[pick]
                items[k].append(np.moveaxis(x, 0, 1) if x.ndim == 3 else x)
        if "reference" in items:
            items["reference_samples"] = [r[None] for r in items["reference"]]
        data = ItemSet(ids, dict(items), shared)
        n_boot = self.n_boot if key == ALL else self.slice_boot
        results = score(p.name, data, convention=p.conv_name, n_boot=n_boot, seed=self.seed, confidence=self.confidence)
        frames = int(sum(len(v) for v in items["valid"]))
        for r in results:
            r.extra = {**r.extra, "frames_sampled": frames, "sample_of_frames_seen": self.sample.frames_seen}
        return results


def _dotted(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"
