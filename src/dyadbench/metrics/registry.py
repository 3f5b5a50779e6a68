"""The one metric registry: name -> spec (function, direction, inputs, resampling unit, conventions).

A task names metrics; a protocol gathers each item's inputs (``ItemSet``) and calls ``score``,
which calls the registered function of the chosen convention — the same function the tests
check against each reference code. ``report.json`` entries carry the function's dotted name, so
every number is one hop from its code.

Two kinds of convention:

* ``per_item``: ``fn`` scores one item (clip); the value is the mean over items (the references
  that average per-clip values: LM-listener, DIM's FD, REACT's per-speaker metrics). The
  interval is a bootstrap of that mean over items.
* set-level: ``fn`` scores the whole set of items (pooled frames). The interval resamples items
  and calls ``fn`` again, or a convention's exact fast equivalent (``interval``; e.g. the grouped
  Fréchet bootstrap, which resamples the same items without re-stacking frames).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .bootstrap import bootstrap_mean_ci, percentile_interval

DIRECTIONS = ("lower", "higher", "closer to reference")


@dataclass(frozen=True)
class Streaming:
    """How a set-level convention is computed item by item (``metrics.streamed``): ``item_stats``
    gives one item's additive statistics (a flat float vector), ``finish`` the value from their
    sum; ``prepare`` (optional) fits what the items need from a seeded sample of ground-truth frames
    (e.g. SI-diversity's clusters) and returns it as shared inputs. Arguments are taken by name
    from the item's inputs, the shared inputs and the convention's params, as for ``fn``."""

    item_stats: Callable
    finish: Callable
    prepare: Callable | None = None


@dataclass(frozen=True)
class Convention:
    fn: Callable
    per_item: bool
    description: str
    reference: str = "dyadbench"  # the reference code (repository @ commit, file) it reproduces
    params: Mapping = field(default_factory=dict)
    interval: Callable | None = None  # set-level only: (inputs, n_boot, seed, confidence) -> (low, high)
    # How the protocol must prepare the inputs (e.g. which feature extractor), never passed to ``fn``.
    features: Mapping = field(default_factory=dict)
    # Set-level only: the streaming form (sums of per-item statistics). Without it, a set-level
    # convention is computed on a seeded sample of frames when the evaluation streams.
    stream: Streaming | None = None

    @property
    def function(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


@dataclass(frozen=True)
class MetricSpec:
    name: str
    description: str
    direction: str
    consumes: Mapping[str, str]  # function argument -> input name of the ItemSet
    conventions: Mapping[str, Convention]
    default: str
    unit: str = "items"  # what the interval resamples
    parts: Mapping[str, str] = field(default_factory=dict)  # part name -> direction (fn returns a dict)
    # Input renames that score the ground truth itself: the value a "closer to reference" metric aims at.
    reference_inputs: Mapping[str, str] = field(default_factory=dict)
    annotate: Callable[[dict], dict] | None = None  # extra fields from shared inputs (e.g. the k actually used)

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.name}: direction {self.direction!r} not in {DIRECTIONS}")
        if self.default not in self.conventions:
            raise ValueError(f"metric {self.name}: default convention {self.default!r} is not declared")

    def outputs(self) -> tuple[str, ...]:
        """Names this metric reports under: itself, or each of its parts."""
        return tuple(self.parts) or (self.name,)


METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec) -> MetricSpec:
    if spec.name in METRICS:
        raise ValueError(f"metric {spec.name!r} is already registered")
    METRICS[spec.name] = spec
    return spec


def get_metric(name: str) -> MetricSpec:
    _load_catalog()
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; registered: {', '.join(sorted(METRICS))}")
    return METRICS[name]


def list_metrics() -> list[MetricSpec]:
    _load_catalog()
    return [METRICS[k] for k in sorted(METRICS)]


def _load_catalog() -> None:
    from . import catalog  # noqa: F401 - registers the built-in metrics


@dataclass
class MetricResult:
    """One reported number: value, interval, and where it comes from."""

    name: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    direction: str
    convention: str
    function: str
    reference_code: str
    unit: str
    part_of: str | None = None
    reference: float | None = None  # the ground truth's own value ("closer to reference" metrics)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "better": self.direction,
               "convention": self.convention, "function": self.function, "reference_code": self.reference_code,
               "ci_unit": self.unit}
        if self.part_of:
            out["part_of"] = self.part_of
        if self.reference is not None:
            out["reference"] = self.reference
        return {**out, **self.extra}


@dataclass(eq=False)
class ItemSet:
    """Per-item inputs (lists of equal length, one entry per item) and inputs shared by all items."""

    ids: list[str]
    items: dict[str, list]
    shared: dict = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for key, values in self.items.items():
            if len(values) != len(self.ids):
                raise ValueError(f"input {key!r}: {len(values)} entries for {len(self.ids)} items")

    def _value(self, spec: MetricSpec, key: str, pick):
        if key in self.items:
            return pick(self.items[key])
        if key in self.shared:
            return self.shared[key]
        raise KeyError(f"metric {spec.name}: the protocol gave no input {key!r}")

    def item_arguments(self, spec: MetricSpec, i: int, renames: Mapping[str, str] | None = None, fn=None) -> dict:
        """Arguments of a per-item function for item ``i`` (only those ``fn`` takes)."""
        return {arg: self._value(spec, (renames or {}).get(key, key), lambda xs: xs[i])
                for arg, key in spec.consumes.items() if fn is None or _takes(fn, arg)}

    def arguments(self, spec: MetricSpec, idx, renames: Mapping[str, str] | None = None, fn=None) -> dict:
        """Arguments of a set-level function: lists over items ``idx``, shared inputs as they are."""
        return {arg: self._value(spec, (renames or {}).get(key, key), lambda xs: [xs[i] for i in idx])
                for arg, key in spec.consumes.items() if fn is None or _takes(fn, arg)}


def _takes(fn, arg: str) -> bool:
    """Whether ``fn`` has a parameter ``arg``: a metric's conventions may use fewer of its inputs."""
    return arg in inspect.signature(fn).parameters


def _per_item_values(spec: MetricSpec, conv_name: str, data: ItemSet, idx, renames=None) -> list:
    """The convention's value for each item, computed once per item across the set and every slice."""
    conv = spec.conventions[conv_name]
    tag = (spec.name, conv_name, tuple(sorted((renames or {}).items())))
    out = []
    for i in idx:
        key = (tag, i)
        if key not in data._memo:
            data._memo[key] = conv.fn(**data.item_arguments(spec, i, renames, conv.fn), **conv.params)
        out.append(data._memo[key])
    return out


def _finite(values) -> tuple[np.ndarray, int]:
    v = np.array([np.nan if x is None else x for x in values], float)
    ok = np.isfinite(v)
    return v[ok], int((~ok).sum())


def score(name: str, data: ItemSet, idx=None, *, convention: str | None = None, n_boot: int = 200, seed: int = 0,
          confidence: float = 0.95) -> list[MetricResult]:
    """Score metric ``name`` on items ``idx`` (default: all); one result per output (part)."""
    spec = get_metric(name)
    conv_name = convention or spec.default
    if conv_name not in spec.conventions:
        raise ValueError(f"metric {name}: unknown convention {conv_name!r}; choose from {sorted(spec.conventions)}")
    conv = spec.conventions[conv_name]
    idx = list(range(len(data.ids))) if idx is None else list(idx)
    results = []
    base = dict(convention=conv_name, function=conv.function, reference_code=conv.reference, unit=spec.unit)
    notes = spec.annotate(data.shared) if spec.annotate else {}
    if conv.per_item:
        values = _per_item_values(spec, conv_name, data, idx)
        refs = _per_item_values(spec, conv_name, data, idx, spec.reference_inputs) if spec.reference_inputs else None
        for part, direction in (spec.parts.items() if spec.parts else [(name, spec.direction)]):
            pick = (lambda vs: [v[part] for v in vs]) if spec.parts else (lambda vs: vs)
            v, missing = _finite(pick(values))
            res = _mean_interval(v, n_boot, seed, confidence)
            extra = {**notes, **({"items_without_value": missing} if missing else {})}
            ref = float(_finite(pick(refs))[0].mean()) if refs is not None and len(_finite(pick(refs))[0]) else None
            results.append(MetricResult(part, *res, n=len(v), direction=direction, part_of=name if spec.parts else None,
                                        reference=ref, extra=extra, **base))
        return results
    args = data.arguments(spec, idx, fn=conv.fn)
    value = conv.fn(**args, **conv.params)
    low = high = None
    if n_boot and len(idx) >= 2:
        if conv.interval is not None:
            low, high = conv.interval(args, n_boot=n_boot, seed=seed, confidence=confidence, **conv.params)
        else:
            low, high = _set_bootstrap(conv, args, spec, data, n_boot, seed, confidence)
    ref = None
    if spec.reference_inputs:
        ref = float(conv.fn(**data.arguments(spec, idx, spec.reference_inputs, conv.fn), **conv.params))
    value = None if value is None or not np.isfinite(value) else float(value)
    return [MetricResult(name, value, low, high, n=len(idx), direction=spec.direction, reference=ref, extra=notes, **base)]


def _mean_interval(v: np.ndarray, n_boot: int, seed: int, confidence: float):
    if len(v) == 0:
        return None, None, None
    if len(v) >= 2 and n_boot:
        r = bootstrap_mean_ci(v, n_resamples=n_boot, seed=seed, confidence=confidence)
        return r["value"], r["low"], r["high"]
    return float(v.mean()), None, None


def _set_bootstrap(conv: Convention, args: dict, spec: MetricSpec, data: ItemSet, n_boot: int, seed: int,
                   confidence: float):
    """Resample items with replacement and call the set-level function again."""
    per_item = {a for a, key in spec.consumes.items() if key in data.items}
    n = len(next(iter(args[a] for a in per_item))) if per_item else 0
    if not n:
        return None, None
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(int(n_boot)):
        pick = rng.integers(0, n, n)
        resampled = {a: ([v[i] for i in pick] if a in per_item else v) for a, v in args.items()}
        reps.append(conv.fn(**resampled, **conv.params))
    reps = np.asarray(reps, float)
    reps = reps[np.isfinite(reps)]
    return percentile_interval(reps, confidence) if len(reps) >= 2 else (None, None)
