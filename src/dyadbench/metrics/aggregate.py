r"""The one scoring engine: each item's contribution → the set's value, its interval, its slices.

Every door goes through ``Aggregator``: ``evaluate`` (items scored in worker processes or Ray
actors, their outputs folded here), ``registry.score`` and ``dyadbench.metrics.<name>`` (items
of an ``ItemSet`` computed in-process by the same ``item_outputs``). A metric's registered
convention is computed in one of three modes:

* ``item`` (per-item conventions): one value per item; the set's value is their mean.
* ``sums`` (set-level conventions with a ``Streaming`` form): one additive statistics row per
  item (kept by a rows store: in memory, or on disk for release-size splits); the set's value is
  ``finish(Σ_i t_i)``.
* ``set`` (other set-level conventions): the convention's function on the items' inputs — on a
  seeded bottom-k sample of their valid frames when the inputs are frames (memory flat in frames),
  on the inputs themselves otherwise (ranks, pool3 features).

Intervals by family (``Convention.family``), each containing its estimate by construction:

* ``mean``: percentile bootstrap of the mean over items;
* ``frechet``: the delta method over items with the reference's sampling included
  (``frechet_interval``), value ± t·se (Student, items − 1 degrees of freedom), clipped at 0;
  where it cannot apply (a value at round-off level, where its first-order terms vanish, or
  fewer than ``MIN_DELTA_UNITS`` items) the re-centred bootstrap below;
* ``bootstrap``: an item bootstrap (Poisson weights seeded by item id in ``sums`` mode, so the
  result does not depend on arrival order; multinomial otherwise) whose replicates are re-centred
  on the estimate, ``[v − (m − q_lo), v + (q_hi − m)]`` with m their median: a resampled
  entropy or Fréchet distance is biased, so raw percentiles sit beside the estimate. The
  replicates' mean minus the estimate is reported as ``bias``.

Each headline result also carries its linearisation (``linear``): per-item influences (``mean``,
delta method) or the bootstrap replicates, from which ``compare.paired_difference`` gives the
difference between two systems scored on the same items.
"""

from __future__ import annotations

import inspect
from collections import defaultdict

import numpy as np

from .bootstrap import bootstrap_mean_ci, pair_replicates, percentile_interval
from .frechet_interval import frechet_delta_from_sums, frechet_interval
from .item_plan import (  # the plan and per-item outputs, re-exported beside the engine that folds them
    REFERENCE_PART,
    Planned,
    call_by_name,
    fit_sample_size,
    item_outputs,
    plan,
    plan_signature,
    prepare,
)
from .spec import MetricResult
from .streaming import FrameSample, MemoryRows, checked_rows, gaussian_from_sums, gaussian_sums_dim, replicate_sums

ALL = "all"
SAMPLE_FRAMES = 20_000  # frames kept for set-level conventions without a streaming form
MIN_DELTA_UNITS = 10  # below this many items the delta method's variance estimate is too rough
ROUND_OFF = 1e-9  # a Fréchet value below ROUND_OFF x (tr Σ₁ + tr Σ₂) is round-off
MIN_RESAMPLES = 20  # fewer bootstrap resamples cannot place a 95 % interval: none is reported
SMALL_MEAN = 30  # below this many items a bootstrap of a skewed mean under-covers (benchmarks/bench_coverage.py)


def recentred(values: np.ndarray, value: float, confidence: float) -> tuple[float, float, float]:
    """Bootstrap replicates' central spread re-centred on the estimate, and their bias."""
    lo, hi = percentile_interval(values, confidence)
    mid = float(np.median(values))
    return value - (mid - lo), value + (hi - mid), float(np.mean(values) - value)


