"""Metrics inside the training loop: one ``torchmetrics.Metric`` per registered metric.

``DyadMetric("ffd")`` (or ``FFD()``) takes batches of items on any device (``update(generated,
reference, partner=None, valid=None, item_ids=None)``, torch tensors, float32 or float64) and keeps,
per item, exactly what the scoring engine folds (``metrics.aggregate``): the convention's per-item
value, or its additive statistics (Gaussian sums for the Fréchet family). Those are torchmetrics
states with ``dist_reduce_fx="cat"``, so data-parallel ranks merge by concatenation, and
``compute()`` folds them with the same ``Aggregator`` as ``dyadbench evaluate``: the value *and* the
interval (delta method, bootstrap of the mean, ...), equal to report.json's on the same items.

Standardized conventions (the default L2, variance, FRDist) need the ground truth's per-dimension
``mean`` and ``std`` before any item is scored: pass them (``shared={"mean": ..., "std": ...}``,
e.g. from the training split, or ``metrics.motion.standardization_stats`` of the evaluation items,
which is what ``evaluate`` uses). Conventions that need the whole set at once (SI-diversity's
k-means fit, random-pair diversity) are refused here: score them with ``evaluate``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torchmetrics import Metric

from .metrics.aggregate import ALL, Aggregator, item_outputs, plan
from .metrics.spec import MetricResult, get_metric, list_metrics

ID_BYTES = 64  # item ids travel between ranks as fixed-width UTF-8 (longer ids are refused)


def _encode(item_id: str) -> torch.Tensor:
    raw = item_id.encode()
    if len(raw) > ID_BYTES:
        raise ValueError(f"item_ids: {item_id!r} is longer than {ID_BYTES} bytes")
    return torch.tensor(list(raw.ljust(ID_BYTES, b"\0")), dtype=torch.uint8)


def _decode(row: torch.Tensor) -> str:
    return bytes(row.cpu().tolist()).rstrip(b"\0").decode()


class DyadMetric(Metric):
    """A registered dyadbench metric as a torchmetrics ``Metric`` (see the module docstring)."""

    full_state_update = False
    is_differentiable = False

    def __init__(self, name: str, convention: str | None = None, *, shared: dict | None = None, n_boot: int = 200,
                 seed: int = 0, confidence: float = 0.95, **kwargs):
        super().__init__(**kwargs)
        self.plan = plan([name], {name: convention} if convention else None)[0]
        if self.plan.mode == "set" or (self.plan.mode == "sums" and self.plan.conv.stream.prepare is not None):
            raise ValueError(f"{name} ({self.plan.conv_name}) needs the whole set at once; score it with dyadbench evaluate")
        self.spec = self.plan.spec
        self.shared = {"fps": 30.0, **(shared or {})}
        self.n_boot, self.seed, self.confidence = int(n_boot), int(seed), float(confidence)
        self.add_state("ids", default=[], dist_reduce_fx="cat")
        self.add_state("rows", default=[], dist_reduce_fx="cat")  # per item: its value(s), or its additive statistics
        self.add_state("ref_rows", default=[], dist_reduce_fx="cat")  # the ground truth's own (closer-to-reference metrics)
        self._count = 0

    def _inputs(self, generated, reference, partner, valid, i: int) -> dict:
        g = generated[i].detach().to("cpu", torch.float64).numpy()
        r = reference[i].detach().to("cpu", torch.float64).numpy()
        inputs = {"generated": g[None] if g.ndim == 2 else g, "reference": r, "reference_samples": r[None],
                  "valid": np.ones(len(r), bool) if valid is None else valid[i].detach().cpu().numpy().astype(bool)}
        if partner is not None:
            inputs["partner"] = partner[i].detach().to("cpu", torch.float64).numpy()
        return inputs

    def update(self, generated: torch.Tensor, reference: torch.Tensor, partner: torch.Tensor | None = None,
               valid: torch.Tensor | None = None, item_ids: list[str] | None = None) -> None:
        """A batch of items: ``generated`` (B, N, D) or (B, M, N, D), ``reference`` and ``partner``
        (B, N, D), ``valid`` (B, N) bool; ``item_ids`` name the items (they seed the bootstrap, as
        in ``evaluate``; default: a running count)."""
        if self.plan.mode == "sums" and "mean" not in self.shared:
            self.shared["mean"] = np.zeros(reference.shape[-1])  # any fixed shift gives the same sums' Gaussians
        needs = [k for k in ("mean", "std") if k in self.spec.consumes.values() and k not in self.shared]
        if needs and self.plan.conv.params.get("standardize", True):
            raise ValueError(f"{self.spec.name} ({self.plan.conv_name}) standardizes: pass shared={{'mean': ..., 'std': ...}}")
        ids = item_ids or [f"item{self._count + i:09d}" for i in range(len(reference))]
        self._count += len(ids)
        for i, item_id in enumerate(ids):
            out = item_outputs([self.plan], self._inputs(generated, reference, partner, valid, i), self.shared)[self.spec.name]
            if "error" in out:
                raise ValueError(f"item {item_id}: {out['error']}")
            if self.plan.mode == "item":
                row, ref = out["value"], out["ref"]
                row = [row[p] for p in self.spec.parts] if self.spec.parts else [row]
                ref = ([ref[p] for p in self.spec.parts] if self.spec.parts else [ref]) if ref is not None else None
            else:
                row, ref = out["stats"], out["ref_stats"]
            self.ids.append(_encode(item_id).to(self.device)[None])
            self.rows.append(torch.as_tensor(np.asarray(row, np.float64), device=self.device)[None])
            if ref is not None:
                self.ref_rows.append(torch.as_tensor(np.asarray(ref, np.float64), device=self.device)[None])

    def _cat(self, state) -> torch.Tensor | None:
        """A list state, or the tensor the ranks' lists were gathered into; ``None`` when empty."""
        if isinstance(state, torch.Tensor):
            return state if state.numel() else None
        return torch.cat(state) if state else None

    def compute(self) -> MetricResult | list[MetricResult]:
        """The value, interval and interval method ``evaluate`` reports on these items (a list for a
        metric with parts, e.g. ``sync``)."""
        ids, rows, refs = self._cat(self.ids), self._cat(self.rows), self._cat(self.ref_rows)
        if ids is None:
            raise ValueError(f"{self.spec.name}: no item was given to update()")
        agg = Aggregator([self.plan], n_boot=self.n_boot, slice_boot=self.n_boot, seed=self.seed, confidence=self.confidence)
        parts = list(self.spec.parts)
        for k in range(len(ids)):
            row = rows[k].cpu().numpy()
            ref = refs[k].cpu().numpy() if refs is not None else None
            if self.plan.mode == "item":
                unpack = (lambda x: dict(zip(parts, x.tolist()))) if parts else (lambda x: float(x[0]))
                got = {"value": unpack(row), "ref": None if ref is None else unpack(ref)}
            else:
                got = {"stats": row, "ref_stats": ref}
            agg.add(_decode(ids[k]), [], {self.spec.name: got})
        results = agg.result_objects(self.plan, ALL, self.shared)
        return results if parts else results[0]


def _class_name(name: str) -> str:
    return "".join(w.upper() if len(w) <= 3 else w.capitalize() for w in name.split("_"))


def _make(name: str):
    spec = get_metric(name)

    def __init__(self, convention: str | None = None, **kwargs):
        DyadMetric.__init__(self, name, convention, **kwargs)

    return type(_class_name(name), (DyadMetric,), {"__init__": __init__, "__doc__": f"{spec.description} (``{name}``).",
                                                   "higher_is_better": {"higher": True, "lower": False}.get(spec.direction)})


# FFD, FGD, PairedFD, FDKinetic, L2, Variance, FRCorr, ...: one class per registered metric
CLASSES = {spec.name: _make(spec.name) for spec in list_metrics()}
globals().update({cls.__name__: cls for cls in CLASSES.values()})

__all__ = ["DyadMetric", "CLASSES", *sorted(cls.__name__ for cls in CLASSES.values())]
