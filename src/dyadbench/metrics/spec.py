"""Metric declarations: what a metric is, its named conventions, and the records it reports.

``metrics.catalog`` registers the built-in metrics here; ``metrics.aggregate`` scores them (the one
engine); ``metrics.registry`` is the public door (``score``). A convention names the reference
code it reproduces, and how its interval is computed (``interval``):

* ``"mean"`` — per-item conventions: the value is the mean over items, the interval a bootstrap of
  that mean over items;
* ``"frechet"`` — Fréchet distances: the delta method over items, reference sampling included
  (``frechet_interval``), with a re-centred item bootstrap where the delta method cannot apply;
* ``"bootstrap"`` — other set-level statistics (entropies, random-pair diversities, ranks): an
  item bootstrap re-centred on the estimate, its bias reported beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

DIRECTIONS = ("lower", "higher", "closer to reference")


@dataclass(frozen=True)
class Streaming:
    """How a set-level convention is computed item by item (``metrics.aggregate``): ``item_stats``
    gives one item's additive statistics (a flat float vector), ``finish`` the value from their
    sum; ``prepare`` (optional) fits what the items need from a seeded sample of ground-truth frames
    (e.g. SI-diversity's clusters) and returns it as shared inputs; ``reference_part`` (optional)
    gives the part of an item's statistics that depends on the dataset alone (a Fréchet distance's
    true-frame sums): the engine passes it to ``item_stats`` as ``reference_part``, and the streamed
    evaluation keeps it with the ground truth's other cached values, so a later evaluation of the
    same data does not recompute it. Arguments are taken by name from the item's inputs, the
    shared inputs and the convention's params, as for ``fn``."""

    item_stats: Callable
    finish: Callable
    prepare: Callable | None = None
    reference_part: Callable | None = None


INTERVALS = ("mean", "frechet", "bootstrap")


@dataclass(frozen=True)
class Convention:
    fn: Callable
    per_item: bool
    description: str
    reference: str = "dyadbench"  # the reference code (repository @ commit, file) it reproduces
    params: Mapping = field(default_factory=dict)
    interval: str = "bootstrap"  # set-level only (per-item conventions use "mean"); see the module docstring
    # How the protocol must prepare the inputs (e.g. which feature extractor), never passed to ``fn``.
    features: Mapping = field(default_factory=dict)
    # Set-level only: the streaming form (sums of per-item statistics). Without it, a set-level
    # convention is computed on a seeded sample of frames when the evaluation streams.
    stream: Streaming | None = None
    # "frechet" without a streaming form: (generated rows, their items, reference rows, their items)
    # from the set's arguments, for the delta method on frames.
    frechet_rows: Callable | None = None
    # "bootstrap" set-level conventions that are a mean over random pairs of frames: (distances, item
    # index of each pair's first end, of its second end) from the set's arguments. The bootstrap then
    # reweights those pairs by their items' resample counts (and resamples the pairs) instead of
    # recomputing the metric on every resampled set.
    pair_terms: Callable | None = None

    def __post_init__(self):
        if self.interval not in INTERVALS:
            raise ValueError(f"convention interval {self.interval!r} not in {INTERVALS}")
        if self.interval == "frechet" and not self.per_item and self.stream is None and self.frechet_rows is None:
            raise ValueError("a 'frechet' convention needs a streaming form or frechet_rows")

    @property
    def family(self) -> str:
        return "mean" if self.per_item else self.interval

    @property
    def function(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"


@dataclass(frozen=True)
class MetricSpec:
    """``lower``/``upper``: the range of the metric's values (intervals are clipped to it)."""

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
    lower: float | None = None
    upper: float | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)  # output -> the name other papers print it under

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

    def item_inputs(self, i: int) -> dict:
        """Item ``i``'s inputs, as a worker of the streamed evaluation gathers them (the ground
        truth as a one-sample submission, ``reference_samples``, included)."""
        inputs = {key: values[i] for key, values in self.items.items()}
        if "reference" in inputs and "reference_samples" not in inputs:
            inputs["reference_samples"] = np.asarray(inputs["reference"])[None]
        return inputs