class Aggregator:
    """Folds item outputs into per-group results; groups are ``"all"`` and ``(column, value)``."""

    def __init__(self, plans: list[Planned], *, n_boot: int, slice_boot: int, seed: int, confidence: float = 0.95,
                 sample_frames: int = SAMPLE_FRAMES, rows=None):
        self.plans, self.seed, self.confidence = plans, seed, confidence
        self.n_boot, self.slice_boot = int(n_boot), int(slice_boot)
        self.values: dict[str, dict] = {}
        self.members: dict = defaultdict(list)
        self.rows = rows if rows is not None else MemoryRows()
        self.with_stats: dict[str, set] = defaultdict(set)
        self.ref_sums: dict = {}
        self.kept: dict[str, dict] = {}  # per item: inputs of the set-level plans that are not sampled
        self.errors: dict[str, str] = {}
        self.notes: dict = {}
        self.sample = FrameSample(sample_frames) if any(p.sampled for p in plans) else None
        self._keep_keys = {k for p in plans if p.mode == "set" and not p.sampled for k in p.spec.consumes.values()}

    @property
    def sample_frames(self) -> int:
        return self.sample.k if self.sample is not None else 0

    def add(self, item_id: str, groups: list, outputs: dict, inputs: dict | None = None) -> None:
        """``inputs``: the item's inputs, kept for set-level conventions that need them whole."""
        keys = [ALL, *groups]
        for key in keys:
            self.members[key].append(item_id)
        self.values[item_id] = {}
        if self._keep_keys and inputs is not None:
            self.kept[item_id] = {k: v for k, v in inputs.items() if k in self._keep_keys}
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

    def add_sample(self, item_id: str, priorities: np.ndarray, rows: dict, frames_seen: int) -> None:
        self.sample.add(item_id, priorities, rows, frames_seen)

    def results(self, key, shared: dict, *, linear: bool = False) -> dict:
        """Report dicts keyed by output name for group ``key`` (metrics with an error are left out);
        ``linear=True`` keeps each result's linearisation under ``"linear"`` (for paired comparisons)."""
        out = {}
        for p in self.plans:
            if p.name in self.errors:
                continue
            for r in self.result_objects(p, key, shared):
                d = r.to_dict()
                if not linear:
                    d.pop("linear", None)
                out[r.name] = d
        return out

    def result_objects(self, p: Planned, key, shared: dict) -> list[MetricResult]:
        n_boot = self.n_boot if key == ALL else self.slice_boot
        if p.mode == "item":
            return self._item_results(p, key, n_boot)
        if p.mode == "sums":
            return self._sum_results(p, key, shared, n_boot)
        return self._set_results(p, key, shared, n_boot)

    def _base(self, p: Planned, shared: dict) -> dict:
        notes = p.spec.annotate(shared) if p.spec.annotate else {}
        if 0 < min(self.n_boot, self.slice_boot) < MIN_RESAMPLES:
            notes = {**notes, "interval_note": f"bootstrap intervals need at least {MIN_RESAMPLES} resamples; "
                                               "none is reported where fewer were asked for"}
        return dict(convention=p.conv_name, function=p.conv.function, reference_code=p.conv.reference, unit=p.spec.unit,
                    extra={**notes, **self.notes.get(p.name, {})})

    def _clip(self, p: Planned, low, high):
        lo, hi = p.spec.lower, p.spec.upper
        if low is not None and lo is not None:
            low = max(low, lo)
        if high is not None and hi is not None:
            high = min(high, hi)
        return low, high

    def _item_results(self, p: Planned, key, n_boot: int) -> list[MetricResult]:
        base = self._base(p, {})
        ids = sorted(i for i in self.members[key] if p.name in self.values[i])
        results = []
        for part, direction in (p.spec.parts.items() if p.spec.parts else [(p.name, p.spec.direction)]):
            pick = (lambda v: None if v is None else v[part]) if p.spec.parts else (lambda v: v)
            raw = np.array([np.nan if (x := pick(self.values[i][p.name][0])) is None else x for i in ids], float)
            ok = np.isfinite(raw)
            v, kept_ids = raw[ok], [i for i, good in zip(ids, ok) if good]
            refs = np.array([pick(self.values[i][p.name][1]) for i in ids if p.spec.reference_inputs], dtype=float)
            refs = refs[np.isfinite(refs)]
            extra = {**base["extra"], **({"items_without_value": int((~ok).sum())} if (~ok).any() else {}),
                     **({"also_known_as": p.spec.aliases[part]} if part in p.spec.aliases else {})}
            value = low = high = None
            if len(v):
                value = float(v.mean())
                extra["linear"] = {"kind": "influence", "ids": kept_ids, "values": ((v - value) / len(v)).tolist()}
                if len(v) >= 2 and n_boot >= MIN_RESAMPLES:
                    r = bootstrap_mean_ci(v, n_resamples=n_boot, seed=self.seed, confidence=self.confidence)
                    low, high = self._clip(p, r["low"], r["high"])
                    extra["interval_method"] = f"bootstrap of the mean over items ({n_boot} resamples, percentile)"
                    if len(v) < SMALL_MEAN:
                        extra["interval_note"] = (f"only {len(v)} items: on skewed per-item values this interval covers "
                                                  "less than 95 % (75–93 % measured at 5–20 items)")
                scale = max(float(np.max(np.abs(v))), float(np.abs(refs).max()) if len(refs) else 0.0)
                extra["tolerance"] = 1e-12 * scale
            results.append(MetricResult(part, value, low, high, n=len(v), direction=direction,
                                        part_of=p.name if p.spec.parts else None,
                                        reference=float(refs.mean()) if len(refs) else None, **{**base, "extra": extra}))
        return results

    def _sum_results(self, p: Planned, key, shared: dict, n_boot: int) -> list[MetricResult]:
        base = self._base(p, shared)
        ids = sorted(i for i in self.members[key] if i in self.with_stats[p.name])
        if not ids:
            return []
        fn = p.conv.stream.finish
        finish = lambda stats, **extra: call_by_name(fn, p.spec, {"stats": stats}, shared, {**p.conv.params, **extra})
        size = self.rows.size(p.name)
        chunks = lambda: self.rows.chunks(p.name, ids)
        # One pass for the sum (and, for a Fréchet metric, the two half-samples' sums), one more for
        # the delta method's influences: the group's rows are read twice, not four times.
        frechet = p.conv.family == "frechet"
        total, halves, n_items = _sums_and_halves(chunks(), ids, size, halves=frechet)
        value = finish(total)
        value = float(value) if value is not None and np.isfinite(value) else None
        extra = {"computed_as": f"{_dotted(fn)}(Σ items {_dotted(p.conv.stream.item_stats)})"}
        low = high = None
        if value is not None and frechet:
            extra["tolerance"] = ROUND_OFF * _trace(total, size // 2)
            extra.update(_half_bias(halves, n_items, finish, value))
            if n_items >= MIN_DELTA_UNITS and value > extra["tolerance"]:  # only then is the delta method computed
                delta = frechet_delta_from_sums(chunks, size // 2, confidence=self.confidence, total=total)
                low, high = value - (delta["value"] - delta["low"]), value + (delta["high"] - delta["value"])
                extra.update(interval_method=f"delta method over {n_items} items (reference sampling included)",
                             se=delta["se"], linear={"kind": "influence", "ids": list(delta["influence"]),
                                                     "values": list(delta["influence"].values())})
        if value is not None and low is None and n_items >= 2 and n_boot >= MIN_RESAMPLES:
            # Poisson replicates, re-centred: the fast route of the Fréchet finish is precise enough for them.
            _, reps, _ = replicate_sums(chunks(), self.seed, n_boot, size)
            fast = {"exact": False} if "exact" in inspect.signature(fn).parameters else {}
            values = np.array([finish(r, **fast) for r in reps], float)
            if np.isfinite(values).sum() >= 2:
                low, high, bias = recentred(values[np.isfinite(values)], value, self.confidence)
                extra.setdefault("bias", bias)
                extra.update(interval_method=f"Poisson bootstrap over items ({len(values)} replicates), re-centred on "
                                             "the estimate", linear={"kind": "replicates", "seed": self.seed,
                                                                     "ids": ids, "values": values.tolist()})
        low, high = self._clip(p, low, high)
        ref = finish(self.ref_sums[(key, p.name)]) if (key, p.name) in self.ref_sums else None
        ref = None if ref is None or not np.isfinite(ref) else float(ref)
        if value is not None:  # what equals the reference up to round-off (a copy of the true frames) is that
            extra.setdefault("tolerance", 1e-12 * max(abs(value), abs(ref or 0.0)))
        base["extra"] = {**base["extra"], **extra}
        return [MetricResult(p.name, value, low, high, n=n_items, direction=p.spec.direction, reference=ref, **base)]

    def _set_inputs(self, p: Planned, key) -> tuple[list[str], dict]:
        members = set(self.members[key])
        items: dict[str, list] = defaultdict(list)
        if p.sampled:
            positions = self.sample.item_positions()
            ids = sorted(i for i in positions if i in members)
            for item_id in ids:
                pick = positions[item_id]
                for k, v in self.sample.rows.items():
                    x = v[pick]
                    items[k].append(np.moveaxis(x, 0, 1) if x.ndim == 3 else x)
            if "reference" in items:
                items["reference_samples"] = [r[None] for r in items["reference"]]
        else:
            ids = sorted(i for i in members if i in self.kept)
            for item_id in ids:
                for k, v in self.kept[item_id].items():
                    items[k].append(v)
        return ids, dict(items)

    def _set_results(self, p: Planned, key, shared: dict, n_boot: int) -> list[MetricResult]:
        base = self._base(p, shared)
        ids, items = self._set_inputs(p, key)
        if not ids:
            return []
        params = dict(p.conv.params)
        fn = lambda sub, renames=None: call_by_name(p.conv.fn, p.spec, sub, shared, params, renames)
        value = fn(items)
        value = float(value) if value is not None and np.isfinite(value) else None
        extra = {}
        low = high = None
        if value is not None and p.conv.family == "frechet" and len(ids) >= 2:
            x, gx, y, gy = call_by_name(p.conv.frechet_rows, p.spec, items, shared, params)
            res = frechet_interval(x, y, groups=gx, y_groups=gy, n_resamples=max(n_boot, 2), seed=self.seed,
                                   confidence=self.confidence)
            low, high = value - (res["value"] - res["low"]), value + (res["high"] - res["value"])
            extra.update(tolerance=ROUND_OFF * res["trace"], bias=res["bias"], se=res["se"],
                         interval_method=("delta method over items (reference sampling included)" if res["method"] == "delta"
                                          else f"item bootstrap ({n_boot} resamples), re-centred on the estimate"))
            if res["method"] == "delta":
                extra["linear"] = {"kind": "influence", "ids": [ids[int(g)] for g in res["influence"]],
                                   "values": list(res["influence"].values())}
        elif value is not None and len(ids) >= 2 and n_boot >= MIN_RESAMPLES:
            if p.conv.pair_terms is not None:
                terms = call_by_name(p.conv.pair_terms, p.spec, items, shared, params)
                reps, method = pair_replicates(*terms, len(ids), n_boot, self.seed), PAIR_BOOTSTRAP.format(n_boot=n_boot)
            else:
                rng = np.random.default_rng(self.seed)
                reps, method = [], f"item bootstrap ({n_boot} resamples), re-centred on the estimate"
                for _ in range(n_boot):
                    pick = rng.integers(0, len(ids), len(ids))
                    reps.append(fn({k: [v[i] for i in pick] for k, v in items.items()}))
            reps = np.asarray(reps, float)
            if np.isfinite(reps).sum() >= 2:
                low, high, bias = recentred(reps[np.isfinite(reps)], value, self.confidence)
                extra.update(bias=bias, interval_method=method,
                             linear={"kind": "replicates", "seed": self.seed, "ids": ids, "values": reps.tolist()})
                if p.conv.pair_terms is not None and len(ids) < SMALL_MEAN:
                    extra["interval_note"] = (f"only {len(ids)} items: this interval covers less than 95 % (85-91 % "
                                              "measured at 5-20 items; recomputing the diversity per resample: 90.5 % at 20)")
        low, high = self._clip(p, low, high)
        ref = fn(items, p.spec.reference_inputs) if p.spec.reference_inputs else None
        ref = None if ref is None or not np.isfinite(ref) else float(ref)
        if value is not None:
            extra.setdefault("tolerance", 1e-12 * max(abs(value), abs(ref or 0.0)))
        if p.sampled:
            extra.update(frames_sampled=int(sum(len(v) for v in items.get("valid", []))),
                         sample_of_frames_seen=self.sample.frames_seen)
        base["extra"] = {**base["extra"], **extra}
        return [MetricResult(p.name, value, low, high, n=len(ids), direction=p.spec.direction, reference=ref, **base)]


PAIR_BOOTSTRAP = ("item bootstrap of the pairs ({n_boot} resamples: each pair weighted by its two items' resample "
                  "counts, the pairs themselves resampled), re-centred on the estimate")


def _trace(total: np.ndarray, half: int) -> float:
    """tr Σ₁ + tr Σ₂ of summed ``[generated | reference]`` Gaussian sums (the scale of round-off)."""
    d = gaussian_sums_dim(half)
    return float(sum(np.trace(gaussian_from_sums(part, np.zeros(d))[2]) for part in (total[:half], total[half:])))


def _sums_and_halves(chunks, ids: list[str], size: int, *, halves: bool) -> tuple[np.ndarray, list | None, int]:
    """``(Σ rows, [Σ rows of even rank, Σ rows of odd rank] or None, number of rows)`` in one pass;
    the sum is ``streaming.replicate_sums``'s total (the same additions, so the same bits)."""
    rank = {i: r for r, i in enumerate(ids)}
    total, parts, n = np.zeros(size), [0.0, 0.0], 0
    for chunk_ids, rows in chunks:
        rows = checked_rows(chunk_ids, rows, size)
        total += rows.sum(axis=0)
        n += len(chunk_ids)
        if halves:
            odd = np.array([rank[i] % 2 for i in chunk_ids], bool)
            parts[0] = parts[0] + rows[~odd].sum(axis=0)
            parts[1] = parts[1] + rows[odd].sum(axis=0)
    return total, parts if halves else None, n


def _half_bias(halves: list, n_items: int, finish, value: float) -> dict:
    """FD_n's upward bias ≈ mean(FD of each half of the items) − FD_n (Chong & Forsyth's c/n)."""
    if n_items < 4:
        return {}
    fds = [finish(h) for h in halves]
    if not all(np.isfinite(fds)):
        return {}
    bias = float(np.mean(fds) - value)
    return {"bias": bias, "value_unbiased": value - bias}


def _dotted(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


__all__ = ["ALL", "MIN_DELTA_UNITS", "REFERENCE_PART", "SAMPLE_FRAMES", "Aggregator", "Planned", "call_by_name",
           "fit_sample_size", "item_outputs", "plan", "plan_signature", "prepare", "recentred"]
