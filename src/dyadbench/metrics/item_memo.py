"""One item's intermediate arrays, shared by the metrics scored on it: a speed-up, never a number.

Several metrics of an item start from the same array: sample 0's valid frames standardized by the
ground truth's mean and std (L2, variance, SI-diversity, FRDist), the true frames standardized
(L2, FRDist), the Gaussian sums of sample 0's valid frames (FFD/FGD and paired FD's generated
block). At release size each such array is ~9 MB an item, and making it again is a pass over
memory. Inside ``item_scope()`` (``item_plan.item_outputs`` opens one per item) the first metric
that asks computes it and the others reuse it; outside a scope every call computes its own. The
numbers are the same either way:

* an entry is keyed by what it is (a tag and its parameters) and by the very objects it was
  computed from, which the scope holds until it closes (so their ids cannot be reused);
* callers get a read-only view, so a metric that wrote into a shared array would fail loudly
  instead of changing another metric's number.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Hashable
from contextlib import contextmanager

import numpy as np

_SCOPE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("dyadbench_item_memo", default=None)


@contextmanager
def item_scope():
    """Share intermediate arrays among the calls made inside (one item's metrics)."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def shared_array(tag: str, sources: tuple, params: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, or the array an earlier call in this item's scope computed from the same
    ``sources`` (the same objects) with the same ``tag`` and ``params``; read-only either way."""
    memo = _SCOPE.get()
    if memo is None:
        return _read_only(compute())
    key = (tag, params, *(id(s) for s in sources))
    if key not in memo:
        memo[key] = (_read_only(compute()), sources)  # the sources stay alive: their ids stay theirs
    return memo[key][0]


def _read_only(value) -> np.ndarray:
    view = np.asarray(value).view()
    view.setflags(write=False)
    return view


__all__ = ["item_scope", "shared_array"]
